// destination.json with its templates and logo: checked against the schema, the templates compiled
// and checked (safety, DECLARED vs USED, URL confinement), the version hashed. Syncs and examples are
// read by read-sync.ts and examples.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { DestinationDefinition, MultiStatus } from '../../schema/generated/destination.js';
import { authDefinitionProblems, authParameterUses, authTemplateSources } from '../auth/index.js';
import { compileTemplate, TemplateMistakeError, TemplateSyntaxError, TemplateUnsafeError, type CompiledTemplate, type RequestTemplates, type TemplatePosition } from '../render/index.js';
import { didYouMean } from '../did-you-mean.js';
import { pngProblem } from './png.js';
import { readContracts } from './read-contract.js';
import { pointerOf, type JsonDocument, type Problems } from './problems.js';
import { insideFolder, readJson } from './read-json.js';
import { checkAgainstSchema, show, validateDestinationFile } from './schemas.js';
import { findTemplateUses, type TemplateUses } from './template-uses.js';
import type { LoadedDestination, ParameterUsage } from './types.js';
import { reportUrlTemplateProblems } from './url-template-check.js';
import { DEFAULT_CONTENT_TYPE, DEFAULT_LOGO_FILE } from '../defaults.js';

/** A destination's slug: its folder name. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const DESTINATION_FILE = 'destination.json';

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
  checkDeclarations(document, definition, problems);
  const templates = compileTemplates(dir, document, definition, problems);
  const parameterUsage = checkUses(document, definition, templates, problems);
  const urlProblems = problems.list.length;
  reportUrlTemplateProblems(document, templates, problems);
  const contracts = readContracts(dir, document, definition, problems);
  const urlRefused = problems.list.length > urlProblems;
  // Each auth scheme's block (signing, oauth): checked once its templates compiled.
  const authProblems = authDefinitionProblems(definition, (source) => templates.some((template) => template.key === source.key && template.compiled));
  for (const problem of authProblems) problems.at(document, problem.pointer, problem.message);
  for (const [pointer, multiStatus] of [['/request/multiStatus', definition.request.multiStatus], ['/identify/multiStatus', definition.identify?.multiStatus]] as const) {
    if (multiStatus && !definition.batch) problems.at(document, pointer, 'multiStatus describes a batched response: it needs "batch"');
    if (multiStatus) for (const problem of multiStatusProblems(multiStatus)) problems.at(document, `${pointer}${problem.pointer}`, problem.message);
  }
  // A bad logo rejects the folder, but the syncs and examples are still checked: it cannot hide their problems.
  checkLogo(dir, document, definition, problems);
  // A broken auth block stops here: every request would fail the same way. Anything else does not:
  // the folder is rejected (load.ts), but its syncs, examples and generated events are still checked
  // against it, with a stand-in for each template that did not compile (or whose URL was refused),
  // so one run tells every problem. The stand-ins' parts of a request are not compared or reported.
  const missing = ['body', ...(definition.identify ? ['identify body'] : [])].some((key) => !templates.some((template) => template.key === key));
  if (authProblems.length > 0 || missing) return { parameterUsage };
  const mappings = new Set((definition.userPropertyMappings ?? []).map((mapping) => mapping.name));
  for (const template of templates) {
    const url = template.key === 'url' || template.key === 'identify url';
    // A parameter or mapped field the definition does not declare is undefined in every render: the render would only repeat it.
    const undeclared = template.uses?.parameters.some((use) => !parameterUsage.some((row) => row.name === use.name && row.declared)) || template.uses?.mappedFields.some((use) => !mappings.has(use.name));
    if (!template.compiled || (url && urlRefused) || undeclared) template.compiled = standIn(template, url);
  }

  const byKey = (key: string) => templates.find((template) => template.key === key)?.compiled as CompiledTemplate;
  const request = definition.request;
  const contentType = request.contentType ?? DEFAULT_CONTENT_TYPE;
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
    version: versionOf(document.text, templates, contracts.texts),
    definition,
    logoFile: join(dir, definition.logo ?? DEFAULT_LOGO_FILE),
    track,
    identify,
    contracts: contracts.contracts,
    batchKey: definition.batch?.key === undefined ? undefined : byKey('batch key'),
    syncs: [],
    parameterUsage,
  };
  return { destination, parameterUsage };
}

/** What the schema cannot say of a multiStatus: that it names a list, and what each list's shape needs. */
function multiStatusProblems(multiStatus: MultiStatus): Array<{ pointer: string; message: string }> {
  const found: Array<{ pointer: string; message: string }> = [];
  if (multiStatus.failedItemsPath === undefined && multiStatus.failed === undefined && multiStatus.throttled === undefined) {
    found.push({ pointer: '', message: 'multiStatus names no list of items: give failedItemsPath, failed or throttled' });
  }
  for (const kind of ['failed', 'throttled'] as const) {
    (multiStatus[kind] ?? []).forEach((list, index) => {
      const shape = list.shape ?? 'objects';
      if (shape === 'keys' && list.eventField === undefined) found.push({ pointer: `/${kind}/${index}`, message: 'a list of shape "keys" needs eventField: the event field its keys are values of (input.user_id)' });
      if (list.eventField !== undefined && !/^(input|mappedProperties|mappedFields)\.[^.]/.test(list.eventField)) {
        found.push({ pointer: `/${kind}/${index}/eventField`, message: `eventField "${list.eventField}" must be a dot path in the event's context: input.…, mappedProperties.… or mappedFields.…` });
      }
      if (shape !== 'keys' && list.eventField !== undefined) found.push({ pointer: `/${kind}/${index}/eventField`, message: `eventField is for a list of shape "keys", not "${shape}"` });
      for (const field of ['indexField', 'statusField', 'messageField', 'match'] as const) {
        if (field !== 'indexField' && shape === 'inOrder') continue;
        if (shape !== 'objects' && list[field] !== undefined) found.push({ pointer: `/${kind}/${index}/${field}`, message: `${field} is for a list of shape "objects", not "${shape}"` });
      }
      if (shape === 'inOrder' && list.errorField === undefined) found.push({ pointer: `/${kind}/${index}`, message: 'a list of shape "inOrder" needs errorField: the field set in a failed entry (ErrorCode)' });
      if (shape !== 'inOrder' && list.errorField !== undefined) found.push({ pointer: `/${kind}/${index}/errorField`, message: `errorField is for a list of shape "inOrder", not "${shape}"` });
    });
  }
  return found;
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
  if (definition.batch?.key !== undefined) inline('batch key', 'batch key', definition.batch.key, 'batch', 'key');
  // An auth scheme's fields (oauth's) are templates too: compiled, checked and counted in DECLARED vs USED like the others.
  templates.push(...authTemplateSources(definition));
  for (const template of templates) {
    const name = template.file ? relative(dir, template.file) : `${DESTINATION_FILE}#${template.pointer}`;
    try {
      // What a template uses is known whenever it parses, so DECLARED vs USED is checked beside its other mistakes.
      template.uses = findTemplateUses(template.source);
    } catch {
      // It does not parse: reported by compileTemplate below.
    }
    try {
      template.compiled = compileTemplate(template.source, name, { position: positionOf(template.key), parameters: (definition.parameters ?? []).map((parameter) => parameter.name) });
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      const kind = error instanceof TemplateUnsafeError || error instanceof TemplateMistakeError ? 'template' : 'template syntax error';
      // Every mistake of a template is its own problem; a syntax or safety error is one.
      const found = error instanceof TemplateMistakeError || error instanceof TemplateUnsafeError ? error.all : [{ line: error.line, column: error.column, message: error.detail }];
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

/** Templates standing in for ones that did not compile: validate checks the rest of the request and the syncs around them. */
const standIns = new WeakSet<CompiledTemplate>();

/** Whether a loaded template is a stand-in (its part of a rendered request means nothing). */
export function isStandIn(template: CompiledTemplate): boolean {
  return standIns.has(template);
}

function standIn(template: TemplateSource, url: boolean): CompiledTemplate {
  const output = url ? 'https://stand-in.invalid/' : template.key.includes('body') ? '{}' : '';
  const compiled: CompiledTemplate = { name: template.label, source: template.source, readsOnlyParameters: true, jsonByConstruction: true, render: () => output, placeOfOutput: () => undefined };
  standIns.add(compiled);
  return compiled;
}

/** Where a template's output goes, from its key ("url", "identify header:NAME", "body"): it decides the advice for Freemarker. */
function positionOf(key: string): TemplatePosition {
  if (key === 'url' || key === 'identify url') return 'url';
  return key.includes('header:') ? 'header' : 'body';
}

/** DECLARED vs USED, for parameters and mapped fields: both directions are errors for parameters. */
function checkUses(document: JsonDocument, definition: DestinationDefinition, templates: TemplateSource[], problems: Problems): ParameterUsage[] {
  const declared = definition.parameters ?? [];
  const usage = new Map<string, ParameterUsage>();
  for (const parameter of declared) {
    if (!usage.has(parameter.name)) usage.set(parameter.name, { name: parameter.name, declared: true, secret: parameter.secret ?? false, usedIn: [] });
  }
  // An auth scheme may use parameters outside any template (signing its secrets).
  for (const { label, names } of authParameterUses(definition)) for (const name of names) usage.get(name)?.usedIn.push(label);
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
        report(template, use, `parameter "${use.name}" is used but not declared in destination.json${didYouMean(use.name, known)}${known.length ? ` (declared: ${known.join(', ')})` : ''}`);
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
  const name = definition.logo ?? DEFAULT_LOGO_FILE;
  const pointer = definition.logo !== undefined ? '/logo' : '';
  const file = insideFolder(dir, name);
  if (!file) return problems.at(document, pointer, `logo ${show(name)} must be a file inside the destination folder`);
  if (!existsSync(file) || !statSync(file).isFile()) {
    if (definition.logo !== undefined) problems.at(document, pointer, `logo ${name} is missing`);
    else problems.error(join(dir, name), `the logo is missing: add a PNG ${DEFAULT_LOGO_FILE} (or name another PNG in "logo")`);
    return;
  }
  const why = pngProblem(readFileSync(file));
  if (why) problems.error(file, `logo ${why}`);
}

/** sha256 of destination.json, every template file and every contract, 12 hex digits: changes with any of them. */
function versionOf(definitionText: string, templates: TemplateSource[], contracts: ReadonlyArray<{ key: string; text: string }>): string {
  const hash = createHash('sha256').update(`${DESTINATION_FILE}\0${definitionText}\0`);
  for (const template of templates) if (template.file) hash.update(`${template.key}\0${template.source}\0`);
  // Nothing is added without a contract: the versions of folders without one stay as they were.
  for (const contract of contracts) hash.update(`${contract.key}\0${contract.text}\0`);
  return hash.digest('hex').slice(0, 12);
}
