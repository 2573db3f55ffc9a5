// Amplitude's HTTP API v2 (POST /2/httpapi) and Batch Event Upload (POST /batch): a JSON body
// {api_key, events, options}, answered with Amplitude's bodies, whose `code` the SDKs read.
// Limits and answers as Amplitude documents them (docs/operations.md#ingest cites the pages):
// HTTP API v2 1 MB and 2,000 events a request, Batch 20 MB, over them 413; an invalid event 400
// listing the events by field (the whole request refused: the SDK drops those and sends the rest
// again); a throttled user or device 429 with throttled_users, throttled_devices, throttled_events.
import type { IncomingHttpHeaders } from 'node:http';
import { INGEST_REJECTIONS } from '../ingest-rejections.js';
import type { Answer, InboundEvent, InboundProtocol, ParsedRequest, Throttled } from '../inbound-protocol.js';
import { eventProblems } from '../event-problems.js';
import { jsonOf, parseBody } from '../parse-body.js';
import type { AmplitudeEvent } from '../../events/index.js';

const MB = 1024 * 1024;
/** Amplitude's documented limits, per route. */
export const AMPLITUDE_LIMITS = {
  '/2/httpapi': { maxBodyBytes: 1 * MB, maxEvents: 2_000 },
  '/batch': { maxBodyBytes: 20 * MB, maxEvents: Infinity },
} as const;

/** Amplitude's prefix for an unknown key: the SDK drops the events instead of retrying them. */
export const INVALID_API_KEY = 'Invalid API key';

function failure(status: number, fields: Record<string, unknown>): Answer {
  return { status, body: { code: status, ...fields } };
}

function invalid(error: string, fields: Record<string, unknown> = {}): ParsedRequest {
  return { ok: false, reason: INGEST_REJECTIONS.invalid, answer: failure(400, { error, ...fields }) };
}

export function amplitudeProtocol(maxEventBytes: number): InboundProtocol {
  return {
    name: 'amplitude',
    routes: AMPLITUDE_LIMITS,
    parse(path: string, _headers: IncomingHttpHeaders, body: Buffer, receivedAt: number): ParsedRequest {
      const parsed = parseBody(body);
      if (!parsed.ok) return invalid(parsed.message);
      const request = parsed.value;
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return invalid('Invalid JSON request body');
      const { api_key: key, events } = request as { api_key?: unknown; events?: unknown };
      if (typeof key !== 'string' || key === '') return invalid('Request missing required field', { missing_field: 'api_key' });
      if (!Array.isArray(events) || events.length === 0) return invalid('Request missing required field', { missing_field: 'events' });
      const limit = AMPLITUDE_LIMITS[path as keyof typeof AMPLITUDE_LIMITS].maxEvents;
      if (events.length > limit) {
        return { ok: false, reason: INGEST_REJECTIONS.tooLarge, answer: failure(413, { error: `Payload too large: ${events.length} events, at most ${limit} a request` }) };
      }
      const missingFields: Record<string, number[]> = {};
      const invalidFields: Record<string, number[]> = {};
      const tooLarge: number[] = [];
      events.forEach((event: unknown, index) => {
        const problems = eventProblems(event);
        for (const field of problems?.missing ?? []) (missingFields[field] ??= []).push(index);
        for (const field of problems?.invalid ?? []) (invalidFields[field] ??= []).push(index);
        if (!problems && Buffer.byteLength(jsonOf(event)) > maxEventBytes) tooLarge.push(index);
      });
      if (Object.keys(missingFields).length > 0 || Object.keys(invalidFields).length > 0) {
        const rejected = new Set([...Object.values(missingFields), ...Object.values(invalidFields)].flat()).size;
        return {
          ok: false,
          reason: INGEST_REJECTIONS.invalid,
          rejectedEvents: rejected,
          answer: failure(400, { error: 'Request has events with invalid or missing fields', events_with_missing_fields: missingFields, events_with_invalid_fields: invalidFields }),
        };
      }
      if (tooLarge.length > 0) {
        return { ok: false, reason: INGEST_REJECTIONS.tooLarge, answer: failure(413, { error: `Payload too large: events ${tooLarge.join(', ')} are over ${maxEventBytes} bytes each` }) };
      }
      const inbound: InboundEvent[] = (events as AmplitudeEvent[]).map((event) => ({
        // Amplitude takes an event without a time at the upload's time.
        event: event.time === undefined ? { ...event, time: receivedAt } : event,
        msgId: typeof event.insert_id === 'string' && event.insert_id !== '' ? event.insert_id : undefined,
      }));
      return { ok: true, key, events: inbound };
    },
    stored: (count, bodyBytes, receivedAt) => ({ status: 200, body: { code: 200, events_ingested: count, payload_size_bytes: bodyBytes, server_upload_time: receivedAt } }),
    tooLarge: (limit) => failure(413, { error: `Payload too large: the request is over ${limit} bytes` }),
    badBody: (message) => failure(400, { error: message }),
    // The SDK treats every 4xx `code` as invalid and drops the events of an error that starts with INVALID_API_KEY.
    unauthorized: () => failure(401, { error: `${INVALID_API_KEY}: no project uses this key` }),
    throttled: (throttled: Throttled, retryAfterSeconds) => ({
      ...failure(429, {
        error: 'Too many requests for some devices and users',
        eps_threshold: throttled.epsThreshold,
        throttled_devices: throttled.devices,
        throttled_users: throttled.users,
        throttled_events: throttled.events,
        exceeded_daily_quota_devices: {},
        exceeded_daily_quota_users: {},
      }),
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
    unavailable: (message, retryAfterSeconds, storedIndexes) => ({
      ...failure(503, { error: message, events_ingested: storedIndexes.length, stored_events: storedIndexes }),
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  };
}
