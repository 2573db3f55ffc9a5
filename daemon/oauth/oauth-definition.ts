// What loading a destination checks of its `oauth` block (pure, called by the registry's loader):
// every field is a template that sees `parameters` only — the token request is made before any
// event is looked at, and the token URL decides where the client secret goes, so event data can
// never reach it — and a destination with a token must not set Authorization itself.
import { parseTemplate, variablesBeyondParameters } from '../render/index.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';

/** One oauth field as an inline template of destination.json, in the shape the loader compiles. */
export interface OAuthTemplateSource {
  key: string;
  /** What the DECLARED vs USED table calls it. */
  label: string;
  source: string;
  pointer: string;
}

export interface OAuthDefinitionProblem {
  pointer: string;
  message: string;
}

const FIELD_LABELS = { tokenUrl: 'OAuth token URL', clientId: 'OAuth client id', clientSecret: 'OAuth client secret', scope: 'OAuth scope', audience: 'OAuth audience' } as const;

/** The oauth block's templates (none without one), for compiling and for DECLARED vs USED. */
export function oauthTemplateSources(definition: DestinationDefinition): OAuthTemplateSource[] {
  const oauth = definition.oauth;
  if (!oauth) return [];
  const sources: OAuthTemplateSource[] = [];
  for (const [field, label] of Object.entries(FIELD_LABELS) as Array<[keyof typeof FIELD_LABELS, string]>) {
    const source = oauth[field];
    if (source !== undefined) sources.push({ key: `oauth ${field}`, label, source, pointer: `/oauth/${field}` });
  }
  for (const [name, source] of Object.entries(oauth.fields ?? {})) {
    sources.push({ key: `oauth field:${name}`, label: `OAuth field ${name}`, source: source ?? '', pointer: `/oauth/fields/${name.replace(/~/g, '~0').replace(/\//g, '~1')}` });
  }
  return sources;
}

/** Every problem of the oauth block; `compiled` says which sources compiled (the others have their own problem). */
export function oauthDefinitionProblems(definition: DestinationDefinition, compiled: (source: OAuthTemplateSource) => boolean): OAuthDefinitionProblem[] {
  const oauth = definition.oauth;
  if (!oauth) return [];
  const problems: OAuthDefinitionProblem[] = [];
  for (const source of oauthTemplateSources(definition)) {
    if (!compiled(source)) continue;
    for (const symbol of variablesBeyondParameters(parseTemplate(source.source))) {
      problems.push({
        pointer: source.pointer,
        message: `the ${source.label} template may use only parameters, but "${symbol.name}" is used (line ${symbol.line}, column ${symbol.column}): the token request is made before any event is read`,
      });
    }
  }
  if (oauth.bodyStyle === 'json' && oauth.clientAuthentication === 'basic') {
    problems.push({ pointer: '/oauth/clientAuthentication', message: 'a json token request carries the client id and secret in its body: remove clientAuthentication or use bodyStyle "form"' });
  }
  for (const [pointer, headers] of [['/request/headers', definition.request.headers], ['/identify/headers', definition.identify?.headers]] as const) {
    for (const name of Object.keys(headers ?? {})) {
      if (name.toLowerCase() !== 'authorization') continue;
      problems.push({ pointer: `${pointer}/${name}`, message: 'with "oauth" the daemon sends Authorization: Bearer with the token it fetched: remove this header' });
    }
  }
  return problems;
}




