// OAuth2 client credentials as a request-authentication scheme (daemon/auth): prepared once per
// loaded sync (its token source: a reload makes new syncs, so new credentials get a new token),
// stamped before each attempt with the token (fetched through the sync's sender, one fetch however
// many wait), and a 401 drops that token so the attempt is stamped again with a fresh one and sent
// once more (a second 401 is the answer). Previews fetch nothing: they show OAUTH_TOKEN_PLACEHOLDER.
import type { AuthScheme, RequestAuth } from '../auth/auth-scheme.js';
import { oauthDefinitionProblems, oauthTemplateSources } from './oauth-definition.js';
import { oauthTokenFor, withBearer, withOAuthPlaceholder } from './oauth-send.js';
import type { OAuthToken } from './oauth-token.js';
import { OAUTH_TOKEN_RESPONSE_BYTES } from './oauth-token.js';

const OWNED_HEADERS = [{ name: 'authorization', secret: true }] as const;
const BEARER = 'Bearer ';

export const oauth2Scheme: AuthScheme = {
  name: 'oauth2',
  uses: (definition) => definition.oauth !== undefined,
  headers: () => OWNED_HEADERS,
  templateSources: oauthTemplateSources,
  definitionProblems: oauthDefinitionProblems,
  urlTemplates: (definition) => (definition.oauth ? [{ source: definition.oauth.tokenUrl, name: 'oauth tokenUrl' }] : []),
  prepare(sync, mode) {
    if (sync.destination.definition.oauth === undefined) return undefined;
    if (mode.mode === 'preview') return { stamp: (request) => withOAuthPlaceholder(sync.destination.definition, request) };
    return bearerAuth(oauthTokenFor(sync)!);
  },
};

/**
 * A request authenticated by a bearer token that `token` owns (fetched, cached, dropped on a 401):
 * OAuth2's grants here, and any scheme whose token request differs (Google's JWT grant).
 */
export function bearerAuth(token: OAuthToken): RequestAuth {
  return {
    // A copy with the bearer (withBearer remembers the token as derived from a secret): the rendered
    // request (what a dead letter stores) never holds a token.
    async stamp(request, attempt) {
      return withBearer(request, await token.get((tokenRequest) => attempt.exchange(tokenRequest, OAUTH_TOKEN_RESPONSE_BYTES)));
    },
    refused(response, stamped) {
      if (response.status !== 401) return false;
      token.invalidate(stamped.headers.authorization.slice(BEARER.length));
      return true;
    },
  };
}
