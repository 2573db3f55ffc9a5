// What can still be read of an event that failed validation: its top-level insert_id, user_id,
// device_id and event_type, where they are strings. The console's rows and the dead letter keep
// them, so that an invalid event can be found by the ids it carried. Only for refused messages (not
// the per-event path), and bounded: nothing over READABLE_FIELDS_MAX_BYTES (real events are a few
// KB; an oversize one is not parsed again for its ids) or nesting past the decode limit is parsed.
import { DEFAULT_MAX_EVENT_DEPTH } from '../defaults.js';
import { JSON_SCAN, parseJsonExact, scanJson } from '../json/index.js';

/** A refused message larger than this is not parsed for its ids. */
export const READABLE_FIELDS_MAX_BYTES = 64 * 1024;

export interface ReadableFields {
  insert_id?: string;
  user_id?: string;
  device_id?: string;
  event_type?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The string ids at the top level of `event` (a decoded value of any shape). */
export function fieldsOf(event: unknown): ReadableFields {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return {};
  const record = event as Record<string, unknown>;
  const text = (name: string) => (Object.hasOwn(record, name) && typeof record[name] === 'string' ? (record[name] as string) : undefined);
  return { insert_id: text('insert_id'), user_id: text('user_id'), device_id: text('device_id'), event_type: text('event_type') };
}

/** The string ids a message's bytes carry at their top level, or none when they cannot be read safely. */
export function readableFields(data: Uint8Array): ReadableFields {
  if (data.byteLength > READABLE_FIELDS_MAX_BYTES) return {};
  const scan = scanJson(data, DEFAULT_MAX_EVENT_DEPTH);
  if (scan === JSON_SCAN.tooDeep) return {};
  try {
    const text = utf8.decode(data);
    return fieldsOf(scan === JSON_SCAN.longDigits ? parseJsonExact(text) : JSON.parse(text));
  } catch {
    return {};
  }
}
