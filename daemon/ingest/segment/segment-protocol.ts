// Segment's HTTP tracking API: POST /v1/track, identify, page, screen, group, alias (one message) and
// /v1/batch ({batch: [...]}), the write key as the user of Basic auth (or writeKey in the body).
// Limits as Segment documents them (docs/operations.md#ingest cites the page): 32 KB a message,
// 500 KB a batch, over them 400 (the client does not retry a 400). Success is {"success": true}.
import type { IncomingHttpHeaders } from 'node:http';
import { INGEST_REJECTIONS } from '../ingest-rejections.js';
import type { Answer, InboundEvent, InboundProtocol, ParsedRequest, Throttled } from '../inbound-protocol.js';
import { eventProblems } from '../event-problems.js';
import { jsonOf, parseBody } from '../parse-body.js';
import { segmentToEvent, SEGMENT_TYPES } from './segment-mapping.js';

const KB = 1024;
export const SEGMENT_LIMITS = { maxMessageBytes: 32 * KB, maxBatchBytes: 500 * KB } as const;

const ROUTES = Object.fromEntries([
  ...SEGMENT_TYPES.map((type) => [`/v1/${type}`, { maxBodyBytes: SEGMENT_LIMITS.maxMessageBytes }]),
  ['/v1/batch', { maxBodyBytes: SEGMENT_LIMITS.maxBatchBytes }],
]);

const failure = (status: number, message: string, fields: Record<string, unknown> = {}): Answer => ({ status, body: { success: false, message, ...fields } });
const invalid = (message: string, rejectedEvents?: number): ParsedRequest => ({ ok: false, reason: INGEST_REJECTIONS.invalid, answer: failure(400, message), rejectedEvents });

/** The write key: the user of `Authorization: Basic base64(key:)`, else the body's writeKey. */
export function writeKeyOf(headers: IncomingHttpHeaders, body: Record<string, unknown>): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headers.authorization ?? '');
  if (match) {
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const key = colon < 0 ? decoded : decoded.slice(0, colon);
    if (key !== '') return key;
  }
  return typeof body.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : undefined;
}

export function segmentProtocol(): InboundProtocol {
  return {
    name: 'segment',
    routes: ROUTES,
    parse(path: string, headers: IncomingHttpHeaders, body: Buffer, receivedAt: number): ParsedRequest {
      const parsed = parseBody(body);
      if (!parsed.ok) return invalid(parsed.message);
      const request = parsed.value;
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return invalid('Invalid JSON: the body is not an object');
      const fields = request as Record<string, unknown>;
      const key = writeKeyOf(headers, fields);
      const single = path !== '/v1/batch';
      if (!single && !Array.isArray(fields.batch)) return invalid('a batch needs a batch array');
      const messages: unknown[] = single ? [fields] : (fields.batch as unknown[]);
      if (messages.length === 0) return invalid('the batch is empty');
      const events: InboundEvent[] = [];
      for (const [index, message] of messages.entries()) {
        const where = single ? '' : `batch[${index}]: `;
        if (!single && Buffer.byteLength(jsonOf(message)) > SEGMENT_LIMITS.maxMessageBytes) {
          return { ok: false, reason: INGEST_REJECTIONS.tooLarge, answer: failure(400, `${where}a message is limited to 32 KB`), rejectedEvents: 1 };
        }
        const type = single ? path.slice('/v1/'.length) : (message as { type?: unknown } | null)?.type;
        const mapped = segmentToEvent(String(type), message, fields.sentAt, receivedAt);
        if (!mapped.ok) return invalid(`${where}${mapped.error}`, 1);
        const problems = eventProblems(mapped.event);
        if (problems) return invalid(`${where}fields that are not valid: ${[...problems.missing, ...problems.invalid].join(', ')}`, 1);
        events.push({ event: mapped.event, msgId: mapped.msgId });
      }
      return { ok: true, key, events };
    },
    stored: () => ({ status: 200, body: { success: true } }),
    // Segment answers an oversized request 400, and its client does not retry a 400.
    tooLarge: (limit) => failure(400, `the request is over ${limit} bytes (32 KB a message, 500 KB a batch)`),
    badBody: (message) => failure(400, message),
    unauthorized: () => ({ ...failure(401, 'Invalid write key'), headers: { 'www-authenticate': 'Basic realm="destinations ingest"' } }),
    throttled: (throttled: Throttled, retryAfterSeconds) => ({
      ...failure(429, 'Too many requests for some devices and users', {
        eps_threshold: throttled.epsThreshold,
        throttled_devices: throttled.devices,
        throttled_users: throttled.users,
        throttled_events: throttled.events,
      }),
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
    unavailable: (message, retryAfterSeconds, storedIndexes) => ({
      ...failure(503, message, { stored_events: storedIndexes }),
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  };
}
