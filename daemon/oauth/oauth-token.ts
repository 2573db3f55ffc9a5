// One sync's bearer token: fetched on first use, kept until shortly before `expires_in` runs out,
// fetched by one request at a time however many wait for it (they share its answer, or its
// failure), and dropped when the destination refuses it (401) so the next use fetches a new one.
import { parseRetryAfter } from '../delivery/index.js';
import type { RenderedRequest } from '../render/index.js';
import { redact } from '../secrets/index.js';
import type { SendResponse } from '../send/index.js';
import { OAuthTokenError } from './oauth-token-error.js';
import { DEFAULT_OAUTH_REFRESH_MARGIN_MS, DEFAULT_OAUTH_TOKEN_LIFETIME_MS } from '../defaults.js';

/** How much of a token response is read: a token (a JWT, say) and its fields fit many times over. */
export const OAUTH_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** Sends the token request: the daemon's HttpSender (egress allow-list, the sync's CA, timeouts), or `send`'s client. */
export type TokenSend = (request: RenderedRequest) => Promise<SendResponse>;

export interface OAuthTokenOptions {
  /** Builds the token request (from the sync's parameters); may throw OAuthTokenError. */
  request: () => RenderedRequest;
  /** The sync's secret values: an error quoting the endpoint's answer is redacted against them. */
  secrets: readonly string[];
  /** Milliseconds clock (Date.now); tests use mock timers. */
  now?: () => number;
}

export class OAuthToken {
  #token: string | undefined;
  #refreshAt = 0;
  #flight: Promise<string> | undefined;
  /** Token requests made (tests and the admin report read it). */
  fetches = 0;

  constructor(private readonly options: OAuthTokenOptions) {}

  /** The cached token, or the one being fetched, or a new fetch. Rejects with OAuthTokenError. */
  get(send: TokenSend): Promise<string> {
    const now = this.options.now ?? Date.now;
    if (this.#token !== undefined && now() < this.#refreshAt) return Promise.resolve(this.#token);
    this.#flight ??= this.#fetch(send).finally(() => (this.#flight = undefined));
    return this.#flight;
  }

  /** The destination refused `token`: forget it, unless a newer one has replaced it already. */
  invalidate(token: string): void {
    if (this.#token === token) this.#token = undefined;
  }

  async #fetch(send: TokenSend): Promise<string> {
    this.fetches += 1;
    const request = this.options.request();
    let response: SendResponse;
    try {
      response = await send(request);
    } catch (error) {
      const why = (error as { code?: string }).code ?? (error as Error).message;
      throw new OAuthTokenError(`token request to ${new URL(request.url).host} failed: ${redact(String(why), this.options.secrets)}`, { cause: error });
    }
    const { token, lifetimeMs } = readTokenResponse(response, new URL(request.url).host, this.options.secrets);
    const now = (this.options.now ?? Date.now)();
    this.#token = token;
    this.#refreshAt = now + lifetimeMs - Math.min(DEFAULT_OAUTH_REFRESH_MARGIN_MS, lifetimeMs / 10);
    return token;
  }
}

/** Token characters (RFC 6750 b64token, and any visible ASCII some servers use): nothing that could break a header. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/** The access token and how long to keep it, from a token endpoint's answer (RFC 6749 section 5.1 and 5.2). */
export function readTokenResponse(response: Pick<SendResponse, 'status' | 'headers' | 'bodyExcerpt'>, host: string, secrets: readonly string[]): { token: string; lifetimeMs: number } {
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(response.bodyExcerpt);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: said below
  }
  if (response.status < 200 || response.status > 299) {
    // RFC 6749 error codes (invalid_client, invalid_scope…) tell the operator what to fix; nothing else of the body is quoted.
    const code = typeof body?.error === 'string' ? `: ${redact(body.error.slice(0, 100), secrets)}` : '';
    throw new OAuthTokenError(`token endpoint ${host} answered HTTP ${response.status}${code}`, { retryAfterMs: parseRetryAfter(response.headers['retry-after']) });
  }
  const token = body?.access_token;
  if (typeof token !== 'string' || !TOKEN_TEXT.test(token)) throw new OAuthTokenError(`token endpoint ${host} answered HTTP ${response.status} without a usable access_token`);
  if (typeof body?.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw new OAuthTokenError(`token endpoint ${host} issued a ${JSON.stringify(body.token_type.slice(0, 40))} token, not a bearer token`);
  }
  const expiresIn = typeof body?.expires_in === 'string' ? Number(body.expires_in) : body?.expires_in;
  const lifetimeMs = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1_000 : DEFAULT_OAUTH_TOKEN_LIFETIME_MS;
  return { token, lifetimeMs };
}
