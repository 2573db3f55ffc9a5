// A token that could not be had: the endpoint failed, answered without a usable token, or the token
// request could not be built. Its `code` is the reason classify() reads: a retryable failure of the
// sync, counted as `oauth_token` in destinations_request_failures_total{reason}; its message (which
// leads with the code) is the dead letter's when the retries are used up.

export const OAUTH_TOKEN_CODE = 'oauth_token' as const;

export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
  readonly code = OAUTH_TOKEN_CODE;
  /** The token endpoint's Retry-After (ms), when it asked to wait: it pauses the sync like the destination's would. */
  declare readonly retryAfterMs?: number;

  constructor(message: string, details: { cause?: unknown; retryAfterMs?: number } = {}) {
    // The code leads, as `tls <detail>:` does: a dead letter of retries used up says at once what failed.
    super(`${OAUTH_TOKEN_CODE}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}
