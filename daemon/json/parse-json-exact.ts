// JSON.parse that keeps every digit of an integer beyond 2^53, as a bigint. Only for text that
// scanJson flagged (a run of 16+ digits) and whose depth it checked: the reviver recurses.
import { randomBytes } from 'node:crypto';

/** Marks a string we put in place of a long integer; a per-process nonce, so event data cannot forge it. */
const MARK = `\u0000${randomBytes(8).toString('hex')}:`;
const MARK_JSON = JSON.stringify(MARK).slice(1, -1);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Parses JSON text; an integer a double cannot hold exactly becomes a bigint. Throws SyntaxError like JSON.parse. */
export function parseJsonExact(text: string): unknown {
  // The text must be JSON as written: the scan below finds numbers by skipping strings, which is
  // exact only for JSON, where a number is always a value. In other text it would quote a number
  // into a valid key (`{123…: 1}`) or a leading-zero number into a bigint (`0123…`); both were
  // accepted until the fuzzer found them. Costs a second parse on this path only (~2 µs of ~8).
  const plain: unknown = JSON.parse(text);
  let out = '';
  let from = 0;
  let replaced = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      for (i++; i < text.length; i++) {
        const inner = text.charCodeAt(i);
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) i++;
      }
    } else if (code === 0x2d || (code >= 0x30 && code <= 0x39)) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end])) end++;
      const token = text.slice(i, end);
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(from, i)}"${MARK_JSON}${token}"`;
        from = end;
        replaced = true;
      }
      i = end - 1;
    }
  }
  if (!replaced) return plain;
  return JSON.parse(out + text.slice(from), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARK) ? BigInt(value.slice(MARK.length)) : value,
  );
}
