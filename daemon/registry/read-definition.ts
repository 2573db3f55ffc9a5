// destination.json with its templates and logo: checked against the schema, the templates compiled
// and checked (safety, DECLARED vs USED, URL confinement), the version hashed. Syncs and examples are
// read by read-sync.ts and examples.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { oauthDefinitionProblems, oauthTemplateSources } from '../oauth/index.js';
import { compileTemplate, TemplateMistakeError, TemplateSyntaxError, TemplateUnsafeError, type CompiledTemplate, type RequestTemplates } from '../render/index.js';
import { signingDefinitionProblems } from '../signing/index.js';
import { pngProblem } from './png.js';
import { pointerOf, type JsonDocument, type Problems } from './problems.js';
import { insideFolder, readJson } from './read-json.js';
import { checkAgainstSchema, show, validateDestinationFile } from './schemas.js';
import { findTemplateUses, type TemplateUses } from './template-uses.js';
import type { LoadedDestination, ParameterUsage } from './types.js';
import { reportUrlTemplateProblems } from './url-template-check.js';

/** A destination's slug: its folder name. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const DESTINATION_FILE = 'destination.json';
const DEFAULT_LOGO = 'logo.png';

interface TemplateSource {
  /** Which template: "url", "header:NAME", "body", "identify url", "identify header:NAME", "identify body". */
  key: string;
  /** What the DECLARED vs USED table and messages call it: "URL", "header Authorization", "body.njk". */
  label: string;
  source: string;
  compiled?: CompiledTemplate;
  /** A template file in the folder, or an inline template at a pointer of destination.json. */
  file?: string;
  pointer?: string;
  uses?: TemplateUses;
}

export function readDefinition(dir: string, problems: Problems): { destination?: LoadedDestination; parameterUsage?: ParameterUsage[] } {
  const slug = basename(dir);
  if (!SLUG_PATTERN.test(slug)) {
    problems.error(dir, `folder name "${slug}" is not a valid destination slug: it must match ${SLUG_PATTERN.source}`);
  }
  const file = join(dir, DESTINATION_FILE);
  if (!existsSync(file)) {
    problems.error(dir, `not a destination folder: ${DESTINATION_FILE} is missing`);
    return {};
  }
  const document = readJson(file, problems);
  if (!document || !checkAgainstSchema(document, validateDestinationFile, problems)) return {};
  const definition = document.value as DestinationDefinition;
  const before = problems.list.length;

  checkDeclarations(document, definition, problems);
  for (const problem of signingDefinitionProblems(definition)) problems.at(document, problem.pointer, problem.message);
  const templates = compileTemplates(dir, document, definition, problems);
  const parameterUsage = checkUses(document, definition, templates, problems);
  reportUrlTemplateProblems(document, templates, problems);
  for (const problem of oauthDefinitionProblems(definition, (source) => templates.some((template) => template.key === source.key && template.compiled))) problems.at(document, problem.pointer, problem.message);
  for (const [pointer, multiStatus] of [['/request/multiStatus', definition.request.multiStatus], ['/identify/multiStatus', definition.identify?.multiStatus]] as const) {
    if (multiStatus && !definition.batch) problems.at(document, pointer, 'multiStatus describes a batched response: it needs "batch"');
  }
  const hasErrors = problems.list.slice(before).some((problem) => problem.severity === 'error');
  // A bad logo rejects the folder, but the syncs and examples are still checked: it cannot hide their
  // problems. Errors in destination.json or its templates do stop here (a render would only repeat them).
  checkLogo(dir, document, definition, problems);
  if (hasErrors || templates.some((template) => !template.compiled)) return { parameterUsage };

  const byKey = (key: string) => templates.find((template) => template.key === key)?.compiled as CompiledTemplate;
  const request = definition.request;
  const contentType = request.contentType ?? 'application/json';
  const trackHeaders = Object.entries(request.headers ?? {}).map(([name]) => [name, byKey(`header:${name}`)] as const);
  const track: RequestTemplates = {
    method: request.method,
    url: byKey('url'),
    headers: trackHeaders,
    body: byKey('body'),
    contentType,
    idempotencyHeader: request.idempotencyHeader,
  };
  let identify: RequestTemplates | undefined;
  if (definition.identify) {
    // The identify request inherits the event request's method, URL and headers; its own replace them (headers by name).
    const own = Object.keys(definition.identify.headers ?? {});
    const headers = [
      ...trackHeaders.filter(([name]) => !own.some((other) => other.toLowerCase() === name.toLowerCase())),
      ...own.map((name) => [name, byKey(`identify header:${name}`)] as const),
    ];
    identify = {
      method: definition.identify.method ?? request.method,
      url: definition.identify.url !== undefined ? byKey('identify url') : track.url,
      headers,
      body: byKey('identify body'),
      contentType,
      idempotencyHeader: request.idempotencyHeader,
    };
  }
  const destination: LoadedDestination = {
    slug,
    dir,
    version: versionOf(document.text, templates),
    definition,
    track,
    identify,
    syncs: [],
    parameterUsage,
  };
  return { destination, parameterUsage };
}

function checkDeclarations(document: JsonDocument, definition: DestinationDefinition, problems: Problems): void {
  const seen = new Set<string>();
  (definition.parameters ?? []).forEach((parameter, index) => {
    if (seen.has(parameter.name)) problems.at(document, pointerOf('parameters', index, 'name'), `parameter "${parameter.name}" is declared twice`);
    seen.add(parameter.name);
    if (parameter.secret && parameter.default !== undefined) {
      problems.at(document, pointerOf('parameters', index, 'default'), `secret parameter "${parameter.name}" cannot have a default: destination.json is public`);
    }
  });
  const mappings = new Set<string>();
  (definition.userPropertyMappings ?? []).forEach((mapping, index) => {
    if (mappings.has(mapping.name)) problems.at(document, pointerOf('userPropertyMappings', index, 'name'), `mapping "${mapping.name}" is declared twice`);
    mappings.add(mapping.name);
  });
}

function compileTemplates(dir: string, document: JsonDocument, definition: DestinationDefinition, problems: Problems): TemplateSource[] {
  const templates: TemplateSource[] = [];
  const inline = (key: string, label: string, source: string, ...path: string[]) => templates.push({ key, label, source, pointer: pointerOf(...path) });
  const fromFile = (key: string, name: string, ...path: string[]) => {
    const pointer = pointerOf(...path);
    const file = insideFolder(dir, name);
    if (!file) return problems.at(document, pointer, `template ${show(name)} must be a file inside the destination folder`);
    if (!existsSync(file)) return problems.at(document, pointer, `template file ${name} is missing`);
    templates.push({ key, label: relative(dir, file), source: readFileSync(file, 'utf8'), file });
  };
  const { request, identify } = definition;
  inline('url', 'URL', request.url, 'request', 'url');
  for (const [name, value] of Object.entries(request.headers ?? {})) inline(`header:${name}`, `header ${name}`, value ?? '', 'request', 'headers', name);
  fromFile('body', request.body, 'request', 'body');
  if (identify) {
    if (identify.url !== undefined) inline('identify url', 'identify URL', identify.url, 'identify', 'url');
    for (const [name, value] of Object.entries(identify.headers ?? {})) {
      inline(`identify header:${name}`, `identify header ${name}`, value ?? '', 'identify', 'headers', name);
    }
    fromFile('identify body', identify.body, 'identify', 'body');
  }
  // The oauth fields are templates too: compiled, checked and counted in DECLARED vs USED like the others.
  templates.push(...oauthTemplateSources(definition));
  for (const template of templates) {
    const name = template.file ? relative(dir, template.file) : `${DESTINATION_FILE}#${template.pointer}`;
    try {
      template.compiled = compileTemplate(template.source, name);
      template.uses = findTemplateUses(template.source);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      const kind = error instanceof TemplateUnsafeError || error instanceof TemplateMistakeError ? 'template' : 'template syntax error';
      // Every mistake of a template is its own problem; a syntax or safety error is one.
      const found = error instanceof TemplateMistakeError ? error.all : [{ line: error.line, column: error.column, message: error.detail }];
      for (const { line, column, message } of found) {
        if (template.file) {
          problems.error(template.file, `${kind}: ${message}`, line !== undefined ? { line, column: column ?? 1 } : undefined);
        } else {
          const where = line !== undefined ? ` (template line ${line}, column ${column ?? 1})` : '';
          problems.at(document, template.pointer ?? '', `${kind} in the ${template.label} template${where}: ${message}`);
        }
      }
    }
  }
  return templates;
}

/** DECLARED vs USED, for parameters and mapped fields: both directions are errors for parameters. */
function checkUses(document: JsonDocument, definition: DestinationDefinition, templates: TemplateSource[], problems: Problems): ParameterUsage[] {
  const declared = definition.parameters ?? [];
  const usage = new Map<string, ParameterUsage>();
  for (const parameter of declared) {
    if (!usage.has(parameter.name)) usage.set(parameter.name, { name: parameter.name, declared: true, secret: parameter.secret ?? false, usedIn: [] });
  }
  // The signing option uses its secrets outside any template.
  for (const name of definition.signing?.secrets ?? []) usage.get(name)?.usedIn.push('signing');
  const mappings = new Set((definition.userPropertyMappings ?? []).map((mapping) => mapping.name));
  const usedMappings = new Set<string>();
  const report = (template: TemplateSource, use: { line: number; column: number }, message: string, severity: 'error' | 'warning' = 'error') => {
    if (template.file) {
      if (severity === 'error') problems.error(template.file, message, use);
      else problems.warning(template.file, message, use);
    } else {
      problems.at(document, template.pointer ?? '', `${message} (in the ${template.label} template, line ${use.line}, column ${use.column})`, severity);
    }
  };
  for (const template of templates) {
    if (!template.uses) continue;
    for (const use of template.uses.parameters) {
      let row = usage.get(use.name);
      if (!row) {
        row = { name: use.name, declared: false, secret: false, usedIn: [] };
        usage.set(use.name, row);
      }
      if (!row.usedIn.includes(template.label)) row.usedIn.push(template.label);
      if (!row.declared) {
        const known = declared.map((parameter) => parameter.name);
        report(template, use, `parameter "${use.name}" is used but not declared in destination.json${known.length ? ` (declared: ${known.join(', ')})` : ''}`);
      }
    }
    for (const use of template.uses.uncheckable) {
      report(template, use, `${use.name} is used without a literal name: write parameters.NAME so DECLARED vs USED can be checked`);
    }
    for (const use of template.uses.mappedFields) {
      usedMappings.add(use.name);
      if (!mappings.has(use.name)) report(template, use, `mappedFields.${use.name} is used but "${use.name}" is not declared in userPropertyMappings`);
    }
  }
  // Unused can only be told when every template could be read.
  const complete = templates.every((template) => template.uses);
  declared.forEach((parameter, index) => {
    const row = usage.get(parameter.name);
    if (complete && row && row.usedIn.length === 0) {
      problems.at(document, pointerOf('parameters', index, 'name'), `parameter "${parameter.name}" is declared but not used in the URL, headers or body templates`);
    }
  });
  (definition.userPropertyMappings ?? []).forEach((mapping, index) => {
    if (complete && !usedMappings.has(mapping.name)) {
      problems.at(document, pointerOf('userPropertyMappings', index, 'name'), `mapping "${mapping.name}" is declared but no template uses mappedFields.${mapping.name}`, 'warning');
    }
  });
  return [...usage.values()];
}

function checkLogo(dir: string, document: JsonDocument, definition: DestinationDefinition, problems: Problems): void {
  const name = definition.logo ?? DEFAULT_LOGO;
  const pointer = definition.logo !== undefined ? '/logo' : '';
  const file = insideFolder(dir, name);
  if (!file) return problems.at(document, pointer, `logo ${show(name)} must be a file inside the destination folder`);
  if (!existsSync(file) || !statSync(file).isFile()) {
    if (definition.logo !== undefined) problems.at(document, pointer, `logo ${name} is missing`);
    else problems.error(join(dir, name), 'the logo is missing: add a PNG logo.png (or name another PNG in "logo")');
    return;
  }
  const why = pngProblem(readFileSync(file));
  if (why) problems.error(file, `logo ${why}`);
}

/** sha256 of destination.json and every template file, 12 hex digits: changes with any of them. */
function versionOf(definitionText: string, templates: TemplateSource[]): string {
  const hash = createHash('sha256').update(`${DESTINATION_FILE}\0${definitionText}\0`);
  for (const template of templates) if (template.file) hash.update(`${template.key}\0${template.source}\0`);
  return hash.digest('hex').slice(0, 12);
}
