// Where a request meets its sync's token: the token is awaited before the request is sent and put on
// a copy of it as Authorization: Bearer; a 401 drops that token and the request is sent once more
// with a fresh one (a second 401 is the answer). The token is remembered with the rendered request
// as a string derived from the secrets, so a dead letter, a span or a printed response that quotes
// it is redacted. Previews never fetch one: they show OAUTH_TOKEN_PLACEHOLDER.
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import type { SendResponse } from '../send/index.js';
import { OAuthToken, type TokenSend } from './oauth-token.js';
import { renderTokenRequest } from './token-request.js';

/** What a preview and the examples show instead of a token (the form of a masked secret parameter). */
export const OAUTH_TOKEN_PLACEHOLDER = '<secret:oauth_token>';

/** The part of a loaded sync a token needs (a LoadedSync is one). */
export interface OAuthSync {
  destination: { definition: DestinationDefinition };
  parameters: { values: Record<string, unknown>; secretValues: readonly string[] };
}

/** One token per loaded sync: a reload makes new sync objects, so new credentials get a new token. */
const tokens = new WeakMap<OAuthSync, OAuthToken>();

/** The sync's token source, or undefined when its destination has no oauth block. */
export function oauthTokenFor(sync: OAuthSync): OAuthToken | undefined {
  const oauth = sync.destination.definition.oauth;
  if (oauth === undefined) return undefined;
  let token = tokens.get(sync);
  if (token === undefined) {
    const { values, secretValues } = sync.parameters;
    token = new OAuthToken({ request: () => renderTokenRequest(oauth, values, secretValues), secrets: secretValues });
    tokens.set(sync, token);
  }
  return token;
}

export interface OAuthSendOptions {
  /** Sends the destination's request (the copy with the bearer). */
  send: (request: RenderedRequest) => Promise<SendResponse>;
  /** Sends the token request. */
  sendToken: TokenSend;
  /** Told of the 401 that is about to be retried with a fresh token (the caller ends its span). */
  unauthorized?: (response: SendResponse) => void;
}

/** Sends `request` with the sync's bearer token; rejects with OAuthTokenError when no token can be had. */
export async function sendWithOAuth(token: OAuthToken, request: RenderedRequest, options: OAuthSendOptions): Promise<SendResponse> {
  const used = await token.get(options.sendToken);
  const response = await options.send(withBearer(request, used));
  if (response.status !== 401) return response;
  options.unauthorized?.(response);
  token.invalidate(used);
  const fresh = await token.get(options.sendToken);
  return options.send(withBearer(request, fresh));
}

/** A copy of the request with the bearer; the token joins the request's derived secrets (the copy shares them). */
export function withBearer(request: RenderedRequest, token: string): RenderedRequest {
  const derived = derivedSecretsOf(request);
  if (!derived.includes(token)) rememberDerivedSecrets(request, [...derived, token]);
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
}

/** For preview and the examples: the request as it would go, with the placeholder instead of a token. */
export function withOAuthPlaceholder(definition: DestinationDefinition, request: RenderedRequest): RenderedRequest {
  if (definition.oauth === undefined) return request;
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${OAUTH_TOKEN_PLACEHOLDER}` } };
}
