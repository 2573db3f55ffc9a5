// The two ways a delivery attempt can fail. Only classify.ts decides which one an outcome is; every
// other part of the daemon reads `kind` / `code` and never re-derives retryability.

// The codes are the reasons vocabulary's (daemon/reasons.ts): a failed request is counted under its code.
export { PERMANENT_CODES, RETRYABLE_CODES, type PermanentCode, type RetryableCode } from '../reasons.js';
import { RETRIES_EXHAUSTED, type DeadLetterReason, type PermanentCode, type RetryableCode } from '../reasons.js';

/** How a `tls` failure failed: the detail of RetryableDeliveryError and the first word of its message. */
export const TLS_DETAILS = {
  expired: 'expired',
  notYetValid: 'not_yet_valid',
  /** Self-signed, or signed by a CA the sync does not trust (give the sync a CA bundle: tls.ca). */
  unknownIssuer: 'unknown_issuer',
  nameMismatch: 'name_mismatch',
  /** Any other reason the certificate was refused: revoked, bad signature, not for TLS servers… */
  badCertificate: 'bad_certificate',
  /** No certificate to judge: no common protocol or cipher, not TLS at all (an http:// port), an alert. */
  handshake: 'handshake',
} as const;
export type TlsDetail = (typeof TLS_DETAILS)[keyof typeof TLS_DETAILS];

export interface DeliveryErrorDetails {
  status?: number;
  retryAfterMs?: number;
  /** Finer than `code`, for the operator (a `tls` failure's TlsDetail). */
  detail?: string;
  cause?: unknown;
}

export class RetryableDeliveryError extends Error {
  override readonly name = 'RetryableDeliveryError';
  readonly kind = 'retryable' as const;
  readonly code: RetryableCode;
  declare readonly status?: number;
  /** From the response's Retry-After header (already capped); beats the backoff schedule. */
  declare readonly retryAfterMs?: number;
  /** Finer than `code`: how a `tls` failure failed (TlsDetail). */
  declare readonly detail?: string;

  constructor(code: RetryableCode, message: string, details: DeliveryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.detail !== undefined) this.detail = details.detail;
  }
}

export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
  readonly kind = 'permanent' as const;
  readonly code: PermanentCode;
  declare readonly status?: number;

  constructor(code: PermanentCode, message: string, details: Omit<DeliveryErrorDetails, 'retryAfterMs'> = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
  }
}

/**
 * The abort reason the daemon uses when it stops: `controller.abort(new ShutdownError())`.
 * undici rejects an aborted request with the signal's reason as-is, so the reason reaches classify(),
 * which answers a retryable `shutdown` (see isShutdownAbort).
 */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  readonly code = 'shutdown' as const;

  constructor(message = 'daemon is shutting down') {
    super(message);
  }
}

/** How deep classify() and isShutdownAbort() follow `cause` (and AggregateError `errors`). */
const MAX_CAUSE_DEPTH = 8;

/**
 * Calls `visit` on the error, its `cause` chain and the members of any AggregateError, breadth first,
 * until `visit` returns true. Returns whether it did.
 */
export function someInCauseChain(error: unknown, visit: (candidate: object) => boolean): boolean {
  let level: unknown[] = [error];
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const candidate of level) {
      if (candidate === null || typeof candidate !== 'object') continue;
      if (visit(candidate)) return true;
      const { cause, errors } = candidate as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) next.push(cause);
      if (Array.isArray(errors)) next.push(...errors);
    }
    level = next;
  }
  return false;
}

/**
 * True when the error is (or was caused by) the daemon's shutdown abort: a ShutdownError instance, or
 * any error named 'ShutdownError' (another copy of this module). Other aborts (a delivery released,
 * an actor stopped) are not shutdown aborts.
 */
export function isShutdownAbort(error: unknown): boolean {
  return someInCauseChain(error, (candidate) => candidate instanceof ShutdownError || (candidate as Error).name === 'ShutdownError');
}

/** The reason a delivery that ends on this failure is dead-lettered with: a permanent failure's own
 *  code; a retryable failure ends a delivery only when its attempts are used up. */
export function deadLetterReasonOf(failure: RetryableDeliveryError | PermanentDeliveryError): DeadLetterReason {
  return failure instanceof PermanentDeliveryError ? failure.code : RETRIES_EXHAUSTED;
}
