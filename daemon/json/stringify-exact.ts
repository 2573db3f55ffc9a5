// JSON.stringify that writes a bigint (an integer past 2^53 that parseJsonExact kept) as its digits,
// a JSON number, instead of throwing: the render's json filter and the ingest's publishing both
// write events that may hold one.
import { randomBytes } from 'node:crypto';

/**
 * Put around a bigint's digits while JSON.stringify runs, then the quoted mark and digits become the
 * bare digits. A per-process nonce, so event data cannot forge it: a key or a string spelled as the
 * mark would otherwise become a bare number, and a key that is a number is not JSON (found while
 * writing the fuzzer's check that a JSON-by-construction template renders JSON).
 */
const BIGINT_MARK = `\u0000${randomBytes(8).toString('hex')}\u0000`;
/** The mark as JSON.stringify writes it (\u0000 escaped), written for a RegExp source. */
const BIGINT_MARK_JSON = JSON.stringify(BIGINT_MARK).slice(1, -1).replace(/\\/g, '\\\\');
const BIGINT_PATTERN = new RegExp(`"${BIGINT_MARK_JSON}(-?\\d+)${BIGINT_MARK_JSON}"`, 'g');

/** A bigint keeps every digit as a JSON number rather than losing precision as a double. */
export function stringifyExact(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, (_key, entry: unknown) => (typeof entry === 'bigint' ? `${BIGINT_MARK}${entry}${BIGINT_MARK}` : entry), indent);
  return text.replace(BIGINT_PATTERN, '$1');
}
