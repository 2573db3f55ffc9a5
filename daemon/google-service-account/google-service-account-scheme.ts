// Google's service-account JWT grant as a request-authentication scheme (daemon/auth). The token is
// owned by the OAuth2 area's OAuthToken (one owner for caching a token: fetched on first use, kept
// until shortly before expires_in, one fetch however many wait, dropped on a 401); this scheme only
// says how its token request is made: a JWT signed with the service account's key, fresh for each
// fetch (its iat and exp), form-posted to the token endpoint (RFC 7523 section 2.1). The key is read
// once per loaded sync; previews fetch nothing and show the same placeholder as OAuth2.
import type { DestinationDefinition, GoogleServiceAccount } from '../../schema/generated/destination.js';
import { type AuthDefinitionProblem, type AuthScheme, type AuthTemplateSource } from '../auth/auth-scheme.js';
import { DEFAULT_GOOGLE_ASSERTION_LIFETIME_S, DEFAULT_GOOGLE_TOKEN_URL } from '../defaults.js';
import { bearerAuth, OAUTH_TOKEN_PLACEHOLDER, OAuthToken, OAuthTokenError } from '../oauth/index.js';
import { compileTemplate, parseTemplate, variablesBeyondParameters, type CompiledTemplate, type RenderedRequest } from '../render/index.js';
import { redact } from '../secrets/index.js';
import { JWT_BEARER_GRANT_TYPE, readServiceAccountKey, signedAssertion, type ServiceAccountKey } from './service-account-jwt.js';

const OWNED_HEADERS = [{ name: 'authorization', secret: true }] as const;
const BEARER = 'Bearer ';

export const googleServiceAccountScheme: AuthScheme = {
  name: 'google-service-account',
  uses: (definition) => definition.googleServiceAccount !== undefined,
  headers: () => OWNED_HEADERS,
  templateSources: (definition) => tokenUrlSource(definition),
  definitionProblems: googleDefinitionProblems,
  parametersUsed: (definition) => ({ label: 'google service account', names: definition.googleServiceAccount ? [definition.googleServiceAccount.key] : [] }),
  urlTemplates: (definition) => (definition.googleServiceAccount ? [{ source: tokenUrlOf(definition.googleServiceAccount), name: 'google tokenUrl' }] : []),
  prepare(sync, mode) {
    const google = sync.destination.definition.googleServiceAccount;
    if (google === undefined) return undefined;
    if (mode.mode === 'preview') return { stamp: (request) => ({ ...request, headers: { ...request.headers, authorization: `${BEARER}${OAUTH_TOKEN_PLACEHOLDER}` } }) };
    const { values, secretValues } = sync.parameters;
    const key = readServiceAccountKey(values[google.key], google.key);
    const secrets = [...secretValues, key.privateKeyPem];
    const token = new OAuthToken({ request: () => assertionTokenRequest(google, key, values, secrets, Date.now()), secrets });
    return bearerAuth(token);
  },
};

function tokenUrlOf(google: GoogleServiceAccount): string {
  return google.tokenUrl ?? DEFAULT_GOOGLE_TOKEN_URL;
}

const compiledUrls = new WeakMap<GoogleServiceAccount, CompiledTemplate>();

/**
 * The token request (RFC 7523 section 2.1): grant_type and the assertion, form-encoded. The
 * assertion is made for this fetch (iat now); it and the key stay out of every message.
 */
export function assertionTokenRequest(google: GoogleServiceAccount, key: ServiceAccountKey, parameters: Record<string, unknown>, secrets: readonly string[], now: number): RenderedRequest {
  let compiled = compiledUrls.get(google);
  if (compiled === undefined) {
    compiled = compileTemplate(tokenUrlOf(google), 'destination.json#/googleServiceAccount/tokenUrl');
    compiledUrls.set(google, compiled);
  }
  let url: URL;
  try {
    url = new URL(compiled.render({ parameters }));
  } catch (error) {
    throw new OAuthTokenError(`cannot build the token request: ${redact((error as Error).message, secrets)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OAuthTokenError(`the token URL is not an http(s) URL (${url.protocol})`);
  const assertion = signedAssertion(key, {
    issuer: key.clientEmail,
    scope: google.scope,
    audience: url.href,
    issuedAt: Math.floor(now / 1_000),
    lifetimeSeconds: DEFAULT_GOOGLE_ASSERTION_LIFETIME_S,
  });
  return {
    method: 'POST',
    url: url.href,
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams([['grant_type', JWT_BEARER_GRANT_TYPE], ['assertion', assertion]]).toString(),
  };
}

function tokenUrlSource(definition: DestinationDefinition): AuthTemplateSource[] {
  const tokenUrl = definition.googleServiceAccount?.tokenUrl;
  return tokenUrl === undefined ? [] : [{ key: 'googleServiceAccount tokenUrl', label: 'Google token URL', source: tokenUrl, pointer: '/googleServiceAccount/tokenUrl' }];
}

/** What loading checks of the googleServiceAccount block. */
export function googleDefinitionProblems(definition: DestinationDefinition, compiled: (source: AuthTemplateSource) => boolean): AuthDefinitionProblem[] {
  const google = definition.googleServiceAccount;
  if (google === undefined) return [];
  const problems: AuthDefinitionProblem[] = [];
  const declared = definition.parameters ?? [];
  const parameter = declared.find((candidate) => candidate.name === google.key);
  if (!parameter) problems.push({ pointer: '/googleServiceAccount/key', message: `"${google.key}" is not a declared parameter${declared.length ? ` (declared: ${declared.map((p) => p.name).join(', ')})` : ''}` });
  else if (!parameter.secret) problems.push({ pointer: '/googleServiceAccount/key', message: `parameter "${google.key}" must be declared "secret": true: a service account key is given by reference and never shown` });
  for (const source of tokenUrlSource(definition)) {
    if (!compiled(source)) continue;
    for (const symbol of variablesBeyondParameters(parseTemplate(source.source))) {
      problems.push({ pointer: source.pointer, message: `the ${source.label} template may use only parameters, but "${symbol.name}" is used (line ${symbol.line}, column ${symbol.column}): the token request is made before any event is read` });
    }
  }
  if (definition.oauth !== undefined) problems.push({ pointer: '/googleServiceAccount', message: 'googleServiceAccount and oauth both set Authorization: keep one' });
  for (const [pointer, headers] of [['/request/headers', definition.request.headers], ['/identify/headers', definition.identify?.headers]] as const) {
    for (const name of Object.keys(headers ?? {})) {
      if (name.toLowerCase() === 'authorization') problems.push({ pointer: `${pointer}/${name}`, message: 'with "googleServiceAccount" the daemon sends Authorization: Bearer with the token it fetched: remove this header' });
    }
  }
  return problems;
}
