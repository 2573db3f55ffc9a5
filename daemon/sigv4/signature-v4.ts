// AWS Signature Version 4, header form (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
// the canonical request (method, URI-encoded path, sorted query, canonical headers, signed header
// names, the payload's SHA-256), the string to sign (algorithm, time, credential scope, hash of the
// canonical request), the signing key (HMAC chain "AWS4"+secret → day → region → service →
// "aws4_request") and the signature. Pure: the scheme (sigv4-scheme.ts) decides what is signed and when.
import { createHash, createHmac } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What one signature covers. `headers` are the headers to sign, lower-case names (host included). */
export interface SigV4Input {
  method: string;
  url: URL;
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body. */
  payloadHash: string;
  /** x-amz-date's form: 20150830T123600Z. */
  amzDate: string;
  region: string;
  service: string;
}

export interface SigV4Signature {
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
  authorization: string;
}

/** Hex SHA-256 of a body (its UTF-8 bytes, as the sender writes them). */
export function payloadHash(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The ISO 8601 basic form AWS signs with (x-amz-date), in UTC, to the second. */
export function amzDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - _ . ~), as SigV4 wants. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The path as AWS's services other than S3 canonicalise it: each segment of the path as sent (the
 * WHATWG URL has already removed dot segments and percent-encoded it once) encoded again.
 */
function canonicalUri(url: URL): string {
  const path = url.pathname === '' ? '/' : url.pathname;
  return path.split('/').map(uriEncode).join('/');
}

/** Query parameters decoded, each name and value encoded, sorted by name then value. */
function canonicalQuery(url: URL): string {
  const raw = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  if (raw === '') return '';
  const pairs = raw
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const name = at === -1 ? pair : pair.slice(0, at);
      const value = at === -1 ? '' : pair.slice(at + 1);
      return [uriEncode(decodeQueryPart(name)), uriEncode(decodeQueryPart(value))] as const;
    });
  pairs.sort(([nameA, valueA], [nameB, valueB]) => (nameA < nameB ? -1 : nameA > nameB ? 1 : valueA < valueB ? -1 : valueA > valueB ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** A header value as signed: leading and trailing space removed, inner runs of spaces made one. */
function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** The signing key of a day, region and service: kept, so an attempt costs the two HMACs of the signature, not five. */
const keys = new Map<string, Buffer>();
const MAX_KEPT_KEYS = 64;

function signingKey(secretAccessKey: string, day: string, region: string, service: string): Buffer {
  const id = `${day}\n${region}\n${service}\n${secretAccessKey}`;
  let key = keys.get(id);
  if (key === undefined) {
    const dateKey = createHmac('sha256', `AWS4${secretAccessKey}`).update(day).digest();
    const regionKey = createHmac('sha256', dateKey).update(region).digest();
    const serviceKey = createHmac('sha256', regionKey).update(service).digest();
    key = createHmac('sha256', serviceKey).update('aws4_request').digest();
    // Bounded: a day's keys for the syncs of one process; the oldest goes first.
    if (keys.size >= MAX_KEPT_KEYS) keys.delete(keys.keys().next().value as string);
    keys.set(id, key);
  }
  return key;
}

/** The signature of `input` with `credentials`, and the steps that lead to it (the test suite checks each). */
export function signV4(input: SigV4Input, credentials: Pick<SigV4Credentials, 'accessKeyId' | 'secretAccessKey'>): SigV4Signature {
  const names = Object.keys(input.headers)
    .map((name) => name.toLowerCase())
    .sort();
  const byName = new Map(Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(input.url),
    canonicalQuery(input.url),
    names.map((name) => `${name}:${canonicalHeaderValue(byName.get(name) ?? '')}\n`).join(''),
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, input.amzDate, scope, payloadHash(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, day, input.region, input.service)).update(stringToSign).digest('hex');
  const authorization = `${SIGV4_ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { canonicalRequest, stringToSign, signedHeaders, signature, authorization };
}
