// Google's service-account JWT grant (Pub/Sub), one scheme of the auth seam (daemon/auth registers googleServiceAccountScheme).
export { readServiceAccountKey, signedAssertion, JWT_BEARER_GRANT_TYPE, type ServiceAccountKey, type AssertionClaims } from './service-account-jwt.js';
export { googleServiceAccountScheme, googleDefinitionProblems, assertionTokenRequest } from './google-service-account-scheme.js';
