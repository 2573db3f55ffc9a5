// The auth seam's public surface: request authentication (signing, OAuth2, …) for the daemon,
// preview, send and the loader. A scheme implements auth-scheme.ts and is registered in schemes.ts.
export {
  AuthSettingsError,
  type AuthScheme,
  type AuthSync,
  type AuthMode,
  type AuthAttempt,
  type RequestAuth,
  type OwnedHeader,
  type AuthDefinitionProblem,
  type AuthTemplateSource,
} from './auth-scheme.js';
export {
  syncAuth,
  SyncAuth,
  FOR_DELIVERY,
  authSettingsProblems,
  authSecretHeaders,
  authDefinitionProblems,
  authTemplateSources,
  authParameterUses,
  authUrlTemplates,
  type AuthenticatedSend,
  type AuthSettingsProblem,
} from './request-auth.js';
export { authSchemes, registerAuthScheme } from './schemes.js';
