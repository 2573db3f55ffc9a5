// Dead letters: what could not be delivered, with why, written to the DEAD stream
// (subject dead.<destination>.<sync>) before the original message is terminated.
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, redactorFor } from '../secrets/index.js';

export const DEAD_LETTER_FORMAT_VERSION = 1;
/** A batch's body can be large; a dead letter keeps this much of it. */
export const DEAD_LETTER_BODY_BYTES = 16_384;

export interface DeadLetter {
  format: typeof DEAD_LETTER_FORMAT_VERSION;
  deadAt: string;
  destination: string;
  sync: string;
  definitionVersion: string;
  reason: string;
  message?: string;
  attempts: number;
  lastStatus?: number;
  responseExcerpt?: string;
  /** The rendered request, secrets redacted. */
  request?: RenderedRequest;
  /** The event as published: parsed when it was JSON, else its bytes in base64 under rawEvent. */
  event?: unknown;
  rawEvent?: string;
  insertId?: string;
  source: { stream: string; sequence: number; subject: string; publishedAt: string };
}

/** What the runner knows when a delivery dies; the rest of the record is derived from it. */
export type DeadLetterInput = Omit<DeadLetter, 'format' | 'deadAt' | 'rawEvent' | 'insertId'> & {
  /** The message's bytes, kept as rawEvent when the event was not JSON. */
  data: Uint8Array;
  /** The sync's secret values; the strings its render derived from them travel with `request`. */
  secrets: readonly string[];
};

/**
 * The dead letter of a delivery. Everything in it that came from the request or the response is
 * redacted against the sync's secrets and the strings the render derived from them (kept with
 * `request`, see derivedSecretsOf), at every form; a text that may have been cut short (message,
 * excerpt) also loses a secret's start left at its end, and the body is redacted before it is cut.
 */
export function buildDeadLetter(input: DeadLetterInput): DeadLetter {
  const derived = derivedSecretsOf(input.request);
  const redactor = redactorFor(derived.length === 0 ? input.secrets : [...input.secrets, ...derived]);
  const clean = (text: string | undefined) => (text === undefined ? undefined : redactor.redact(text));
  const cleanCut = (text: string | undefined) => (text === undefined ? undefined : redactor.redactCut(text));
  const insertId = (input.event as { insert_id?: unknown } | undefined)?.insert_id;
  return {
    format: DEAD_LETTER_FORMAT_VERSION,
    deadAt: new Date().toISOString(),
    destination: input.destination,
    sync: input.sync,
    definitionVersion: input.definitionVersion,
    reason: input.reason,
    message: cleanCut(input.message),
    attempts: input.attempts,
    lastStatus: input.lastStatus,
    responseExcerpt: cleanCut(input.responseExcerpt),
    request: input.request && {
      method: input.request.method,
      url: clean(input.request.url)!,
      headers: Object.fromEntries(Object.entries(input.request.headers).map(([name, value]) => [name, clean(value)!])),
      body: truncate(clean(input.request.body)!, DEAD_LETTER_BODY_BYTES),
    },
    event: input.event,
    rawEvent: input.event === undefined ? Buffer.from(input.data).toString('base64') : undefined,
    insertId: typeof insertId === 'string' ? insertId : undefined,
    source: input.source,
  };
}

function truncate(text: string, bytes: number): string {
  if (text.length <= bytes / 4 || Buffer.byteLength(text) <= bytes) return text;
  return `${Buffer.from(text).subarray(0, bytes).toString('utf8')}… [truncated]`;
}

export function deadLetterSubject(prefix: string, destination: string, syncName: string): string {
  return `${prefix}.${destination}.${syncName}`;
}
