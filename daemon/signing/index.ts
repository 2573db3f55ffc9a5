// Request signing (Standard Webhooks), one scheme of the auth seam (daemon/auth registers
// standardWebhooksScheme): other areas reach it through the seam, its tests from here.
export { signingKey, webhookSignature, SigningSecretError, WEBHOOK_HEADERS, SIGNING_SECRET_PREFIX, SIGNING_KEY_BYTES } from './standard-webhooks.js';
export { signingKeys, signRequest, restampSignature, stampSignature, SIGNATURE_PLACEHOLDER, type SigningKey, type SigningSync } from './request-signing.js';
export { signingDefinitionProblems, signingSecretProblems, type SigningDefinitionProblem, type SigningSecretProblem } from './signing-problems.js';
export { standardWebhooksScheme } from './webhook-signing-scheme.js';
