// The two ways a delivery attempt can fail. Only classify.ts decides which one an outcome is; every
// other part of the daemon reads `kind` / `code` and never re-derives retryability.

/** Retryable failures: the same request may succeed later. */
export const RETRYABLE_CODES = {
  http5xx: 'http_5xx',
  http429: 'http_429',
  http408: 'http_408',
  http423: 'http_423',
  http425: 'http_425',
  /** Connect, headers, body or whole-request timeout. */
  timeout: 'timeout',
  /** Connection refused or reset, DNS failure, unreachable host… */
  network: 'network',
  /** The server's certificate did not verify or the TLS handshake failed; `detail` says how. Retryable:
   *  an operator renews an expired certificate within the hours the schedule spans. */
  tls: 'tls',
  /** The request was cancelled by its caller (not by shutdown): the outcome is unknown. */
  aborted: 'aborted',
  /** The daemon is stopping: release the message, do not count it as a failed attempt. */
  shutdown: 'shutdown',
  /** No OAuth2 token could be had for the sync (daemon/oauth): the token endpoint failed, or its answer held none. */
  oauthToken: 'oauth_token',
} as const;
export type RetryableCode = (typeof RETRYABLE_CODES)[keyof typeof RETRYABLE_CODES];

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

/** Permanent failures: sending the same request again will fail again. */
export const PERMANENT_CODES = {
  /** Any non-2xx status that is not retryable: 4xx, 501, 3xx (redirects are not followed), 1xx. */
  http4xx: 'http_4xx',
  /** The request could not be built or sent as given (bad URL, invalid header value, …). */
  invalidRequest: 'invalid_request',
  /** The request's host is outside the operator's egress allow-list: it was not sent. */
  egressDenied: 'egress_denied',
  /** A thrown error nobody recognises. Permanent so a bug cannot loop for four hours. */
  unexpected: 'unexpected',
} as const;
export type PermanentCode = (typeof PERMANENT_CODES)[keyof typeof PERMANENT_CODES];

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
