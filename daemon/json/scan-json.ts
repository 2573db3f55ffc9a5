// One pass over a message's bytes, before anything parses or recurses over it: how deep its
// brackets nest, and whether it may hold an integer a double cannot keep. UTF-8 never puts a byte
// below 0x80 inside a multi-byte character, so looking at ASCII bytes is enough.

export const JSON_SCAN = {
  /** Nothing unusual: JSON.parse gives the exact value. */
  plain: 0,
  /** A run of 16 or more digits outside a string: maybe an integer beyond 2^53 (parse it with parseJsonExact). */
  longDigits: 1,
  /** Brackets nest deeper than the limit. */
  tooDeep: 2,
} as const;
export type JsonScan = (typeof JSON_SCAN)[keyof typeof JSON_SCAN];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
/** 2^53 has 16 digits: any integer of 15 digits or fewer is exact as a double. */
const LONG_DIGITS = 16;

/**
 * Scans JSON text (bytes) for nesting deeper than `maxDepth` and for long digit runs, in one loop
 * without allocating. Exact for valid JSON; for invalid JSON the answer does not matter (JSON.parse
 * refuses it, iteratively). `{}` and `[]` are depth 1.
 */
export function scanJson(data: Uint8Array, maxDepth: number): JsonScan {
  let depth = 0;
  let digits = 0;
  let result: JsonScan = JSON_SCAN.plain;
  const length = data.length;
  for (let i = 0; i < length; i++) {
    const byte = data[i];
    if (byte === QUOTE) {
      // Skip the string to its closing quote; a backslash escapes the next byte.
      for (i++; i < length; i++) {
        const inner = data[i];
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) i++;
      }
      digits = 0;
    } else if (byte >= ZERO && byte <= NINE) {
      if (++digits === LONG_DIGITS) result = JSON_SCAN.longDigits;
    } else {
      digits = 0;
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++depth > maxDepth) return JSON_SCAN.tooDeep;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
      }
    }
  }
  return result;
}

/** The same scan over a string (an event file read by the CLI). */
export function scanJsonText(text: string, maxDepth: number): JsonScan {
  return scanJson(Buffer.from(text, 'utf8'), maxDepth);
}
