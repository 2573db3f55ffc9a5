// The oauth area: OAuth2 client credentials for destinations whose API wants a bearer token, one scheme of the auth seam (daemon/auth registers oauth2Scheme).
export { oauthTemplateSources, oauthDefinitionProblems, type OAuthTemplateSource, type OAuthDefinitionProblem } from './oauth-definition.js';
export { OAuthToken, readTokenResponse, OAUTH_TOKEN_RESPONSE_BYTES, type TokenSend, type OAuthTokenOptions } from './oauth-token.js';
export { OAuthTokenError, OAUTH_TOKEN_CODE } from './oauth-token-error.js';
export { renderTokenRequest } from './token-request.js';
export { oauthTokenFor, withBearer, withOAuthPlaceholder, OAUTH_TOKEN_PLACEHOLDER, type OAuthSync } from './oauth-send.js';
export { oauth2Scheme, bearerAuth } from './oauth-scheme.js';
