// Loading destination folders: discovered by scanning (the folder name is the slug), every file
// checked, every problem of every folder collected with its place. A folder with an error is
// rejected as a whole; the others load.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { DestinationExample } from '../../schema/generated/example.js';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import { compileFilter, isIdentifyEvent, type EventPredicate } from '../events/index.js';
import { jsonSyntaxError } from '../json/index.js';
import { compileTemplate, TemplateSyntaxError, TemplateUnsafeError, type CompiledTemplate, type RequestTemplates } from '../render/index.js';
import { isSecretRef } from '../secrets/index.js';
import { checkExample } from './examples.js';
import { resolveParameters } from './parameters.js';
import { pngProblem } from './png.js';
import { pointerOf, Problems, sortProblems, type JsonDocument } from './problems.js';
import { checkAgainstSchema, show, validateDestinationFile, validateExampleFile, validateSyncFile } from './schemas.js';
import { findTemplateUses, type TemplateUses } from './template-uses.js';
import { reportUrlTemplateProblems } from './url-template-check.js';
import type { DestinationLoad, LoadedDestination, LoadedSync, LoadResult, ParameterUsage } from './types.js';

/** A destination's slug: its folder name. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** A sync's name: its file name without .json (consumer and dead-letter names derive from it). */
export const SYNC_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

export const DESTINATION_FILE = 'destination.json';
export const SYNCS_DIR = 'syncs';
export const EXAMPLES_DIR = 'examples';
const DEFAULT_LOGO = 'logo.png';

export interface LoadOptions {
  /** Read secret references (environment, files). Default true; validate passes false. */
  resolveSecrets?: boolean;
  /** Environment for {"env": …} references and ${VAR} in file paths. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Render every example and compare it with its expect. Default true. */
  checkExamples?: boolean;
}

interface Settings {
  resolveSecrets: boolean;
  env: NodeJS.ProcessEnv;
  checkExamples: boolean;
}

function settingsOf(options: LoadOptions): Settings {
  return { resolveSecrets: options.resolveSecrets ?? true, env: options.env ?? process.env, checkExamples: options.checkExamples ?? true };
}

/** Every destination folder under `dir`, in slug order. Files and hidden folders are skipped. */
export async function loadDestinations(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    const problem = { file: root, severity: 'error' as const, message: `cannot read the destinations folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    return { destinations: [], problems: [problem], rejected: [], folders: [] };
  }
  const folders: DestinationLoad[] = [];
  for (const name of entries) folders.push(await loadDestination(join(root, name), options));
  return {
    destinations: folders.flatMap((folder) => (folder.destination ? [folder.destination] : [])),
    problems: folders.flatMap((folder) => folder.problems),
    rejected: folders.filter((folder) => !folder.destination).map((folder) => folder.slug),
    folders,
  };
}

/** One destination folder, its syncs and (unless turned off) its examples. */
export async function loadDestination(folder: string, options: LoadOptions = {}): Promise<DestinationLoad> {
  const settings = settingsOf(options);
  const dir = resolve(folder);
  const problems = new Problems();
  const definition = readDefinition(dir, problems);
  const syncFiles = listSyncFiles(dir, problems);
  const byName = new Map<string, LoadedSync | undefined>();
  for (const file of syncFiles) {
    const sync = readSync(definition.destination, file, settings, problems);
    byName.set(syncNameOf(file), sync);
  }
  const names = [...byName.keys()];
  for (const document of readExamples(dir, problems)) {
    if (!definition.destination || !settings.checkExamples) continue;
    checkExample(document, document.value as DestinationExample, { names, byName }, problems);
  }
  const destination = definition.destination;
  if (destination) destination.syncs.push(...[...byName.values()].filter((sync): sync is LoadedSync => sync !== undefined));
  return finish(dir, problems, destination, definition.parameterUsage);
}

/** destination.json, its templates and logo, without syncs or examples (what preview and send need first). */
export async function loadDestinationDefinition(folder: string): Promise<DestinationLoad> {
  const dir = resolve(folder);
  const problems = new Problems();
  const definition = readDefinition(dir, problems);
  return finish(dir, problems, definition.destination, definition.parameterUsage);
}

/** One sync file (in the folder's syncs/ or anywhere else) of a loaded destination. It is not added to `destination.syncs`. */
export async function loadSync(
  destination: LoadedDestination,
  file: string,
  options: LoadOptions = {},
): Promise<{ sync?: LoadedSync; problems: DestinationLoad['problems'] }> {
  const problems = new Problems();
  const sync = readSync(destination, resolve(file), settingsOf(options), problems);
  return { sync: problems.hasErrors ? undefined : sync, problems: sortProblems(problems.list) };
}

/** The .json files of a folder's syncs/, in name order (the first is the one preview uses by default). */
export function listSyncFiles(folder: string, problems?: Problems): string[] {
  const dir = join(resolve(folder), SYNCS_DIR);
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile() && entry.name.endsWith('.json')) files.push(join(dir, entry.name));
    else problems?.warning(join(dir, entry.name), 'ignored: a sync is a .json file in syncs/');
  }
  return files;
}

export function syncNameOf(file: string): string {
  return basename(file, '.json');
}

function finish(dir: string, problems: Problems, destination: LoadedDestination | undefined, parameterUsage?: ParameterUsage[]): DestinationLoad {
  return {
    slug: basename(dir),
    dir,
    destination: problems.hasErrors ? undefined : destination,
    problems: sortProblems(problems.list),
    parameterUsage,
  };
}

// ── reading files ───────────────────────────────────────────────────────────────────────────

function readJson(file: string, problems: Problems): JsonDocument | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.error(file, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const syntax = jsonSyntaxError(text);
  if (syntax) {
    problems.error(file, `invalid JSON: ${syntax.message}`, syntax.place);
    return undefined;
  }
  return { file, text, value: JSON.parse(text) as unknown };
}

/** A path named in destination.json, which must stay inside the folder. */
function insideFolder(dir: string, name: string): string | undefined {
  const path = resolve(dir, name);
  return path.startsWith(dir + sep) ? path : undefined;
}

// ── destination.json ────────────────────────────────────────────────────────────────────────

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

function readDefinition(dir: string, problems: Problems): { destination?: LoadedDestination; parameterUsage?: ParameterUsage[] } {
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
  const templates = compileTemplates(dir, document, definition, problems);
  const parameterUsage = checkUses(document, definition, templates, problems);
  reportUrlTemplateProblems(document, templates, problems);
  checkLogo(dir, document, definition, problems);
  for (const [pointer, multiStatus] of [['/request/multiStatus', definition.request.multiStatus], ['/identify/multiStatus', definition.identify?.multiStatus]] as const) {
    if (multiStatus && !definition.batch) problems.at(document, pointer, 'multiStatus describes a batched response: it needs "batch"');
  }
  const hasErrors = problems.list.slice(before).some((problem) => problem.severity === 'error');
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
  for (const template of templates) {
    const name = template.file ? relative(dir, template.file) : `${DESTINATION_FILE}#${template.pointer}`;
    try {
      template.compiled = compileTemplate(template.source, name);
      template.uses = findTemplateUses(template.source);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      const kind = error instanceof TemplateUnsafeError ? 'template' : 'template syntax error';
      if (template.file) {
        problems.error(template.file, `${kind}: ${error.detail}`, error.line !== undefined ? { line: error.line, column: error.column ?? 1 } : undefined);
      } else {
        const where = error.line !== undefined ? ` (template line ${error.line}, column ${error.column ?? 1})` : '';
        problems.at(document, template.pointer ?? '', `${kind} in the ${template.label} template${where}: ${error.detail}`);
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

// ── syncs ───────────────────────────────────────────────────────────────────────────────────

function readSync(destination: LoadedDestination | undefined, file: string, settings: Settings, problems: Problems): LoadedSync | undefined {
  const name = syncNameOf(file);
  if (!SYNC_NAME_PATTERN.test(name)) problems.error(file, `sync name "${name}" (its file name) must match ${SYNC_NAME_PATTERN.source}`);
  const document = readJson(file, problems);
  if (!document || !checkAgainstSchema(document, validateSyncFile, problems)) return undefined;
  // Without a valid destination.json there is nothing more to check a sync against.
  if (!destination) return undefined;
  const before = problems.list.length;
  const sync = document.value as SyncDefinition;
  const definition = destination.definition;
  const declared = definition.parameters ?? [];
  const limits = definition.limits ?? {};

  for (const [parameterName, value] of Object.entries(sync.parameters ?? {})) {
    const pointer = pointerOf('parameters', parameterName);
    const parameter = declared.find((candidate) => candidate.name === parameterName);
    if (!parameter) {
      const known = declared.map((candidate) => candidate.name);
      problems.at(document, pointer, `unknown parameter "${parameterName}": ${destination.slug} declares ${known.length ? known.join(', ') : 'no parameters'}`);
    } else if (parameter.secret && !isSecretRef(value)) {
      problems.at(document, pointer, `parameter "${parameterName}" is secret: give it by reference ({"env": "NAME"} or {"file": "path"}), never inline`);
    }
  }
  for (const parameter of declared) {
    if ((parameter.required ?? true) && parameter.default === undefined && sync.parameters?.[parameter.name] === undefined) {
      problems.at(document, sync.parameters ? '/parameters' : '', `missing required parameter "${parameter.name}" (${parameter.displayName})`);
    }
  }

  const mappings = definition.userPropertyMappings ?? [];
  for (const mappingName of Object.keys(sync.fieldMappings ?? {})) {
    if (!mappings.some((mapping) => mapping.name === mappingName)) {
      problems.at(document, pointerOf('fieldMappings', mappingName), `unknown field "${mappingName}": ${destination.slug} maps ${mappings.length ? mappings.map((mapping) => mapping.name).join(', ') : 'no fields'}`);
    }
  }
  for (const mapping of mappings) {
    if (mapping.required && sync.fieldMappings?.[mapping.name] === undefined) {
      problems.at(document, sync.fieldMappings ? '/fieldMappings' : '', `missing required mapping "${mapping.name}": map it to an event field or a user, event or group property in fieldMappings`);
    }
  }

  const selected = sync.selectedProperties ?? [];
  if (limits.maxSelectedProperties !== undefined && selected.length > limits.maxSelectedProperties) {
    problems.at(document, '/selectedProperties', `${selected.length} selected properties, but ${destination.slug} accepts at most ${limits.maxSelectedProperties}`);
  }
  const outputNames = new Set<string>();
  selected.forEach((property, index) => {
    const key = property.as ?? property.property;
    if (outputNames.has(key)) problems.at(document, pointerOf('selectedProperties', index), `two selected properties are both named "${key}" in mappedProperties: use "as" to rename one`);
    outputNames.add(key);
  });

  const eventTypes = sync.filter?.eventTypes;
  if (limits.maxEventTypes !== undefined) {
    if (!eventTypes?.length) {
      problems.at(document, sync.filter ? '/filter' : '', `${destination.slug} accepts at most ${limits.maxEventTypes} event types: list the ones to send in filter.eventTypes`);
    } else if (eventTypes.length > limits.maxEventTypes) {
      problems.at(document, '/filter/eventTypes', `${eventTypes.length} event types, but ${destination.slug} accepts at most ${limits.maxEventTypes}`);
    }
  }
  (sync.filter?.conditions ?? []).forEach((condition, index) => {
    const pointer = pointerOf('filter', 'conditions', index);
    const presence = condition.op === 'set' || condition.op === 'not_set';
    if (presence && condition.value !== undefined) problems.at(document, `${pointer}/value`, `"${condition.op}" takes no value`);
    if (!presence && condition.value === undefined) problems.at(document, pointer, `"${condition.op}" needs a value`);
    if (Array.isArray(condition.value) && condition.op !== 'is' && condition.op !== 'is_not') {
      problems.at(document, `${pointer}/value`, `only "is" and "is_not" take a list of values`);
    }
    const numeric = ['less', 'less_or_equal', 'greater', 'greater_or_equal'].includes(condition.op);
    if (numeric && condition.value !== undefined && !Array.isArray(condition.value) && !Number.isFinite(Number(condition.value))) {
      problems.at(document, `${pointer}/value`, `"${condition.op}" compares numbers: ${show(condition.value)} is not a number`);
    }
  });

  const identifyForwarding = sync.identifyForwarding ?? false;
  if (identifyForwarding && !destination.identify) {
    problems.at(document, '/identifyForwarding', `${destination.slug} has no identify request, so it cannot forward identify events`);
  }
  if (problems.list.slice(before).some((problem) => problem.severity === 'error')) return undefined;

  const parameters = resolveParameters(declared, sync.parameters, { syncFile: file, resolveSecrets: settings.resolveSecrets, env: settings.env });
  const eventFilter = compileFilter(sync.filter);
  const forwardsIdentify = identifyForwarding && destination.identify !== undefined;
  // Identify events are governed by identifyForwarding alone; the event filter is for tracked events.
  const filter: EventPredicate = (event) => (isIdentifyEvent(event) ? forwardsIdentify : eventFilter(event));
  return {
    id: `${destination.slug}.${name}`,
    name,
    file,
    destination,
    definition: sync,
    enabled: sync.enabled ?? true,
    identifyForwarding,
    parameters,
    filter,
    selection: {
      selectedProperties: selected,
      fieldMappings: Object.entries(sync.fieldMappings ?? {}).flatMap(([fieldName, source]) => {
        const mapping = mappings.find((candidate) => candidate.name === fieldName);
        return source && mapping ? [{ name: fieldName, source, required: mapping.required ?? false, identifier: mapping.identifier ?? false }] : [];
      }),
      maxIdentifierBytes: limits.maxIdentifierBytes,
    },
  };
}

// ── examples ────────────────────────────────────────────────────────────────────────────────

function readExamples(dir: string, problems: Problems): JsonDocument[] {
  const examples = join(dir, EXAMPLES_DIR);
  if (!existsSync(examples)) return [];
  const documents: JsonDocument[] = [];
  for (const entry of readdirSync(examples, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const file = join(examples, entry.name);
    if (!entry.isFile() || !entry.name.endsWith('.json')) {
      problems.warning(file, 'ignored: an example is a .json file in examples/');
      continue;
    }
    const document = readJson(file, problems);
    if (document && checkAgainstSchema(document, validateExampleFile, problems)) documents.push(document);
  }
  return documents;
}
