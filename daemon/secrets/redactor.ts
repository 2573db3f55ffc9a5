// Redaction: every form a secret (or a string derived from one) can take in what we store or print
// is replaced by [redacted]. A Redactor works its forms out once; redact() keeps one per list.

export const REDACTED = '[redacted]';

/** A base64 run shorter than this could match by chance, so it is not looked for inside longer base64. */
const MIN_EMBEDDED_BASE64 = 8;
/** A text cut short keeps at most this much of a secret's start at its end (see redactCut). */
const MIN_CUT_PREFIX = 4;

/**
 * What `value` can look like in a log line, a dead letter, a span or a response: raw, JSON-escaped
 * (once, and twice for JSON inside a JSON string), URL-encoded (encodeURIComponent and form
 * encoding), and base64 (standard and URL alphabet, whole, and at each of the three byte
 * alignments it can have inside a longer base64 text, such as "site_id:api_key" in HTTP Basic
 * credentials), the base64 forms also URL-encoded.
 */
export function secretForms(value: string): string[] {
  if (value === '') return [];
  const json = JSON.stringify(value).slice(1, -1);
  const forms = new Set([value, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(value), new URLSearchParams([['', value]]).toString().slice(1)]);
  const bytes = Buffer.from(value, 'utf8');
  const base64 = [bytes.toString('base64'), ...[0, 1, 2].map((shift) => embeddedBase64(bytes, shift)).filter((form) => form.length >= MIN_EMBEDDED_BASE64)];
  for (const form of base64) {
    const url = form.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    for (const each of [form, url, encodeURIComponent(form)]) forms.add(each);
  }
  return [...forms];
}

/**
 * The base64 characters that only `bytes` decide when they start `shift` bytes into a group of
 * three: the characters shared with the bytes before or after them are left out (so at most two
 * bytes at each end of the secret are not covered).
 */
function embeddedBase64(bytes: Buffer, shift: number): string {
  const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
  const whole = padded.length - (padded.length % 3);
  // Characters that carry bits of the padding: none, the first 2 (8 bits), the first 3 (16 bits).
  return padded.subarray(0, whole).toString('base64').slice([0, 2, 3][shift]);
}

export class Redactor {
  /** Every form of every string, longest first, so a form that contains another is replaced whole. */
  readonly forms: readonly string[];

  constructor(values: Iterable<string>) {
    const forms = new Set<string>();
    for (const value of values) for (const form of secretForms(value)) forms.add(form);
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let result = text;
    for (const form of this.forms) if (result.includes(form)) result = result.split(form).join(REDACTED);
    return result;
  }

  /**
   * For a text that may have been cut short (an excerpt of a response, a line of a body): also
   * redacts the start of a form left at its very end, so a cut through a secret does not keep
   * most of it.
   */
  redactCut(text: string): string {
    const result = this.redact(text);
    for (const form of this.forms) {
      for (let length = form.length - 1; length >= MIN_CUT_PREFIX; length--) {
        if (result.endsWith(form.slice(0, length))) return result.slice(0, result.length - length) + REDACTED;
      }
    }
    return result;
  }
}

/** The Redactor of a list; a list that is kept (a sync's secret values) has its forms worked out once. */
const redactors = new WeakMap<readonly string[], Redactor>();

export function redactorFor(values: readonly string[]): Redactor {
  let redactor = redactors.get(values);
  if (!redactor) redactors.set(values, (redactor = new Redactor(values)));
  return redactor;
}

/** Replaces every form of every value (see secretForms) in `text`. */
export function redact(text: string, values: readonly string[]): string {
  return values.length === 0 ? text : redactorFor(values).redact(text);
}
