// The oauth area's public surface: OAuth2 client credentials for destinations whose API wants a bearer token.
export { oauthTemplateSources, oauthDefinitionProblems, type OAuthTemplateSource, type OAuthDefinitionProblem } from './oauth-definition.js';
export { OAuthToken, readTokenResponse, DEFAULT_OAUTH_REFRESH_MARGIN_MS, DEFAULT_OAUTH_TOKEN_LIFETIME_MS, OAUTH_TOKEN_RESPONSE_BYTES, type TokenSend, type OAuthTokenOptions } from './oauth-token.js';
export { OAuthTokenError, OAUTH_TOKEN_CODE } from './oauth-token-error.js';
export { renderTokenRequest } from './token-request.js';
export { oauthTokenFor, sendWithOAuth, withBearer, withOAuthPlaceholder, OAUTH_TOKEN_PLACEHOLDER, type OAuthSync, type OAuthSendOptions } from './oauth-send.js';
