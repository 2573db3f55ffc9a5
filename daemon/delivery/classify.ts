// One pure function decides what an attempt's outcome means (contract, table-tested):
//   2xx                                  → delivered
//   a status the destination declared to answer item by item, when the body names items
//                                        → delivered as a request (outcomes.ts settles each item)
//   408, 423, 425, 429, 5xx except 501   → retryable (Retry-After honoured, capped)
//   network errors and timeouts          → retryable
//   TLS: certificate refused, handshake  → retryable `tls` (detail: expired, unknown_issuer, …)
//   everything else (1xx, 3xx, 4xx, 501) → permanent
//   a host outside the egress allow-list  → permanent egress_denied (nothing was sent)
//   a header value HTTP cannot carry       → permanent invalid_header (nothing was sent)
//   no OAuth2 token (error code oauth_token) → retryable oauth_token, whatever failed underneath
import { DEFAULT_RETRY_AFTER_CAP_MS } from '../defaults.js';
import {
  PERMANENT_CODES,
  PermanentDeliveryError,
  RETRYABLE_CODES,
  RetryableDeliveryError,
  ShutdownError,
  TLS_DETAILS,
  isShutdownAbort,
  someInCauseChain,
  type RetryableCode,
  type TlsDetail,
} from './errors.js';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** A response arrived. `now` (ms since epoch) anchors an HTTP-date Retry-After; Date.now() if absent. */
export interface ResponseOutcome {
  status: number;
  headers: ResponseHeaders;
  now?: number;
  /** The body names results per item on a status the destination declared for it (multi-status.ts read it): the request
   *  has its answer, whatever the status; its items are settled one by one. */
  itemized?: boolean;
}

/**
 * The request threw. Pass the `signal` the request was sent with when there is one: if it is aborted,
 * the failure is the caller's doing whatever undici made of it — `shutdown` when its reason is a
 * ShutdownError, `aborted` otherwise. Without a signal the error's own cause chain decides (undici
 * rejects with the signal's reason as-is, so a ShutdownError reason is still recognised).
 */
export interface ErrorOutcome {
  error: unknown;
  signal?: { readonly aborted: boolean; readonly reason?: unknown };
}

export type Outcome = ResponseOutcome | ErrorOutcome;

export interface Delivered {
  kind: 'delivered';
  status: number;
}

export type Classification = Delivered | RetryableDeliveryError | PermanentDeliveryError;

const RETRYABLE_STATUS: ReadonlyMap<number, RetryableCode> = new Map([
  [408, RETRYABLE_CODES.http408],
  [423, RETRYABLE_CODES.http423],
  [425, RETRYABLE_CODES.http425],
  [429, RETRYABLE_CODES.http429],
]);

// One frozen result per 2xx status: the success path allocates nothing.
const DELIVERED: readonly Delivered[] = Array.from({ length: 100 }, (_, i) => Object.freeze({ kind: 'delivered' as const, status: 200 + i }));

export function classify(outcome: Outcome): Classification {
  return 'error' in outcome ? classifyError(outcome.error, outcome.signal) : classifyResponse(outcome);
}

function classifyResponse({ status, headers, now, itemized }: ResponseOutcome): Classification {
  if (status >= 200 && status <= 299) return DELIVERED[status - 200];
  if (itemized) return { kind: 'delivered', status };
  const code = RETRYABLE_STATUS.get(status) ?? (status >= 500 && status <= 599 && status !== 501 ? RETRYABLE_CODES.http5xx : undefined);
  if (code === undefined) return new PermanentDeliveryError(PERMANENT_CODES.http4xx, `HTTP ${status}`, { status });
  const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), now ?? Date.now());
  return new RetryableDeliveryError(code, `HTTP ${status}`, { status, retryAfterMs });
}

function headerValue(headers: ResponseHeaders, lowerName: string): string | string[] | undefined {
  const value = headers[lowerName];
  if (value !== undefined) return value;
  // undici and node:http lower-case names; a hand-built headers object may not.
  for (const name of Object.keys(headers)) if (name.toLowerCase() === lowerName) return headers[name];
  return undefined;
}

const SECONDS = /^-?\d+(?:\.\d+)?$/;
// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994".
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/;

/**
 * Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date. A negative or past value is 0;
 * anything longer than `capMs` is `capMs`; a missing or unreadable value is undefined. With several
 * values (repeated header) the first one counts.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now(), capMs: number = DEFAULT_RETRY_AFTER_CAP_MS): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  let ms: number;
  if (SECONDS.test(text)) {
    ms = Math.ceil(Number(text) * 1_000);
  } else if (HTTP_DATE.test(text)) {
    // asctime carries no zone; HTTP dates are always GMT.
    const at = Date.parse(/GMT|UTC|[+-]\d{4}$/.test(text) ? text : `${text} GMT`);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  } else {
    return undefined;
  }
  if (!(ms > 0)) return 0;
  return Math.min(ms, capMs);
}

// What a thrown error's cause chain can show, strongest first.
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ESOCKETTIMEDOUT',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'ConnectTimeoutError', 'HeadersTimeoutError', 'BodyTimeoutError']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
// What Node's tls socket reports (checked against undici 7 and a node:https server): OpenSSL's
// verification codes as `code`, ERR_TLS_CERT_ALTNAME_INVALID for the name check, ERR_SSL_* (or
// EPROTO on older builds) when the handshake itself failed. Undici passes them on unwrapped; fetch
// wraps them in a TypeError's cause.
const TLS_CODES: ReadonlyMap<string, TlsDetail> = new Map([
  ['CERT_HAS_EXPIRED', TLS_DETAILS.expired],
  ['CERT_NOT_YET_VALID', TLS_DETAILS.notYetValid],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', TLS_DETAILS.unknownIssuer],
  ['SELF_SIGNED_CERT_IN_CHAIN', TLS_DETAILS.unknownIssuer],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', TLS_DETAILS.unknownIssuer],
  ['UNABLE_TO_GET_ISSUER_CERT', TLS_DETAILS.unknownIssuer],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', TLS_DETAILS.unknownIssuer],
  ['CERT_UNTRUSTED', TLS_DETAILS.unknownIssuer],
  ['ERR_TLS_CERT_ALTNAME_INVALID', TLS_DETAILS.nameMismatch],
  ['HOSTNAME_MISMATCH', TLS_DETAILS.nameMismatch],
  ['CERT_REVOKED', TLS_DETAILS.badCertificate],
  ['CERT_REJECTED', TLS_DETAILS.badCertificate],
  ['CERT_SIGNATURE_FAILURE', TLS_DETAILS.badCertificate],
  ['CERT_CHAIN_TOO_LONG', TLS_DETAILS.badCertificate],
  ['INVALID_CA', TLS_DETAILS.badCertificate],
  ['INVALID_PURPOSE', TLS_DETAILS.badCertificate],
  ['PATH_LENGTH_EXCEEDED', TLS_DETAILS.badCertificate],
  ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', TLS_DETAILS.badCertificate],
  ['UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', TLS_DETAILS.badCertificate],
  ['ERROR_IN_CERT_NOT_BEFORE_FIELD', TLS_DETAILS.badCertificate],
  ['ERROR_IN_CERT_NOT_AFTER_FIELD', TLS_DETAILS.badCertificate],
  ['ERR_TLS_HANDSHAKE_TIMEOUT', TLS_DETAILS.handshake],
  ['EPROTO', TLS_DETAILS.handshake],
]);
/** OpenSSL errors surface as ERR_SSL_<reason> (ERR_SSL_WRONG_VERSION_NUMBER, ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE, …). */
const SSL_CODE_PREFIX = 'ERR_SSL_';

function tlsDetailOf(code: string): TlsDetail | undefined {
  return TLS_CODES.get(code) ?? (code.startsWith(SSL_CODE_PREFIX) ? TLS_DETAILS.handshake : undefined);
}

const ABORT_CODES = new Set(['ABORT_ERR', 'UND_ERR_ABORTED']);
const ABORT_NAMES = new Set(['AbortError', 'RequestAbortedError']);
const INVALID_REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
]);

/** The sender's EgressDeniedError: the request was refused before it was sent. */
const EGRESS_DENIED_CODE = 'ERR_EGRESS_DENIED';
/** The sender's InvalidHeaderError: a header value HTTP cannot carry, refused before it was sent. */
const INVALID_HEADER_CODE = 'ERR_INVALID_HEADER';

// TLS above network: when one address family was refused and the other answered with a bad
// certificate, the certificate is what the operator must fix.
// A token failure names itself whatever its cause (the token endpoint's network error, TLS, timeout).
const Rank = { unexpected: 0, invalidRequest: 1, invalidHeader: 2, egressDenied: 3, aborted: 4, network: 5, tls: 6, timeout: 7, oauthToken: 8, shutdown: 9 } as const;
type Rank = (typeof Rank)[keyof typeof Rank];

function rankOf(candidate: object): Rank {
  if (candidate instanceof ShutdownError || (candidate as Error).name === 'ShutdownError') return Rank.shutdown;
  const code = (candidate as { code?: unknown }).code;
  const name = (candidate as { name?: unknown }).name;
  if (typeof code === 'string') {
    if (code === RETRYABLE_CODES.oauthToken) return Rank.oauthToken;
    if (TIMEOUT_CODES.has(code)) return Rank.timeout;
    if (NETWORK_CODES.has(code)) return Rank.network;
    if (tlsDetailOf(code) !== undefined) return Rank.tls;
  }
  if (typeof name === 'string' && TIMEOUT_NAMES.has(name)) return Rank.timeout;
  if ((typeof code === 'string' && ABORT_CODES.has(code)) || (typeof name === 'string' && ABORT_NAMES.has(name))) return Rank.aborted;
  if (code === EGRESS_DENIED_CODE) return Rank.egressDenied;
  if (code === INVALID_HEADER_CODE) return Rank.invalidHeader;
  if (typeof code === 'string' && INVALID_REQUEST_CODES.has(code)) return Rank.invalidRequest;
  return Rank.unexpected;
}

function strongestRank(error: unknown): Rank {
  let rank: Rank = Rank.unexpected;
  someInCauseChain(error, (candidate) => {
    const found = rankOf(candidate);
    if (found > rank) rank = found;
    return rank === Rank.shutdown;
  });
  return rank;
}

function classifyError(error: unknown, signal: { readonly aborted: boolean; readonly reason?: unknown } | undefined): RetryableDeliveryError | PermanentDeliveryError {
  if (signal?.aborted) {
    return isShutdownAbort(signal.reason) || isShutdownAbort(error)
      ? new RetryableDeliveryError(RETRYABLE_CODES.shutdown, 'request cancelled: daemon is shutting down', { cause: error })
      : new RetryableDeliveryError(RETRYABLE_CODES.aborted, 'request cancelled by its caller', { cause: error });
  }
  const rank = strongestRank(error);
  const message = describe(error);
  switch (rank) {
    case Rank.shutdown:
      return new RetryableDeliveryError(RETRYABLE_CODES.shutdown, message, { cause: error });
    case Rank.timeout:
      return new RetryableDeliveryError(RETRYABLE_CODES.timeout, message, { cause: error });
    case Rank.oauthToken:
      return oauthTokenFailure(error);
    case Rank.tls:
      return tlsFailure(error);
    case Rank.network:
      return new RetryableDeliveryError(RETRYABLE_CODES.network, message, { cause: error });
    case Rank.aborted:
      return new RetryableDeliveryError(RETRYABLE_CODES.aborted, message, { cause: error });
    case Rank.egressDenied:
      return new PermanentDeliveryError(PERMANENT_CODES.egressDenied, message, { cause: error });
    case Rank.invalidHeader:
      return new PermanentDeliveryError(PERMANENT_CODES.invalidHeader, invalidHeaderMessage(error), { cause: error });
    case Rank.invalidRequest:
      return new PermanentDeliveryError(PERMANENT_CODES.invalidRequest, message, { cause: error });
    default:
      return new PermanentDeliveryError(PERMANENT_CODES.unexpected, message, { cause: error });
  }
}

/** The sender's own line (header, what it holds, the fix), without the code in front: the reason code says it. */
function invalidHeaderMessage(error: unknown): string {
  let message = '';
  someInCauseChain(error, (candidate) => ((candidate as { code?: unknown }).code === INVALID_HEADER_CODE ? ((message = (candidate as Error).message), true) : false));
  return message;
}

/** The first token failure in the chain: its own message, and the token endpoint's Retry-After. */
function oauthTokenFailure(error: unknown): RetryableDeliveryError {
  let found: (Error & { retryAfterMs?: unknown }) | undefined;
  someInCauseChain(error, (candidate) => ((candidate as { code?: unknown }).code === RETRYABLE_CODES.oauthToken ? ((found = candidate as Error), true) : false));
  const retryAfterMs = typeof found?.retryAfterMs === 'number' ? found.retryAfterMs : undefined;
  return new RetryableDeliveryError(RETRYABLE_CODES.oauthToken, found?.message || 'no OAuth token', { retryAfterMs, cause: error });
}

/** `tls <detail>: <Node's message> (<code>)`, from the first TLS error in the chain: the detail leads
 *  so a dead letter's message and a log line say at a glance what to fix. */
function tlsFailure(error: unknown): RetryableDeliveryError {
  let found: { code: string; detail: TlsDetail; message: string } | undefined;
  someInCauseChain(error, (candidate) => {
    const code = (candidate as { code?: unknown }).code;
    const detail = typeof code === 'string' ? tlsDetailOf(code) : undefined;
    if (detail !== undefined) found = { code: code as string, detail, message: (candidate as Error).message ?? '' };
    return found !== undefined;
  });
  const { code, detail, message } = found!;
  // OpenSSL's messages carry a source location after the reason ("…:wrong version number:../deps/…"): keep the reason.
  const text = (message.split('\n')[0].match(/SSL routines:[^:]*:([^:]+)/)?.[1] ?? message.split('\n')[0]).trim();
  return new RetryableDeliveryError(RETRYABLE_CODES.tls, `tls ${detail}: ${text || code} (${code})`, { detail, cause: error });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message || error.name;
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
  }
  return String(error);
}
