// Where a request meets its sync's token (applied by the oauth2 scheme of the auth seam,
// oauth-scheme.ts): the token is put on a copy of the request as Authorization: Bearer. The token is remembered with the rendered request
// as a string derived from the secrets, so a dead letter, a span or a printed response that quotes
// it is redacted. Previews never fetch one: they show OAUTH_TOKEN_PLACEHOLDER.
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import { OAuthToken } from './oauth-token.js';
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
