// Request signing (Standard Webhooks): the registry signs what it renders, the consumer renews the
// signature before each attempt. Other areas import only from here.
export { signingKey, webhookSignature, SigningSecretError, WEBHOOK_HEADERS, SIGNING_SECRET_PREFIX, SIGNING_KEY_BYTES } from './standard-webhooks.js';
export { signingKeys, signRequest, restampSignature, SIGNATURE_PLACEHOLDER, type SigningKey, type SigningSync } from './request-signing.js';
export { signingDefinitionProblems, signingSecretProblems, type SigningDefinitionProblem, type SigningSecretProblem } from './signing-problems.js';
