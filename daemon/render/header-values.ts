// Header values made of event data. undici writes a header value as Latin-1 and refuses one with a
// character outside TAB, U+0020–U+007E and U+0080–U+00FF (its isValidHeaderValue, from Node's
// _http_common), so an event whose insert_id or user_id holds `😀`, a control character or a line
// break could not be sent at all. Event data is therefore made into visible ASCII before it becomes
// a header value, in one of two ways (docs/writing-a-destination.md, "Headers and event data"):
//
// - an id (the idempotency header, Standard Webhooks' webhook-id) is kept as it is when it is a
//   plain ASCII token, else replaced by `sha256:` and a hash: the same id always gives the same key
//   (retries, restarts, other daemons) and two different ids never share one;
// - any other header whose template reads event data is percent-encoded where it must be.
//
// Latin-1 (U+0080–U+00FF) is encoded too, although undici would send it: a receiver reads those
// bytes as Latin-1, as UTF-8 (where they are invalid) or refuses them (RFC 9110's obs-text), so
// `José` and `Jo😀` would arrive in two different forms. What is still unsendable (a parameter or
// the template's own text) is refused by the sender, naming the header: `unsendableHeader`.
import * as crypto from 'node:crypto';

/** How the idempotency key and webhook-id are made from an id (written in the docs, tested). */
export const HEADER_ID = {
  /** Longer ids are hashed: Stripe caps its Idempotency-Key at 255, and servers refuse headers over ~8 KB. */
  maxLength: 255,
  /** Starts every hashed id; an id that itself starts with it is hashed too, so a kept id is never a hashed one. */
  hashPrefix: 'sha256:',
  /** Hex digits of the SHA-256 kept: 128 bits, as in a batch's key. */
  hashHexDigits: 32,
} as const;

/** What a header value built from event data keeps as it is: visible ASCII and the space. */
const PLAIN_TEXT = /^[\x20-\x7e]*$/;

type OneShotHash = (algorithm: string, data: crypto.BinaryLike, encoding: 'hex') => string;
/** `crypto.hash` (Node 20.12 and later) skips the Hash object. */
const oneShot = (crypto as { hash?: OneShotHash }).hash;
const sha256Hex: (data: Buffer) => string = typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * The header form of an id (an event's insert_id, a batch's key): the id itself when it is visible
 * ASCII (spaces inside allowed), at most 255 characters and does not start with `sha256:`; else
 * `sha256:` + the first 32 hex digits of SHA-256 over the id's UTF-16 code units (little-endian).
 * UTF-16 rather than UTF-8 because UTF-8 cannot carry an unpaired surrogate (`"\ud800"` in an
 * event's JSON): it would become U+FFFD, and `"\ud800"`, `"\udc00"` and `"\ufffd"` would share a key.
 */
export function headerId(id: string): string {
  // Spaces inside only: HTTP trims them at the ends, so the receiver would read another id (and the signature would not match).
  const length = id.length;
  if (length > 0 && length <= HEADER_ID.maxLength && PLAIN_TEXT.test(id) && id.charCodeAt(0) !== 32 && id.charCodeAt(length - 1) !== 32 && !id.startsWith(HEADER_ID.hashPrefix)) return id;
  return HEADER_ID.hashPrefix + sha256Hex(Buffer.from(id, 'utf16le')).slice(0, HEADER_ID.hashHexDigits);
}

/** A run of characters encodeHeaderText writes as percent-encoded UTF-8. */
const ENCODED_RUN = /[^\x20-\x7e]+/g;

/**
 * A header value from a template that reads event data, as visible ASCII: every character outside
 * U+0020–U+007E (controls, CR and LF, DEL, Latin-1 and beyond) is written as the percent-encoded
 * bytes of its UTF-8 form (`é` → `%C3%A9`, an unpaired surrogate as U+FFFD's `%EF%BF%BD`); ASCII,
 * `%` included, is left as it is, so a value that needs nothing is sent byte for byte as rendered.
 */
export function encodeHeaderText(value: string): string {
  if (PLAIN_TEXT.test(value)) return value;
  return value.replace(ENCODED_RUN, percentEncoded);
}

function percentEncoded(run: string): string {
  let out = '';
  for (const byte of Buffer.from(run, 'utf8')) out += byte < 16 ? `%0${byte.toString(16).toUpperCase()}` : `%${byte.toString(16).toUpperCase()}`;
  return out;
}

/** undici's own rule (lib/core/util.js headerCharRegex): what a header value may hold. */
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/;
const UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/;

/** Why a header cannot be sent, said by the kind of character only: the value may hold a secret. */
export interface UnsendableHeader {
  name: string;
  /** "a line break", "a control character", "a character beyond U+00FF". */
  holds: string;
}

/**
 * The first header of `headers` that undici would refuse, or undefined. One regular-expression test
 * per header, the same undici makes: the sender asks before dispatching, because undici checks only
 * once a connection is free (a refused request would wait behind a slow origin's queue).
 */
export function unsendableHeader(headers: Record<string, string>): UnsendableHeader | undefined {
  for (const name in headers) {
    const value = headers[name];
    if (typeof value !== 'string' || SENDABLE.test(value)) continue;
    const code = value.charCodeAt(value.search(UNSENDABLE));
    return { name, holds: code === 10 || code === 13 ? 'a line break' : code < 0x100 ? 'a control character' : 'a character beyond U+00FF' };
  }
  return undefined;
}

/**
 * One line for a person: which header, what it holds, and the fix. Event data cannot be the cause
 * (it is encoded), so the value comes from a sync parameter or the template's own text.
 */
export function unsendableHeaderMessage({ name, holds }: UnsendableHeader): string {
  return (
    `header ${name} holds ${holds}, which an HTTP header cannot carry: event data is encoded by the daemon, ` +
    `so it comes from a sync parameter or the destination's template; fix the parameter's value, or encode it in the template (| urlencode, | base64 or | sha256)`
  );
}
