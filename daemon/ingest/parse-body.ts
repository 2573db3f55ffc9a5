// A request body as JSON, read as the daemon reads an event (events/decode.ts): a cheap scan first,
// so a body nested deeper than an event may be (plus the request's own two levels) is refused
// before anything recurses into it, and integers past 2^53 are kept exact.
import { DEFAULT_MAX_EVENT_DEPTH } from '../defaults.js';
import { JSON_SCAN, parseJsonExact, scanJson, stringifyExact } from '../json/index.js';

/** {"events": [ event ]} and {"batch": [ message ]}: two levels above an event. */
const REQUEST_LEVELS = 2;

export type ParsedBody = { ok: true; value: unknown } | { ok: false; message: string };

export function parseBody(body: Buffer): ParsedBody {
  const scan = scanJson(body, DEFAULT_MAX_EVENT_DEPTH + REQUEST_LEVELS);
  if (scan === JSON_SCAN.tooDeep) return { ok: false, message: `the body nests deeper than an event may (${DEFAULT_MAX_EVENT_DEPTH} levels)` };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return { ok: true, value: scan === JSON_SCAN.longDigits ? parseJsonExact(text) : JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: error instanceof SyntaxError ? 'Invalid JSON request body' : 'the body is not UTF-8' };
  }
}

/** An event (or a message) as JSON text: JSON.stringify, or, for a value holding a bigint (the only
 *  thing that makes it throw here), every digit kept. */
export function jsonOf(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return stringifyExact(value);
  }
}
