// The token request of a sync (RFC 6749 section 4.4.2), built from the destination's oauth templates
// and the sync's parameters: form-encoded with the client's credentials in HTTP Basic (section
// 2.3.1: each form-encoded, then base64) or in the body, or a JSON object (Salesforce Marketing
// Cloud's /v2/token). Nothing here is stored or printed: it is handed to the sender only.
import type { OAuthClientCredentials } from '../../schema/generated/destination.js';
import { compileTemplate, type CompiledTemplate, type RenderedRequest } from '../render/index.js';
import { redact } from '../secrets/index.js';
import { OAuthTokenError } from './oauth-token-error.js';

interface CompiledOAuth {
  tokenUrl: CompiledTemplate;
  clientId: CompiledTemplate;
  clientSecret: CompiledTemplate;
  /** Optional fields (scope, audience and `fields`), by the name they have in the request. */
  optional: Array<[string, CompiledTemplate]>;
}

/** Compiled once per loaded definition (the loader has already compiled and checked them). */
const compiledByDefinition = new WeakMap<OAuthClientCredentials, CompiledOAuth>();

function compiledOf(oauth: OAuthClientCredentials): CompiledOAuth {
  let compiled = compiledByDefinition.get(oauth);
  if (!compiled) {
    const compile = (source: string, field: string) => compileTemplate(source, `destination.json#/oauth/${field}`);
    const optional: Array<[string, CompiledTemplate]> = [];
    if (oauth.scope !== undefined) optional.push(['scope', compile(oauth.scope, 'scope')]);
    if (oauth.audience !== undefined) optional.push(['audience', compile(oauth.audience, 'audience')]);
    for (const [name, source] of Object.entries(oauth.fields ?? {})) optional.push([name, compile(source ?? '', `fields/${name}`)]);
    compiled = { tokenUrl: compile(oauth.tokenUrl, 'tokenUrl'), clientId: compile(oauth.clientId, 'clientId'), clientSecret: compile(oauth.clientSecret, 'clientSecret'), optional };
    compiledByDefinition.set(oauth, compiled);
  }
  return compiled;
}

/** One value form-encoded the way application/x-www-form-urlencoded writes it (spaces as +). */
function formEncoded(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** The token request; throws OAuthTokenError (with secrets redacted) when a template fails or the URL is no http(s) URL. */
export function renderTokenRequest(oauth: OAuthClientCredentials, parameters: Record<string, unknown>, secrets: readonly string[]): RenderedRequest {
  const compiled = compiledOf(oauth);
  const context = { parameters };
  let url: URL;
  let clientId: string;
  let clientSecret: string;
  const fields: Array<[string, string]> = [['grant_type', 'client_credentials']];
  try {
    url = new URL(compiled.tokenUrl.render(context));
    clientId = compiled.clientId.render(context);
    clientSecret = compiled.clientSecret.render(context);
    for (const [name, template] of compiled.optional) {
      const value = template.render(context);
      if (value !== '') fields.push([name, value]);
    }
  } catch (error) {
    throw new OAuthTokenError(`cannot build the token request: ${redact((error as Error).message, secrets)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OAuthTokenError(`the token URL is not an http(s) URL (${url.protocol})`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (oauth.bodyStyle === 'json') {
    const body: Record<string, string> = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret };
    for (const [name, value] of fields.slice(1)) body[name] = value;
    headers['content-type'] = 'application/json';
    return { method: 'POST', url: url.href, headers, body: JSON.stringify(body) };
  }
  if (oauth.clientAuthentication === 'body') {
    fields.push(['client_id', clientId], ['client_secret', clientSecret]);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${formEncoded(clientId)}:${formEncoded(clientSecret)}`).toString('base64')}`;
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return { method: 'POST', url: url.href, headers, body: new URLSearchParams(fields).toString() };
}
