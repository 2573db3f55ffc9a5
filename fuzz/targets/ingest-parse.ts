// A request body as an SDK (or anyone) can send it to the ingest: each protocol's parse on each of
// its routes, with the bytes before a NUL as the body and those after as a Basic credential.
// Findings: anything thrown (a verdict is always returned); a refusal that is not 400 or 413 in the
// protocol's shape; an accepted event the daemon would dead-letter as invalid_event (what the
// ingest stores, the daemon must read: decodeEvent on exactly the bytes the ingest publishes).
import { decodeEvent } from '../../daemon/events/index.js';
import { inboundProtocols } from '../../daemon/ingest/index.js';
import { jsonOf } from '../../daemon/ingest/parse-body.js';
import { check, shown, splitAtNul, type FuzzTargetInfo } from '../fuzz-target.js';

const MAX_EVENT_BYTES = 1_048_576;
const protocols = inboundProtocols({ maxEventBytes: MAX_EVENT_BYTES });
const NOW = 1_800_000_000_000;

export const info: FuzzTargetInfo = {
  summary: 'request bytes → each inbound protocol’s parse on each route; what it accepts the daemon decodes',
  maxLen: 8_192,
  dictionary: [
    '{"api_key":"k","events":[{"event_type":"a","user_id":"u"}]}', '"api_key":', '"events":', '"event_type":', '"user_id":', '"device_id":', '"insert_id":', '"time":',
    '{"batch":[{"type":"track","userId":"u","event":"e"}]}', '"batch":', '"type":', '"track"', '"identify"', '"page"', '"screen"', '"group"', '"alias"', '"userId":', '"anonymousId":',
    '"messageId":', '"timestamp":', '"originalTimestamp":', '"sentAt":', '"context":', '"traits":', '"properties":', '"groupId":', '"previousId":', '"writeKey":',
    '"2026-01-01T00:00:00Z"', '12345678901234567890', '1e400', '\\u0000', '[[[[', ']]]]', '"__proto__":', '"constructor":',
  ],
};

export function fuzz(data: Buffer): void {
  const [body, credential] = splitAtNul(data);
  const headers = credential === undefined ? {} : { authorization: `Basic ${credential.toString('base64')}` };
  for (const protocol of protocols) {
    for (const path of Object.keys(protocol.routes)) {
      const parsed = protocol.parse(path, headers, body, NOW);
      if (!parsed.ok) {
        check(parsed.answer.status === 400 || parsed.answer.status === 413, () => `${protocol.name} ${path}: refused with ${parsed.answer.status}`);
        check(typeof jsonOf(parsed.answer.body) === 'string', `${protocol.name} ${path}: an answer that is not JSON`);
        continue;
      }
      check(parsed.events.length > 0, `${protocol.name} ${path}: accepted no events`);
      for (const [index, { event, msgId }] of parsed.events.entries()) {
        const verdict = decodeEvent(Buffer.from(jsonOf(event)), MAX_EVENT_BYTES);
        check(verdict.ok, () => `${protocol.name} ${path}: event ${index} accepted, but the daemon refuses it: ${verdict.ok ? '' : verdict.message}: ${shown(event)}`);
        check(msgId === undefined || (typeof msgId === 'string' && msgId !== ''), () => `${protocol.name} ${path}: msgId ${shown(msgId)}`);
      }
    }
  }
}
