// The Standard Webhooks signature (standardwebhooks.com, v1): HMAC-SHA256 over `id.timestamp.body`
// with a symmetric key, base64, written `v1,<signature>`; several keys give several signatures,
// separated by spaces, so a receiver that knows either key accepts the request while a key rotates.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** A key is written `whsec_` then its bytes in base64 (the form Svix and the spec's libraries print). */
export const SIGNING_SECRET_PREFIX = 'whsec_';
/** The spec's advice for a key's size: 24 to 64 random bytes. */
export const SIGNING_KEY_BYTES = { min: 24, max: 64 } as const;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** A value that is not a Standard Webhooks secret. The message says what is wrong, never the value. */
export class SigningSecretError extends Error {
  override name = 'SigningSecretError';
  constructor(
    message: string,
    /** The parameter that holds the value, once known. */
    readonly parameter?: string,
  ) {
    super(message);
  }
}

/** The key of a `whsec_…` secret, ready for HMAC. Throws SigningSecretError. */
export function signingKey(secret: string): KeyObject {
  if (!secret.startsWith(SIGNING_SECRET_PREFIX)) {
    throw new SigningSecretError(`a signing secret starts with "${SIGNING_SECRET_PREFIX}" followed by the key in base64`);
  }
  const encoded = secret.slice(SIGNING_SECRET_PREFIX.length);
  // Buffer.from(…, 'base64') skips characters it does not know: check first, or a typo would sign with another key.
  if (!BASE64.test(encoded)) throw new SigningSecretError(`the key after "${SIGNING_SECRET_PREFIX}" is not base64`);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length < SIGNING_KEY_BYTES.min || bytes.length > SIGNING_KEY_BYTES.max) {
    throw new SigningSecretError(`the key is ${bytes.length} bytes; Standard Webhooks keys are ${SIGNING_KEY_BYTES.min} to ${SIGNING_KEY_BYTES.max} random bytes`);
  }
  return createSecretKey(bytes);
}

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, the body as the UTF-8 bytes the sender writes. */
export function webhookSignature(key: KeyObject, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64')}`;
}
