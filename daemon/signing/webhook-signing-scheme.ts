// Standard Webhooks as a request-authentication scheme (daemon/auth): webhook-id is set once when the
// request is rendered (the id a receiver drops a duplicate by), the timestamp and the signature
// before each attempt, because a delivery retried in process sends the request it rendered minutes
// earlier and a receiver refuses a timestamp older than its tolerance (five minutes in the spec's
// libraries). The signature is a secret header: redacted whole wherever a request is stored.
import { createHash } from 'node:crypto';
import { AuthSettingsError, type AuthScheme, type RequestAuth } from '../auth/auth-scheme.js';
import type { RenderedRequest } from '../render/index.js';
import { signingKeys, stampSignature, type SigningKey } from './request-signing.js';
import { signingDefinitionProblems } from './signing-problems.js';
import { SigningSecretError, WEBHOOK_HEADERS } from './standard-webhooks.js';

const OWNED_HEADERS = [
  { name: WEBHOOK_HEADERS.id, secret: false },
  { name: WEBHOOK_HEADERS.timestamp, secret: false },
  { name: WEBHOOK_HEADERS.signature, secret: true },
] as const;

export const standardWebhooksScheme: AuthScheme = {
  name: 'standard-webhooks',
  uses: (definition) => definition.signing !== undefined,
  headers: () => OWNED_HEADERS,
  definitionProblems: (definition) => signingDefinitionProblems(definition),
  parametersUsed: (definition) => ({ label: 'signing', names: definition.signing?.secrets ?? [] }),
  prepare(sync, mode) {
    const signing = sync.destination.definition.signing;
    if (signing === undefined) return undefined;
    let keys: readonly SigningKey[];
    try {
      keys = mode.mode === 'preview' ? signingKeys(signing, mode.parameters, mode.isPlaceholder) : signingKeys(signing, sync.parameters.values);
    } catch (error) {
      if (error instanceof SigningSecretError) throw new AuthSettingsError('signing_secret', error.message, error.parameter);
      throw error;
    }
    // No key given (an optional one left out): the request goes unsigned.
    return keys.length === 0 ? undefined : webhookSigning(keys);
  },
};

function webhookSigning(keys: readonly SigningKey[]): RequestAuth {
  return {
    rendered(request: RenderedRequest, id: () => string | undefined) {
      // Without an id, a hash of the body, which a re-render of the same events reproduces.
      request.headers[WEBHOOK_HEADERS.id] = id() ?? createHash('sha256').update(request.body).digest('hex').slice(0, 32);
    },
    stamp(request, attempt) {
      const seconds = Math.floor(attempt.now / 1_000);
      // Signed in this second already: no second HMAC.
      if (request.headers[WEBHOOK_HEADERS.timestamp] !== String(seconds)) stampSignature(request, keys, seconds);
      return request;
    },
  };
}
