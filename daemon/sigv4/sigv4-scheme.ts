// AWS Signature Version 4 as a request-authentication scheme (daemon/auth): the credentials are read
// once per loaded sync, and every attempt is signed right before it is sent, with the attempt's own
// x-amz-date (AWS refuses a request signed more than 15 minutes off, and a retry may come hours
// later). The request is updated in place, so a dead letter describes what was last sent (its
// Authorization redacted whole, as a secret header). The signature is remembered as derived from a
// secret, so an answer that echoes it is redacted too. A 403 SignatureDoesNotMatch is an answer
// (classify: permanent), not a reason to sign again: no `refused`.
import { AuthSettingsError, type AuthDefinitionProblem, type AuthScheme, type RequestAuth } from '../auth/auth-scheme.js';
import type { AwsSigV4, DestinationDefinition } from '../../schema/generated/destination.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import { amzDate, payloadHash, signV4, SIGV4_ALGORITHM, type SigV4Credentials } from './signature-v4.js';

export const SIGV4_HEADERS = {
  authorization: 'authorization',
  date: 'x-amz-date',
  contentSha256: 'x-amz-content-sha256',
  securityToken: 'x-amz-security-token',
} as const;

const OWNED_HEADERS = [
  { name: SIGV4_HEADERS.authorization, secret: true },
  { name: SIGV4_HEADERS.securityToken, secret: true },
  { name: SIGV4_HEADERS.date, secret: false },
  { name: SIGV4_HEADERS.contentSha256, secret: false },
] as const;

/** Headers a template must not set: the scheme's, and host (signed as the URL gives it, as undici sends it). */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([...OWNED_HEADERS.map((header) => header.name), 'host']);

/** How a preview shows the signature: never one made from a masked secret. */
export const SIGV4_SIGNATURE_PLACEHOLDER = (parameter: string) => `<signature:${parameter}>`;

const ACCESS_KEY_ID = /^[A-Za-z0-9]{1,128}$/;
const SECRET_TEXT = /^[\x21-\x7e]+$/;
const REGION = /^[a-z0-9-]{1,64}$/;

export const sigv4Scheme: AuthScheme = {
  name: 'aws-sigv4',
  uses: (definition) => definition.awsSigV4 !== undefined,
  headers: () => OWNED_HEADERS,
  definitionProblems: (definition) => sigv4DefinitionProblems(definition),
  parametersUsed: (definition) => ({ label: 'aws sigv4', names: definition.awsSigV4 ? credentialNames(definition.awsSigV4) : [] }),
  prepare(sync, mode) {
    const sigv4 = sync.destination.definition.awsSigV4;
    if (sigv4 === undefined) return undefined;
    if (mode.mode === 'preview') {
      const values = mode.parameters;
      const masked = [sigv4.accessKeyId, sigv4.secretAccessKey, sigv4.sessionToken].some((name) => name !== undefined && mode.isPlaceholder(name, values[name]));
      if (masked) return previewSigning(sigv4, values);
      return signing(sigv4, readCredentials(sigv4, values), String(values[sigv4.region] ?? ''));
    }
    return signing(sigv4, readCredentials(sigv4, sync.parameters.values), readRegion(sigv4, sync.parameters.values));
  },
};

function credentialNames(sigv4: AwsSigV4): string[] {
  return [sigv4.accessKeyId, sigv4.secretAccessKey, ...(sigv4.sessionToken ? [sigv4.sessionToken] : []), sigv4.region];
}

/** The credentials a sync gives; AuthSettingsError naming the parameter, never its value. */
function readCredentials(sigv4: AwsSigV4, values: Record<string, unknown>): SigV4Credentials {
  const accessKeyId = values[sigv4.accessKeyId];
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) {
    throw new AuthSettingsError('aws_credentials', `parameter ${sigv4.accessKeyId} is not an AWS access key id (letters and digits, like AKIA…)`, sigv4.accessKeyId);
  }
  const secretAccessKey = values[sigv4.secretAccessKey];
  if (typeof secretAccessKey !== 'string' || !SECRET_TEXT.test(secretAccessKey)) {
    throw new AuthSettingsError('aws_credentials', `parameter ${sigv4.secretAccessKey} is not an AWS secret access key (visible characters, no spaces)`, sigv4.secretAccessKey);
  }
  const sessionToken = sigv4.sessionToken === undefined ? undefined : values[sigv4.sessionToken];
  if (sessionToken !== undefined && sessionToken !== '' && (typeof sessionToken !== 'string' || !SECRET_TEXT.test(sessionToken))) {
    throw new AuthSettingsError('aws_credentials', `parameter ${sigv4.sessionToken} is not an AWS session token (visible characters, no spaces)`, sigv4.sessionToken);
  }
  return { accessKeyId, secretAccessKey, ...(typeof sessionToken === 'string' && sessionToken !== '' ? { sessionToken } : {}) };
}

function readRegion(sigv4: AwsSigV4, values: Record<string, unknown>): string {
  const region = values[sigv4.region];
  if (typeof region !== 'string' || !REGION.test(region)) throw new AuthSettingsError('aws_credentials', `parameter ${sigv4.region} is not an AWS region (us-east-1)`, sigv4.region);
  return region;
}

/** The headers signed: host, content-type and every x-amz-* header the request carries once stamped. */
function headersToSign(request: RenderedRequest, url: URL): Record<string, string> {
  const signed: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-type' || lower.startsWith('x-amz-')) signed[lower] = value;
  }
  return signed;
}

function signing(sigv4: AwsSigV4, credentials: SigV4Credentials, region: string): RequestAuth {
  return {
    stamp(request, attempt) {
      const url = new URL(request.url);
      const previous = request.headers[SIGV4_HEADERS.authorization];
      const date = amzDate(attempt.now);
      const hash = payloadHash(request.body);
      request.headers[SIGV4_HEADERS.date] = date;
      request.headers[SIGV4_HEADERS.contentSha256] = hash;
      if (credentials.sessionToken !== undefined) request.headers[SIGV4_HEADERS.securityToken] = credentials.sessionToken;
      const signed = signV4({ method: request.method, url, headers: headersToSign(request, url), payloadHash: hash, amzDate: date, region, service: sigv4.service }, credentials);
      request.headers[SIGV4_HEADERS.authorization] = signed.authorization;
      // The signature (and the whole header, which holds it) derived from the secret key: an echo of either is redacted.
      const stale = previous === undefined ? [] : [previous, previous.slice(previous.lastIndexOf('=') + 1)];
      const derived = derivedSecretsOf(request).filter((value) => !stale.includes(value));
      rememberDerivedSecrets(request, [...derived, signed.signature]);
      return request;
    },
  };
}

/** A preview's stamp: the headers as they would go, the credential and signature as placeholders. */
function previewSigning(sigv4: AwsSigV4, values: Record<string, unknown>): RequestAuth {
  return {
    stamp(request, attempt) {
      const url = new URL(request.url);
      const date = amzDate(attempt.now);
      request.headers[SIGV4_HEADERS.date] = date;
      request.headers[SIGV4_HEADERS.contentSha256] = payloadHash(request.body);
      const token = sigv4.sessionToken === undefined ? undefined : values[sigv4.sessionToken];
      if (token !== undefined && token !== '') request.headers[SIGV4_HEADERS.securityToken] = String(token);
      const signedHeaders = Object.keys(headersToSign(request, url)).sort().join(';');
      const scope = `${date.slice(0, 8)}/${String(values[sigv4.region] ?? '')}/${sigv4.service}/aws4_request`;
      request.headers[SIGV4_HEADERS.authorization] =
        `${SIGV4_ALGORITHM} Credential=${String(values[sigv4.accessKeyId])}/${scope}, SignedHeaders=${signedHeaders}, Signature=${SIGV4_SIGNATURE_PLACEHOLDER(sigv4.secretAccessKey)}`;
      return request;
    },
  };
}

/** What loading checks of the awsSigV4 block: the parameters it names, and no header of its own in a template. */
export function sigv4DefinitionProblems(definition: DestinationDefinition): AuthDefinitionProblem[] {
  const sigv4 = definition.awsSigV4;
  if (sigv4 === undefined) return [];
  const problems: AuthDefinitionProblem[] = [];
  const declared = definition.parameters ?? [];
  const named: Array<[keyof AwsSigV4, string | undefined, boolean]> = [
    ['accessKeyId', sigv4.accessKeyId, true],
    ['secretAccessKey', sigv4.secretAccessKey, true],
    ['sessionToken', sigv4.sessionToken, true],
    ['region', sigv4.region, false],
  ];
  for (const [field, name, secret] of named) {
    if (name === undefined) continue;
    const parameter = declared.find((candidate) => candidate.name === name);
    if (!parameter) problems.push({ pointer: `/awsSigV4/${field}`, message: `"${name}" is not a declared parameter${declared.length ? ` (declared: ${declared.map((p) => p.name).join(', ')})` : ''}` });
    else if (secret && !parameter.secret) problems.push({ pointer: `/awsSigV4/${field}`, message: `parameter "${name}" must be declared "secret": true: AWS credentials are given by reference and never shown` });
  }
  if (definition.oauth !== undefined || definition.googleServiceAccount !== undefined) {
    problems.push({ pointer: '/awsSigV4', message: 'awsSigV4 sets Authorization itself: it cannot be used with oauth or googleServiceAccount' });
  }
  for (const [request, headers] of [['request', definition.request.headers], ['identify', definition.identify?.headers]] as const) {
    for (const name of Object.keys(headers ?? {})) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) {
        problems.push({ pointer: `/${request}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: `header ${name} is set by "awsSigV4" when each attempt is signed: remove it from the headers` });
      }
    }
  }
  return problems;
}
