export { resolveSecretRef, isSecretRef, describeSecretRef, redact, REDACTED, SecretUnresolvedError, type SecretRef } from './resolve-secret.js';
