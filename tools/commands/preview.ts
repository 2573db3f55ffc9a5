// destinations preview DEST_DIR --event FILE [--sync FILE] [--format curl|json] [--show-secrets]
// Prints the request an event would produce: a runnable cURL command, or {method, url, headers, body}.
import { renderEventRequests } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { toCurl } from '../curl.js';
import { loadRequestInput, renderFailureText } from '../request-input.js';
import { terminalLine } from '../terminal-text.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations preview DEST_DIR --event FILE [--sync FILE] [--format curl|json] [--show-secrets]';
const HELP = `usage: ${USAGE}

Renders the request EVENT would produce through a sync of the destination in DEST_DIR
(--sync FILE, or the folder's first sync in name order) without sending it.

  --event FILE      one event as JSON, a JSON array of events, or one event per line; several
                    events are grouped into requests as the daemon batches them (up to
                    batch.maxEvents per request, identify and track apart; one request per
                    event without batch). An $identify event renders the identify request.
  --sync FILE       the sync to use instead of the folder's first one
  --format curl     a cURL command you can paste into a shell (default)
  --format json     {"method", "url", "headers", "body"}, the body parsed when it is JSON
                    (a JSON array of them when the events make several requests)
  --show-secrets    print secret parameters' values instead of <secret:NAME>

Exit 0 when it renders, 1 when the folder, sync or event is invalid or the template fails, 2 on usage errors.`;

export function toJsonPreview(request: RenderedRequest): string {
  let body: unknown = request.body;
  if (/[/+]json\b/i.test(request.headers['content-type'] ?? '')) body = JSON.parse(request.body);
  return JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body }, null, 2);
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      event: { type: 'string' },
      sync: { type: 'string' },
      format: { type: 'string', default: 'curl' },
      'show-secrets': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one DEST_DIR\n\nusage: ${USAGE}`);
  if (!values.event) throw new UsageError(`--event FILE is required\n\nusage: ${USAGE}`);
  if (values.format !== 'curl' && values.format !== 'json') throw new UsageError(`--format must be curl or json, not ${JSON.stringify(values.format)}`);

  const input = await loadRequestInput({ dir: positionals[0], eventFile: values.event, syncFile: values.sync, resolveSecrets: true });
  if (!input) return 1;
  let rendered;
  try {
    rendered = renderEventRequests(input.sync, input.events, values['show-secrets'] ? 'show' : 'mask');
  } catch (error) {
    console.error(terminalLine(renderFailureText('preview', positionals[0], error)));
    return 1;
  }
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  const { requests } = rendered;
  if (values.format === 'json') {
    console.log(requests.length === 1 ? toJsonPreview(requests[0].request) : `[\n${requests.map(({ request }) => toJsonPreview(request)).join(',\n')}\n]`);
    return 0;
  }
  const several = requests.length > 1 || input.events.length > 1;
  for (const [at, { kind, indexes, request }] of requests.entries()) {
    if (several) console.log(`# request ${at + 1} of ${requests.length}: ${kind}, ${describeEvents(indexes)}`);
    console.log(toCurl(request));
  }
  return 0;
}

/** "event 3", "events 1, 2, 4" (1-based, as a person counts lines of the file). */
function describeEvents(indexes: number[]): string {
  return `${indexes.length === 1 ? 'event' : 'events'} ${indexes.map((index) => index + 1).join(', ')}`;
}
