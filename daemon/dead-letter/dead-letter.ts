// Dead letters: what could not be delivered, with why, written to the DEAD stream
// (subject dead.<destination>.<sync>) before the original message is terminated. The record's
// shape is schema/dead-letter.schema.json. A letter always fits the server's max_payload, and
// building one never recurses over event data deeper than the decode limit.
import { createHash } from 'node:crypto';
import type { DeadLetter } from '../../schema/generated/dead-letter.js';
import { readableFields } from '../events/readable-fields.js';
import { JSON_SCAN, scanJson } from '../json/index.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, redactorFor } from '../secrets/index.js';
import { DEFAULT_MAX_EVENT_DEPTH, DEFAULT_NATS_MAX_PAYLOAD } from '../defaults.js';

export type { DeadLetter } from '../../schema/generated/dead-letter.js';

export const DEAD_LETTER_FORMAT_VERSION = 1;
/** A batch's body can be large; a dead letter keeps this much of it. */
export const DEAD_LETTER_BODY_BYTES = 16_384;
/** Room left in max_payload for the publish's headers (reason, sync, Nats-Msg-Id, trace context). */
export const DEAD_LETTER_HEADER_ROOM = 2_048;
/** When even the letter without its event is too large, message, response and body are cut to this. */
const SHRUNK_TEXT_BYTES = 1_024;

/** What the runner knows when a delivery dies; the rest of the record is derived from it. */
export type DeadLetterInput = Omit<DeadLetter, 'format' | 'deadAt' | 'event' | 'eventText' | 'rawEvent' | 'truncated' | 'insertId' | 'request'> & {
  /** The message's bytes: the truth the letter keeps (parsed, as text, base64, or an excerpt). */
  data: Uint8Array;
  /** The event decoded from `data`, when the caller has it (saves parsing it again). */
  event?: unknown;
  /** The rendered request; secrets are redacted here too (with the strings its render derived from them, see derivedSecretsOf). */
  request?: RenderedRequest;
  /** The sync's secret values. */
  secrets: readonly string[];
  /** The server's max_payload (see maxPayloadOf); the letter and its headers fit in it. */
  maxPayload?: number;
};

/** The largest message the connected server accepts (nats.js keeps the server's INFO). */
export function maxPayloadOf(connection: { info?: { max_payload?: number } }): number {
  return connection.info?.max_payload ?? DEFAULT_NATS_MAX_PAYLOAD;
}

/**
 * The dead letter of a delivery. Everything in it that came from the request or the response is
 * redacted against the sync's secrets and the strings the render derived from them (kept with
 * `request`, see derivedSecretsOf), at every form; a text that may have been cut short (message,
 * excerpt) also loses a secret's start left at its end, and the body is redacted before it is cut.
 * The letter always fits the server's max_payload (fitLetter).
 */
export function buildDeadLetter(input: DeadLetterInput): DeadLetter {
  const derived = derivedSecretsOf(input.request);
  const redactor = redactorFor(derived.length === 0 ? input.secrets : [...input.secrets, ...derived]);
  const clean = (text: string | undefined) => (text === undefined ? undefined : redactor.redact(text));
  const cleanCut = (text: string | undefined) => (text === undefined ? undefined : redactor.redactCut(text));
  const kept = keepEvent(input.data, input.event);
  // Only the top level is read, so even a too-deep decoded event is safe here. An event kept as
  // text (an integer a double would round) still has its insert_id read from its bytes.
  const decoded = kept.event ?? input.event;
  const insertId = decoded !== undefined ? (decoded as { insert_id?: unknown } | null)?.insert_id : kept.eventText !== undefined ? readableFields(input.data).insert_id : undefined;
  const letter: DeadLetter = {
    format: DEAD_LETTER_FORMAT_VERSION,
    deadAt: new Date().toISOString(),
    destination: input.destination,
    sync: input.sync,
    definitionVersion: input.definitionVersion,
    reason: input.reason,
    message: cleanCut(input.message),
    detail: input.detail,
    attempts: input.attempts,
    lastStatus: input.lastStatus,
    responseExcerpt: cleanCut(input.responseExcerpt),
    request: input.request && {
      method: input.request.method,
      url: clean(input.request.url)!,
      headers: Object.fromEntries(Object.entries(input.request.headers).map(([name, value]) => [name, clean(value)!])),
      // Redact first, then cut: a cut could leave the start of a secret that redaction no longer matches.
      body: cutText(clean(input.request.body)!, DEAD_LETTER_BODY_BYTES),
    },
    ...kept,
    insertId: typeof insertId === 'string' ? insertId : undefined,
    source: input.source,
  };
  return fitLetter(letter, input.data, (input.maxPayload ?? DEFAULT_NATS_MAX_PAYLOAD) - DEAD_LETTER_HEADER_ROOM);
}

type KeptEvent = Pick<DeadLetter, 'event' | 'eventText' | 'rawEvent'>;

/**
 * How the letter keeps the event: parsed when that is safe and exact; as text when it is JSON that
 * cannot be kept as a value (too deep to serialize, or an integer a double would round, which
 * replay must send digit for digit); in base64 when it is not JSON at all, as before.
 */
function keepEvent(data: Uint8Array, decoded: unknown): KeptEvent {
  const base64 = () => ({ rawEvent: Buffer.from(data).toString('base64') });
  const text = utf8OrUndefined(data);
  if (text === undefined) return base64();
  if (scanJson(data, DEFAULT_MAX_EVENT_DEPTH) !== JSON_SCAN.plain) return { eventText: text };
  if (decoded !== undefined) return { event: decoded };
  try {
    return { event: JSON.parse(text) };
  } catch {
    return base64();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, or undefined when they are not UTF-8. */
export function utf8OrUndefined(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

const byteLength = (letter: DeadLetter) => Buffer.byteLength(JSON.stringify(letter));

/**
 * The letter as it is when it fits `budget` bytes of JSON; else the event is replaced by an
 * excerpt of its first bytes with its size and hash (and, if still needed, the other long texts
 * are cut), halving the excerpt until it fits: JSON escaping can make text up to 6× longer.
 */
function fitLetter(letter: DeadLetter, data: Uint8Array, budget: number): DeadLetter {
  if (byteLength(letter) <= budget) return letter;
  let fitted: DeadLetter = { ...letter, event: undefined, eventText: undefined, rawEvent: undefined };
  // The other long texts are cut only when they take half the room (escaping can make 1 KB take 6).
  for (let limit = SHRUNK_TEXT_BYTES; byteLength(fitted) > budget / 2 && limit >= 16; limit = Math.floor(limit / 4)) {
    fitted = {
      ...fitted,
      message: fitted.message === undefined ? undefined : cutText(letter.message!, limit),
      responseExcerpt: fitted.responseExcerpt === undefined ? undefined : cutText(letter.responseExcerpt!, limit),
      request: fitted.request && { ...fitted.request, body: cutText(letter.request!.body, limit) },
    };
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  const isText = letter.rawEvent === undefined;
  let keep = Math.min(data.byteLength, Math.max(0, budget - byteLength(fitted) - 256));
  for (;;) {
    const excerpt = excerptOf(data, keep, isText);
    const candidate: DeadLetter = { ...fitted, ...excerpt.kept, truncated: { eventBytes: data.byteLength, keptBytes: excerpt.bytes, sha256 } };
    if (byteLength(candidate) <= budget || keep === 0) return candidate;
    keep = Math.floor(keep / 2);
  }
}

/** The first `bytes` of the event: text cut at a character boundary, or base64 (3 bytes make 4). */
function excerptOf(data: Uint8Array, bytes: number, isText: boolean): { kept: KeptEvent; bytes: number } {
  if (!isText) {
    const n = Math.floor((bytes * 3) / 4);
    return { kept: { rawEvent: Buffer.from(data.subarray(0, n)).toString('base64') }, bytes: n };
  }
  let n = bytes;
  while (n > 0 && n < data.byteLength && (data[n] & 0xc0) === 0x80) n--;
  return { kept: { eventText: Buffer.from(data.subarray(0, n)).toString('utf8') }, bytes: n };
}

/** At most `bytes` of UTF-8 (cut at a character boundary), marked when cut. */
function cutText(text: string, bytes: number): string {
  if (text.length <= bytes / 4 || Buffer.byteLength(text) <= bytes) return text;
  const data = Buffer.from(text);
  let n = bytes;
  while (n > 0 && (data[n] & 0xc0) === 0x80) n--;
  return `${data.subarray(0, n).toString('utf8')}… [truncated]`;
}

export function deadLetterSubject(prefix: string, destination: string, syncName: string): string {
  return `${prefix}.${destination}.${syncName}`;
}

/**
 * The sync id (`<destination>.<sync>`) a dead letter belongs to, read from the subject it is stored
 * under, never from its body; undefined when the subject is not a dead-letter subject of `prefix`.
 */
export function syncOfDeadLetterSubject(prefix: string, subject: string): string | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const syncId = subject.slice(prefix.length + 1);
  return /^[^.]+\.[^.]+$/.test(syncId) ? syncId : undefined;
}
