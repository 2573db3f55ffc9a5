// destinations preview DEST_DIR --event FILE [--sync FILE] [--format curl|json] [--show-secrets]
// Prints the request an event would produce: a runnable cURL command, or {method, url, headers, body}.
import { renderEventRequest } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { toCurl } from '../curl.js';
import { loadRequestInput } from '../request-input.js';
import { changedOperations, isIdentifyEvent, memoryOfValues } from '../../daemon/events/index.js';
import { readPreviousProperties } from '../previous-properties.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations preview DEST_DIR --event FILE [--sync FILE] [--previous FILE] [--format curl|json] [--show-secrets]';
const HELP = `usage: ${USAGE}

Renders the request EVENT would produce through a sync of the destination in DEST_DIR
(--sync FILE, or the folder's first sync in name order) without sending it.

  --event FILE      one event as JSON (an $identify event renders the identify request)
  --sync FILE       the sync to use instead of the folder's first one
  --previous FILE   for a sync with identifyForwarding "changes": the user properties last
                    delivered for the user, as a JSON object {"plan": "free", ...}; the identify
                    request then carries only what changed, or nothing is sent ("unchanged")
  --format curl     a cURL command you can paste into a shell (default)
  --format json     {"method", "url", "headers", "body"}, the body parsed when it is JSON
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
      previous: { type: 'string' },
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
  let userProperties: Record<string, unknown> | undefined;
  if (input.sync.identifyChanges && isIdentifyEvent(input.event)) {
    if (values.previous === undefined) {
      console.error('warning: the sync forwards identify changes only: this is what a user\'s first identify sends; give --previous FILE to compare with what was delivered before');
    } else {
      const previous = readPreviousProperties(values.previous);
      if (!previous) return 1;
      userProperties = changedOperations(memoryOfValues(previous), input.event.user_properties);
      if (userProperties === undefined) {
        console.error('destinations preview: unchanged: this identify changes nothing in --previous, so the daemon sends nothing (filtered "unchanged")');
        return 0;
      }
    }
  } else if (values.previous !== undefined) {
    console.error(`destinations preview: --previous applies to $identify events through a sync with identifyForwarding "changes"; ${input.sync.id} ${input.sync.identifyChanges ? 'does that, but the event is not an $identify' : 'does not forward changes only'}`);
    return 1;
  }
  let rendered;
  try {
    rendered = renderEventRequest(input.sync, input.event, values['show-secrets'] ? 'show' : 'mask', { userProperties });
  } catch (error) {
    console.error(`destinations preview: ${(error as Error).message}`);
    return 1;
  }
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  console.log(values.format === 'json' ? toJsonPreview(rendered.request) : toCurl(rendered.request));
  return 0;
}
