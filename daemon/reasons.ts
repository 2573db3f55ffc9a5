// The one vocabulary of reasons: every code an event or a delivery can end with (a dead letter's
// reason, a filtered event's), and every code a failed request is counted under (metrics, logs,
// traces). Producers take their codes from here (events/decode, render/context, delivery/classify
// through errors.ts, the delivery machine, the consumer); everything that shows a reason types it
// with these unions. A leaf beside defaults.ts, importing nothing: the producers live in five areas
// that depend on one another one way (events ← render ← delivery ← consumer), and each needs the
// vocabulary without importing the areas above it.
// Held to it by test/reasons/reasons.test.ts: the dead-letter schema's enum (both directions) and
// the reason table in docs/cli.md (both directions).

/** An event that cannot be read at all (decode): dead-lettered before any sync looks at it. */
export const EVENT_REJECTIONS = {
  /** Not UTF-8, not JSON, nested too deep, or not an event (schema/event.schema.json). */
  invalidEvent: 'invalid_event',
  /** Over the event size limit (the destination's limits.maxEventBytes, else the daemon's). */
  eventTooLarge: 'event_too_large',
} as const;
export type EventRejection = (typeof EVENT_REJECTIONS)[keyof typeof EVENT_REJECTIONS];

/** An event this sync cannot deliver as it is (render/context.ts): dead-lettered, not retried. */
export const EVENT_CONTEXT_REASONS = {
  /** A field mapping marked required found no value in the event. */
  missingRequiredField: 'missing_required_field',
  /** An identifier (user_id, a mapped identifier field) is longer than the destination accepts. */
  identifierTooLong: 'identifier_too_long',
} as const;
export type EventContextReason = (typeof EVENT_CONTEXT_REASONS)[keyof typeof EVENT_CONTEXT_REASONS];

/** The request could not be rendered: a template failed, or the sync cannot make it (unresolved secret, …). */
export const RENDER_FAILED = 'render_failed';
/** The rendered request breaks the destination's contract (daemon/contract): it was not sent. */
export const CONTRACT_VIOLATION = 'contract_violation';
/** Why a request could not be made: the event's context, the render itself, or the destination's contract. */
export type RenderFailureReason = EventContextReason | typeof RENDER_FAILED | typeof CONTRACT_VIOLATION;

/** Retryable failures of a request: the same request may succeed later. */
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

/** Permanent failures of a request: sending the same request again will fail again. */
export const PERMANENT_CODES = {
  /** Any non-2xx status that is not retryable: 4xx, 501, 3xx (redirects are not followed), 1xx. */
  http4xx: 'http_4xx',
  /** The request could not be built or sent as given (bad URL, invalid header value, …). */
  invalidRequest: 'invalid_request',
  /** A header value HTTP cannot carry, from a parameter or a template's text (event data is encoded): it was not sent. */
  invalidHeader: 'invalid_header',
  /** The request's host is outside the operator's egress allow-list: it was not sent. */
  egressDenied: 'egress_denied',
  /** A thrown error nobody recognises. Permanent so a bug cannot loop for four hours. */
  unexpected: 'unexpected',
} as const;
export type PermanentCode = (typeof PERMANENT_CODES)[keyof typeof PERMANENT_CODES];

/** A retryable failure on the last attempt the schedule allows: the delivery ends dead with this. */
export const RETRIES_EXHAUSTED = 'retries_exhausted';

/** Why a request failed: what `destinations_request_failures_total{reason}` and the failure log count. */
export const FAILURE_REASONS = { ...RETRYABLE_CODES, ...PERMANENT_CODES } as const;
export type FailureReason = RetryableCode | PermanentCode;

/** Why an event was dead-lettered: a dead letter's `reason` (schema/dead-letter.schema.json's enum). */
export const DEAD_LETTER_REASONS = {
  ...EVENT_REJECTIONS,
  ...EVENT_CONTEXT_REASONS,
  renderFailed: RENDER_FAILED,
  contractViolation: CONTRACT_VIOLATION,
  ...PERMANENT_CODES,
  retriesExhausted: RETRIES_EXHAUSTED,
} as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[keyof typeof DEAD_LETTER_REASONS];

/** Why an event was filtered other than by the sync's filter (`destinations_events_filtered_by_reason_total`). */
export const FILTER_REASONS = {
  /** Change-based identify: an identify that changes nothing the destination was last sent. */
  unchanged: 'unchanged',
} as const;
export type FilterReason = (typeof FILTER_REASONS)[keyof typeof FILTER_REASONS];

/** Every reason: what an event or a delivery can end with, and what a failed request is counted under. */
export const REASONS = { ...DEAD_LETTER_REASONS, ...RETRYABLE_CODES, ...FILTER_REASONS } as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** The reason a delivery records as it runs: a failed attempt's, then the one it ends with. */
export type DeliveryReason = DeadLetterReason | RetryableCode;

/** What held a delivery's events back (a span event's `by`): they go back to the stream unsent, costing no attempt. */
export const HOLD_REASONS = {
  /** The sync's circuit breaker is open. */
  circuitBreaker: 'circuit_breaker',
  /** ordering "user": an earlier event of the same user is still on its way. */
  userBarrier: 'user_barrier',
} as const;
export type HoldReason = (typeof HOLD_REASONS)[keyof typeof HOLD_REASONS];

const DEAD_LETTER_REASON_SET: ReadonlySet<string> = new Set(Object.values(DEAD_LETTER_REASONS));

export function isDeadLetterReason(reason: string | undefined): reason is DeadLetterReason {
  return reason !== undefined && DEAD_LETTER_REASON_SET.has(reason);
}

/** A dead delivery's reason as a dead letter states it. The machine always records a dead-letter reason
 *  before it reaches `dead`; anything else would be a bug, stated as `unexpected` (permanent). */
export function deadLetterReason(reason: string | undefined): DeadLetterReason {
  return isDeadLetterReason(reason) ? reason : PERMANENT_CODES.unexpected;
}
