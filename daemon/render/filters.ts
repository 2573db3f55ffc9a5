// Template filters. Templates write JSON by hand, so every value goes through `json`, which
// produces valid JSON whatever the data holds (quotes, newlines, unicode, bigints, NaN).
import { stringifyExact } from '../json/index.js';
import { hmacSha256, sha256, sha256Email, sha256Phone } from './hash-filters.js';
import { markUndefinedEntry, undefinedEntryOf, UndefinedValueError } from './undefined-values.js';

/**
 * JSON-encodes any value; non-finite numbers become null, bigints their digits. A missing value is
 * an error, not null: a typo (input.event_typ) must not render as null without a word. So is a
 * dict or list the template made with a missing entry (JSON would drop it, or write null).
 */
export function json(value: unknown, indent?: number): string {
  if (value === undefined) throw new UndefinedValueError('json: the value is undefined: write default(…) or guard it with is defined');
  const missing = undefinedEntryOf(value);
  if (missing !== undefined) {
    throw new UndefinedValueError(`json: the value holds an undefined entry (${missing}): give it a default(…), or drop missing entries of a dict with compact`);
  }
  let text: string;
  try {
    // The common case, without a replacer: a replacer function is called for every key and value.
    text = JSON.stringify(value, undefined, indent);
  } catch (error) {
    // Only a bigint makes JSON.stringify throw a TypeError (a cycle cannot come from a parsed event).
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    text = stringifyExact(value, indent);
  }
  // JSON.stringify gives no text for a function (a macro, range): writing nothing would not be JSON.
  if (text === undefined) throw new Error(`json: ${typeof value === 'function' ? 'a function' : 'this value'} cannot be written as JSON`);
  // U+2028/2029 are valid JSON but break JavaScript consumers that eval or embed it.
  return LINE_SEPARATORS.test(text) ? text.replace(LINE_SEPARATORS_ALL, (ch) => (ch === '\u2028' ? '\\u2028' : '\\u2029')) : text;
}

const LINE_SEPARATORS = /[\u2028\u2029]/;
const LINE_SEPARATORS_ALL = /[\u2028\u2029]/g;
/** No time is written in more characters than this; a longer string is not parsed (the date parser is slow on megabytes). */
const LONGEST_TIME_TEXT = 64;

/** Milliseconds (or an ISO string) → Date; throws on anything else so a template error is loud. */
function toDate(value: unknown, filter: string): Date {
  const date = typeof value === 'number' || (typeof value === 'string' && value.length <= LONGEST_TIME_TEXT) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    const shown = typeof value === 'string' && value.length > LONGEST_TIME_TEXT ? `a text of ${value.length} characters` : JSON.stringify(value);
    throw new Error(`${filter}: not a time: ${shown}`);
  }
  return date;
}

/** ISO 8601 UTC; seconds precision by default ("2022-01-06T17:29:04Z"), "ms" for milliseconds. */
export function iso8601(value: unknown, precision: 's' | 'ms' = 's'): string {
  const iso = toDate(value, 'iso8601').toISOString();
  return precision === 'ms' ? iso : `${iso.slice(0, 19)}Z`;
}

export function unixSeconds(value: unknown): number {
  return Math.floor(toDate(value, 'unix_seconds').getTime() / 1000);
}

export function unixMs(value: unknown): number {
  return toDate(value, 'unix_ms').getTime();
}

/** The value, or the fallback when it is null or undefined (nunjucks' `default` treats only undefined). */
export function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined || value === null ? fallback : value;
}

/** Drops null and undefined entries of an object, so optional fields can be left out of JSON. */
export function compact(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry === undefined || entry === null) continue;
    result[key] = entry;
    if (undefinedEntryOf(entry) !== undefined) markUndefinedEntry(result, key);
  }
  return result;
}

/**
 * Truncates a value's text to at most `bytes` UTF-8 bytes without splitting a character. No value
 * (null, undefined) stays as it is, so `| json` writes null or refuses a missing one, instead of
 * the text "nul"; a list or a dict has no text to cut, so it is refused.
 */
export function truncateBytes<T>(value: T, bytes: number): string | T {
  if (value === null || value === undefined) return value;
  // (A function never gets here: the bounded filter refuses one for every filter.)
  if (typeof value === 'object') throw new Error(`truncate_bytes: takes a text, a number or a boolean, not ${Array.isArray(value) ? 'a list' : 'a dict'}`);
  const text = String(value);
  const buffer = Buffer.from(text);
  if (buffer.length <= bytes) return text;
  return buffer.subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}

/** UTF-8 text as base64, e.g. HTTP Basic credentials: {{ (parameters.site_id ~ ":" ~ parameters.api_key) | base64 }}. */
export function base64(value: unknown): string {
  if (value === undefined || value === null) throw new Error('base64: no value to encode');
  return Buffer.from(String(value), 'utf8').toString('base64');
}

export const TEMPLATE_FILTERS = {
  json,
  iso8601,
  unix_seconds: unixSeconds,
  unix_ms: unixMs,
  or_default: orDefault,
  compact,
  truncate_bytes: truncateBytes,
  base64,
  sha256,
  sha256_email: sha256Email,
  sha256_phone: sha256Phone,
  hmac_sha256: hmacSha256,
} as const;

/** Filters whose arguments after the value are keys: their output is a keyed hash of the value, not
 *  something derived from the key, so a secret key does not make it a string to redact. */
export const KEYED_FILTERS: ReadonlySet<string> = new Set(['hmac_sha256']);

/** The filters that hash personal data before it leaves (hash-filters.ts): the catalog lists which a folder's templates use. */
export const HASHING_FILTERS: readonly string[] = ['sha256_email', 'sha256_phone', 'sha256', 'hmac_sha256'];
