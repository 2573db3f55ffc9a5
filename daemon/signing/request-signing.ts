// Signing a rendered request as its destination's `signing` option says: the keys, and the stamp.
// The daemon, preview and send apply it through the auth seam (webhook-signing-scheme.ts);
// signRequest and restampSignature are the same two steps in one call each, for a caller that holds
// the keys (the scheme's own tests).
import { createHash, type KeyObject } from 'node:crypto';
import type { Signing } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import { signingKey, SigningSecretError, WEBHOOK_HEADERS, webhookSignature } from './standard-webhooks.js';

/** A key to sign with, or (in a preview) the name of the secret a signature would use. */
export type SigningKey = { parameter: string; key: KeyObject } | { parameter: string; placeholder: string };

/** What of a sync signing needs (a LoadedSync is one; the registry is not imported, it imports this). */
export interface SigningSync {
  destination: { definition: { signing?: Signing } };
  parameters: { values: Record<string, unknown> };
}

/** How a preview shows a signature: never a real one made from a masked secret. */
export const SIGNATURE_PLACEHOLDER = (parameter: string) => `v1,<signature:${parameter}>`;

/** Keys are parsed once per set of parameter values (a loaded sync's values object lives until a reload). */
const keysByValues = new WeakMap<object, readonly SigningKey[] | SigningSecretError>();

/**
 * The keys `signing` names, from these parameter values, in the order listed; a parameter without a
 * value is left out (an optional second key during a rotation). `isPlaceholder` tells a preview's
 * masked value (`<secret:NAME>`) from a key. Throws SigningSecretError naming the parameter.
 */
export function signingKeys(
  signing: Signing,
  values: Record<string, unknown>,
  isPlaceholder?: (parameter: string, value: unknown) => boolean,
): readonly SigningKey[] {
  let keys = isPlaceholder ? undefined : keysByValues.get(values);
  if (keys === undefined) {
    keys = readKeys(signing, values, isPlaceholder);
    if (!isPlaceholder) keysByValues.set(values, keys);
  }
  if (keys instanceof SigningSecretError) throw keys;
  return keys;
}

function readKeys(signing: Signing, values: Record<string, unknown>, isPlaceholder?: (parameter: string, value: unknown) => boolean): readonly SigningKey[] | SigningSecretError {
  const keys: SigningKey[] = [];
  for (const parameter of signing.secrets) {
    const value = values[parameter];
    if (value === undefined) continue;
    if (isPlaceholder?.(parameter, value)) {
      keys.push({ parameter, placeholder: SIGNATURE_PLACEHOLDER(parameter) });
      continue;
    }
    try {
      keys.push({ parameter, key: signingKey(String(value)) });
    } catch (error) {
      if (!(error instanceof SigningSecretError)) throw error;
      return new SigningSecretError(`parameter ${parameter} is not a Standard Webhooks signing secret: ${error.message}`, parameter);
    }
  }
  return keys;
}

/**
 * Adds webhook-id, webhook-timestamp and webhook-signature to a request just rendered (its own
 * headers object), and remembers the signatures as derived from a secret so that whatever is stored
 * about the request is redacted against them. Without a key (no secret given) it stays unsigned.
 * `id` is the event's insert_id or the batch's key in its header form (headerId: an id HTTP cannot
 * carry is `sha256:…`), so the id signed is the id sent; without one, a hash of the body, which a
 * re-render of the same events reproduces.
 */
export function signRequest(request: RenderedRequest, keys: readonly SigningKey[], id: string | undefined, now = Date.now()): RenderedRequest {
  if (keys.length === 0) return request;
  request.headers[WEBHOOK_HEADERS.id] = id ?? createHash('sha256').update(request.body).digest('hex').slice(0, 32);
  stampSignature(request, keys, Math.floor(now / 1_000));
  return request;
}

/**
 * Right before an attempt: renews the timestamp and the signature when the second has changed since
 * the request was signed (in the same second it is left as it is: no second HMAC). The request is
 * updated in place, so the dead letter and the trace describe what was last sent.
 */
export function restampSignature(sync: SigningSync, request: RenderedRequest, now = Date.now()): RenderedRequest {
  const signing = sync.destination.definition.signing;
  if (signing === undefined || request.headers[WEBHOOK_HEADERS.signature] === undefined) return request;
  const seconds = Math.floor(now / 1_000);
  if (request.headers[WEBHOOK_HEADERS.timestamp] === String(seconds)) return request;
  stampSignature(request, signingKeys(signing, sync.parameters.values), seconds);
  return request;
}

/** Sets webhook-timestamp and webhook-signature for `seconds` (the request's webhook-id is set), in place. */
export function stampSignature(request: RenderedRequest, keys: readonly SigningKey[], seconds: number): void {
  const id = request.headers[WEBHOOK_HEADERS.id];
  const previous = request.headers[WEBHOOK_HEADERS.signature]?.split(' ').map((signature) => signature.slice(3)) ?? [];
  const signatures: string[] = [];
  const derived: string[] = [];
  for (const key of keys) {
    if ('placeholder' in key) {
      signatures.push(key.placeholder);
      continue;
    }
    const signature = webhookSignature(key.key, id, seconds, request.body);
    signatures.push(signature);
    derived.push(signature.slice(3));
  }
  request.headers[WEBHOOK_HEADERS.timestamp] = String(seconds);
  request.headers[WEBHOOK_HEADERS.signature] = signatures.join(' ');
  if (derived.length > 0) rememberDerivedSecrets(request, [...derivedSecretsOf(request).filter((value) => !previous.includes(value)), ...derived]);
}
