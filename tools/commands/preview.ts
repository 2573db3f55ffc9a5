// destinations preview DEST_DIR --event FILE [--sync FILE] [--format curl|json] [--show-secrets]
// Prints the request an event would produce: a runnable cURL command, or {method, url, headers, body}.
import { renderEventRequests } from '../../daemon/registry/index.js';
import { isJsonContentType, unsendableHeader, unsendableHeaderMessage, type RenderedRequest } from '../../daemon/render/index.js';
import { toCurl } from '../curl.js';
import { changedOperations, isIdentifyEvent, memoryOfValues } from '../../daemon/events/index.js';
import { readPreviousProperties } from '../previous-properties.js';
import { loadRequestInput, renderFailureText } from '../request-input.js';
import { terminalLine } from '../terminal-text.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations preview DEST_DIR --event FILE [--sync FILE] [--previous FILE] [--format curl|json] [--show-secrets]';
const HELP = `usage: ${USAGE}

Renders the request EVENT would produce through a sync of the destination in DEST_DIR
(--sync FILE, or the folder's first sync in name order) without sending it.

  --event FILE      one event as JSON, a JSON array of events, or one event per line; several
                    events are grouped into requests as the daemon batches them (up to
                    batch.maxEvents per request, identify and track apart; one request per
                    event without batch). An $identify event renders the identify request.
  --sync FILE       the sync to use instead of the folder's first one
  --previous FILE   for a sync with identifyForwarding "changes": the user properties last
                    delivered for the user, as a JSON object {"plan": "free", ...}; the identify
                    request then carries only what changed, or nothing is sent ("unchanged")
  --format curl     a cURL command you can paste into a shell (default)
  --format json     {"method", "url", "headers", "body"}, the body parsed when it is JSON
                    (a JSON array of them when the events make several requests)
  --show-secrets    print secret parameters' values instead of <secret:NAME>

Header values made of event data are shown as they are sent (see "Headers and event data" in
docs/writing-a-destination.md): an insert_id that is not plain ASCII becomes sha256:<hash> in the
idempotency header and webhook-id, other event data is percent-encoded.

Exit 0 when it renders, 1 when the folder, sync or event is invalid, the template fails or a header
could not be sent, 2 on usage errors.`;

export function toJsonPreview(request: RenderedRequest): string {
  let body: unknown = request.body;
  if (isJsonContentType(request.headers['content-type'] ?? '')) body = JSON.parse(request.body);
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
  const [first] = input.events;
  if (values.previous !== undefined && input.events.length !== 1) {
    console.error('destinations preview: --previous compares one $identify event with what was delivered before: give a file with one event');
    return 1;
  }
  if (input.sync.identifyChanges && input.events.length === 1 && isIdentifyEvent(first)) {
    if (values.previous === undefined) {
      console.error('warning: the sync forwards identify changes only: this is what a user\'s first identify sends; give --previous FILE to compare with what was delivered before');
    } else {
      const previous = readPreviousProperties(values.previous);
      if (!previous) return 1;
      userProperties = changedOperations(memoryOfValues(previous), first.user_properties);
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
    rendered = renderEventRequests(input.sync, input.events, values['show-secrets'] ? 'show' : 'mask', { userProperties });
  } catch (error) {
    console.error(terminalLine(renderFailureText('preview', positionals[0], error)));
    return 1;
  }
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  const { requests } = rendered;
  if (!values['show-secrets']) for (const note of basicAuthNotes(requests.map(({ request }) => request.headers))) console.error(terminalLine(note));
  // What the sender would refuse is not printed as if it could be sent: the daemon dead-letters it.
  for (const [at, { request }] of requests.entries()) {
    const unsendable = unsendableHeader(request.headers);
    if (unsendable === undefined) continue;
    const which = requests.length > 1 ? `request ${at + 1}: ` : '';
    console.error(terminalLine(`destinations preview: ${which}${unsendableHeaderMessage(unsendable)} (the daemon dead-letters it as invalid_header)`));
    return 1;
  }
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

/**
 * Masked, HTTP Basic credentials are base64 of "<secret:site_id>:<secret:api_key>", which reads as
 * noise: each such header once, decoded, so the author sees which parameters went where. Only
 * masked previews (the placeholders are all a decoded value holds of a secret), on stderr so the
 * cURL command stays runnable.
 */
export function basicAuthNotes(headers: ReadonlyArray<Record<string, string>>): string[] {
  const notes = new Set<string>();
  for (const request of headers) {
    for (const [name, value] of Object.entries(request)) {
      const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(value);
      if (!basic) continue;
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      if (/<(secret|unresolved):[^>]+>/.test(decoded)) notes.add(`note: header ${name} is Basic base64 of ${JSON.stringify(decoded)} (placeholders stand for the secrets)`);
    }
  }
  return [...notes];
}

/** "event 3", "events 1, 2, 4" (1-based, as a person counts lines of the file). */
function describeEvents(indexes: number[]): string {
  return `${indexes.length === 1 ? 'event' : 'events'} ${indexes.map((index) => index + 1).join(', ')}`;
}
