export { resolveSecretRef, isSecretRef, describeSecretRef, SecretUnresolvedError, type SecretRef } from './resolve-secret.js';
export { redact, redactorFor, secretForms, Redactor, REDACTED } from './redactor.js';
export { derivedSecretsOf, rememberDerivedSecrets } from './derived-secrets.js';
