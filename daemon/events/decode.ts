// Turning a message's bytes into a validated event, or into the reason it cannot be one.
import { Ajv } from 'ajv';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { JSON_SCAN, parseJsonExact, scanJson } from '../json/index.js';
import { schemaValidator } from '../schema-validator.js';
import { EVENT_REJECTIONS, type EventRejection } from '../reasons.js';
import { DEFAULT_MAX_EVENT_DEPTH } from '../defaults.js';


// Its reasons are the vocabulary's (daemon/reasons.ts).
export { EVENT_REJECTIONS, type EventRejection } from '../reasons.js';

export type DecodedEvent =
  | { ok: true; event: AmplitudeEvent; bytes: number }
  | { ok: false; reason: EventRejection; message: string; bytes: number };

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = schemaValidator<AmplitudeEvent>(ajv, 'event.schema.json');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes and validates one event; nothing throws, every failure has a reason and a message. */
export function decodeEvent(data: Uint8Array, maxBytes: number): DecodedEvent {
  const bytes = data.byteLength;
  if (bytes > maxBytes) {
    return { ok: false, reason: EVENT_REJECTIONS.eventTooLarge, bytes, message: `event is ${bytes} bytes, over the limit of ${maxBytes}` };
  }
  // Before anything parses or recurses: a cheap scan (~0.3 µs for 500 bytes) of depth and long numbers.
  const scan = scanJson(data, DEFAULT_MAX_EVENT_DEPTH);
  if (scan === JSON_SCAN.tooDeep) {
    return { ok: false, reason: EVENT_REJECTIONS.invalidEvent, bytes, message: `event nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels` };
  }
  let event: unknown;
  try {
    const text = utf8.decode(data);
    event = scan === JSON_SCAN.longDigits ? parseJsonExact(text) : JSON.parse(text);
  } catch (error) {
    const what = error instanceof SyntaxError ? 'not JSON' : 'not UTF-8';
    return { ok: false, reason: EVENT_REJECTIONS.invalidEvent, bytes, message: `${what}: ${(error as Error).message}` };
  }
  return checkEvent(event, bytes);
}

/** Validates an already parsed event against schema/event.schema.json. */
export function checkEvent(event: unknown, bytes = 0): DecodedEvent {
  if (validate(event)) return { ok: true, event, bytes };
  // ajv lists an anyOf's failing branches before the anyOf itself: prefer the anyOf's own message.
  const error = validate.errors?.find((candidate) => candidate.keyword === 'anyOf') ?? validate.errors?.[0];
  const where = error?.instancePath || '/';
  const message =
    error?.keyword === 'anyOf' ? 'event needs a user_id or a device_id' : `${where}: ${error?.message ?? 'invalid event'}`;
  return { ok: false, reason: EVENT_REJECTIONS.invalidEvent, bytes, message };
}

export function isIdentifyEvent(event: AmplitudeEvent): boolean {
  return event.event_type === '$identify';
}
