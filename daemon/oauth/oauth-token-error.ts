// A token that could not be had: the endpoint failed, answered without a usable token, or the token
// request could not be built. Its `code` is the reason classify() reads: a retryable failure of the
// sync, `oauth_token` in dead letters and in destinations_request_failures_total{reason}.

export const OAUTH_TOKEN_CODE = 'oauth_token' as const;

export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
  readonly code = OAUTH_TOKEN_CODE;
  /** The token endpoint's Retry-After (ms), when it asked to wait: it pauses the sync like the destination's would. */
  declare readonly retryAfterMs?: number;

  constructor(message: string, details: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}
