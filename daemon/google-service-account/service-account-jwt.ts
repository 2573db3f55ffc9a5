// Google's OAuth2 for service accounts (developers.google.com/identity/protocols/oauth2/service-account,
// "Preparing to make an authorized API call"; RFC 7523 section 2.1): the service account's JSON key,
// and the JWT assertion signed with it (RS256: RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 section 3.3)
// that the token endpoint exchanges for an access token.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { AuthSettingsError } from '../auth/auth-scheme.js';

/** RFC 7523 section 2.1: the grant type of a token request that carries a JWT assertion. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What of a service account's JSON key the grant uses. */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: KeyObject;
  /** The PEM text, a secret of its own: an error or an answer quoting it is redacted against it. */
  privateKeyPem: string;
  /** Sent as the JWT header's kid, so Google picks the right public key at once. */
  privateKeyId?: string;
}

export interface AssertionClaims {
  /** iss: the service account's email. */
  issuer: string;
  scope: string;
  /** aud: the token endpoint. */
  audience: string;
  /** iat, seconds since the epoch. */
  issuedAt: number;
  lifetimeSeconds: number;
}

/** The key in a parameter's value (the JSON Google's console downloads); AuthSettingsError naming the parameter, never its content. */
export function readServiceAccountKey(value: unknown, parameter: string): ServiceAccountKey {
  const fail = (why: string) => new AuthSettingsError('google_service_account', `parameter ${parameter} is not a Google service account key: ${why}`, parameter);
  let key: unknown;
  try {
    key = typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    throw fail('it is not JSON (give the key file Google downloads, e.g. { "file": "service-account.json" })');
  }
  if (key === null || typeof key !== 'object' || Array.isArray(key)) throw fail('it is not a JSON object');
  const { type, client_email: clientEmail, private_key: pem, private_key_id: privateKeyId } = key as Record<string, unknown>;
  if (type !== undefined && type !== 'service_account') throw fail(`its type is ${JSON.stringify(String(type).slice(0, 40))}, not "service_account"`);
  if (typeof clientEmail !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(clientEmail)) throw fail('client_email is missing or not an email');
  if (typeof pem !== 'string') throw fail('private_key is missing');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw fail('private_key is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw fail(`private_key is an ${privateKey.asymmetricKeyType ?? 'unknown'} key; RS256 needs an RSA key`);
  return { clientEmail, privateKey, privateKeyPem: pem, ...(typeof privateKeyId === 'string' && privateKeyId !== '' ? { privateKeyId } : {}) };
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** The signed JWT (header.claims.signature, each base64url), as the token request's assertion. */
export function signedAssertion(key: Pick<ServiceAccountKey, 'privateKey' | 'privateKeyId'>, claims: AssertionClaims): string {
  const header = { alg: 'RS256', typ: 'JWT', ...(key.privateKeyId === undefined ? {} : { kid: key.privateKeyId }) };
  const payload = { iss: claims.issuer, scope: claims.scope, aud: claims.audience, iat: claims.issuedAt, exp: claims.issuedAt + claims.lifetimeSeconds };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), key.privateKey))}`;
}
