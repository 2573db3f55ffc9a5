// `validate` proves a sync's templates on generated events (template-corpus.ts), not only on the
// examples: every event alone, and for a batched destination batches of 2 and of maxEvents, each
// rendered as the daemon renders it (renderForSync, secrets as placeholders). Each failing place
// of a template is one problem: the template's place, how many requests fail there, the smallest
// event (or batch) that breaks it as JSON ready for `preview --event`, and an excerpt.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { checkContract, describeViolation, type ContractViolation } from '../contract/index.js';
import { jsonSyntaxError, placeOfPointer, type TextPlace } from '../json/index.js';
import { buildEventContext, RenderError, unsendableHeader, unsendableHeaderMessage, type RenderContext, type RequestTemplates } from '../render/index.js';
import { previewParameters } from './parameters.js';
import { withEventFieldHint } from './event-field-hint.js';
import type { Problems } from './problems.js';
import { DESTINATION_FILE } from './read-definition.js';
import { renderBatchKey, renderForPreview, renderForSync, templatesFor, type RequestKind } from './render-for-sync.js';
import { generateEvents, type CorpusEvent } from './template-corpus.js';
import type { LoadedSync } from './types.js';

const EXCERPT_WIDTH = 160;

interface Failure {
  /** The template's name as the renderer knows it: "body.njk", "destination.json#/request/url". */
  template: string;
  line?: number;
  column?: number;
  detail: string;
  cases: CorpusEvent[];
  kind: RequestKind;
  count: number;
  size: number;
}

/** Renders every generated request of a sync; adds one problem per failing template place. `seen` drops repeats across syncs. */
export function checkSyncOnCorpus(sync: LoadedSync, problems: Problems, seen: Set<string>): void {
  const kinds: RequestKind[] = ['track'];
  if (sync.destination.identify && sync.identifyForwarding) kinds.push('identify');
  for (const kind of kinds) {
    const events = generateEvents(sync, kind);
    if (events.length === 0) {
      problems.warning(sync.file, `no generated ${kind} event passes this sync's filter: only its examples prove the templates`);
      continue;
    }
    const failures = new Map<string, Failure>();
    const requests = requestsOf(events, sync.destination.definition.batch?.maxEvents);
    const parameters = previewParameters(sync.parameters, 'mask').values;
    checkBatchKey(sync, events, kind, parameters, problems, seen);
    const origin = originOf(sync, kind, events[0], parameters);
    for (const cases of requests) {
      const found = renderOne(sync, cases, kind, parameters, origin);
      if (!found) continue;
      const key = `${found.template}:${found.line ?? ''}:${found.column ?? ''}:${found.line === undefined ? found.detail.slice(0, 60) : ''}`;
      const size = Buffer.byteLength(JSON.stringify(cases.map((item) => item.event)));
      const known = failures.get(key);
      if (!known) failures.set(key, { ...found, cases, kind, count: 1, size });
      else {
        known.count++;
        if (size < known.size) Object.assign(known, { detail: found.detail, cases, size });
      }
    }
    for (const [key, failure] of failures) {
      if (seen.has(key)) continue;
      seen.add(key);
      report(sync, failure, requests.length, problems);
    }
  }
}

/**
 * `batch.key` rendered for every generated event, as the daemon renders it for each event it
 * batches. An event whose key cannot be rendered travels alone, one request each, which a folder
 * that names a key did not mean: a warning (an error with --strict) at the key in destination.json,
 * with the template's place, the count and the smallest event.
 */
function checkBatchKey(sync: LoadedSync, events: CorpusEvent[], kind: RequestKind, parameters: Record<string, unknown>, problems: Problems, seen: Set<string>): void {
  if (sync.destination.batchKey === undefined) return;
  const failures = new Map<string, { error: RenderError; event: CorpusEvent; count: number; size: number }>();
  for (const event of events) {
    try {
      renderBatchKey(sync, buildEventContext(event.event, sync.selection), parameters);
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      const key = `${error.line ?? ''}:${error.column ?? ''}:${error.detail.slice(0, 60)}`;
      const size = Buffer.byteLength(JSON.stringify(event.event));
      const known = failures.get(key);
      if (!known) failures.set(key, { error, event, count: 1, size });
      else {
        known.count++;
        if (size < known.size) Object.assign(known, { error, event, size });
      }
    }
  }
  const file = join(sync.destination.dir, DESTINATION_FILE);
  for (const [key, failure] of failures) {
    if (seen.has(`batch key:${key}`)) continue;
    seen.add(`batch key:${key}`);
    const { error, event, count } = failure;
    const where = error.line !== undefined ? ` (template line ${error.line}, column ${error.column ?? 1})` : '';
    const lines = [
      `batch key cannot be rendered${where}: ${withEventFieldHint(error.detail)}`,
      `  fails for ${count} of ${events.length} generated ${kind} events of sync ${sync.name}: each travels alone, one request each; the smallest: ${event.what}`,
      `  event (save as a file and run: destinations preview ${shown(sync.destination.dir)} --event FILE --sync ${shown(sync.file)}):`,
      `  ${JSON.stringify(event.event)}`,
    ];
    problems.warning(file, `fails on generated events: ${lines.join('\n')}`, placeOfInline(file, '/batch/key'));
  }
}

/** Where an inline template (a JSON pointer of destination.json) is, for a problem placed at it. */
function placeOfInline(file: string, pointer: string): TextPlace | undefined {
  try {
    return placeOfPointer(readFileSync(file, 'utf8'), pointer);
  } catch {
    return undefined;
  }
}

/** One request per event; with batching, also the base with each other event, and one full batch. */
function requestsOf(events: CorpusEvent[], maxEvents: number | undefined): CorpusEvent[][] {
  const requests = events.map((event) => [event]);
  if (!maxEvents || maxEvents < 2) return requests;
  const [base, ...others] = events;
  for (const other of others.length ? others : [base]) requests.push([base, other]);
  if (maxEvents > 2) requests.push(Array.from({ length: maxEvents }, (_, index) => events[index % events.length]));
  return requests;
}

function contextOf(sync: LoadedSync, cases: CorpusEvent[], parameters: Record<string, unknown>): RenderContext {
  const contexts = cases.map((item) => buildEventContext(item.event, sync.selection));
  return sync.destination.definition.batch ? { events: contexts, parameters } : { ...contexts[0], parameters };
}

/** Renders one request as the daemon would; what is wrong with it, if anything. */
function renderOne(
  sync: LoadedSync,
  cases: CorpusEvent[],
  kind: RequestKind,
  parameters: Record<string, unknown>,
  expected: string | undefined,
): Omit<Failure, 'cases' | 'kind' | 'count' | 'size'> | undefined {
  const templates = templatesFor(sync, kind);
  let request;
  try {
    request = renderForSync(sync, cases.map((item) => buildEventContext(item.event, sync.selection)), kind, renderForPreview(parameters));
  } catch (error) {
    if (error instanceof RenderError) return { template: error.file, line: error.line, column: error.column, detail: error.detail };
    return { template: templates.body.name, detail: (error as Error).message };
  }
  // Event data in a header is encoded by the render; what the sender would still refuse is the template's own text.
  const unsendable = unsendableHeader(request.headers);
  if (unsendable !== undefined) {
    const template = templates.headers.find(([name]) => name.toLowerCase() === unsendable.name)?.[1];
    return { template: template?.name ?? templates.url.name, detail: unsendableHeaderMessage(unsendable) };
  }
  // The URL's origin comes from parameters only (checked on the template); a render that moves it is a bug to show.
  const origin = new URL(request.url).origin;
  if (expected !== undefined && origin !== expected) {
    return { template: templates.url.name, detail: `the URL's origin changes with the event: ${JSON.stringify(origin)} instead of ${JSON.stringify(expected)}` };
  }
  const contract = sync.destination.contracts[kind];
  const violation = contract && checkContract(contract, request);
  if (violation) return { ...templatePlaceOf(templates, violation), detail: `breaks the contract: ${describeViolation(violation)}` };
  return undefined;
}

/**
 * The template place a contract violation most likely comes from: the body template's line writing
 * the failing key (`"name":`), the URL template's `name=`, the header's template; else the part's
 * template as a whole. A guess by name, good enough to open the file at the right line.
 */
export function templatePlaceOf(templates: RequestTemplates, violation: ContractViolation): { template: string; line?: number; column?: number } {
  const key = violation.pointer.split('/').slice(1).reverse().find((segment) => !/^\d+$/.test(segment))?.replace(/~1/g, '/').replace(/~0/g, '~');
  const find = (template: { name: string; source: string }, needle: RegExp) => {
    const match = needle.exec(template.source);
    if (!match) return { template: template.name };
    const before = template.source.slice(0, match.index).split('\n');
    return { template: template.name, line: before.length, column: before[before.length - 1].length + 1 };
  };
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (violation.part === 'query') return key === undefined ? { template: templates.url.name } : find(templates.url, new RegExp(`[?&]${escaped(key)}=`));
  if (violation.part === 'headers') {
    const header = templates.headers.find(([name]) => name.toLowerCase() === key?.toLowerCase())?.[1];
    return { template: (header ?? templates.url).name, ...(header ? { line: 1, column: 1 } : {}) };
  }
  if (violation.part === 'body' && key !== undefined) return find(templates.body, new RegExp(`"${escaped(key)}"\\s*:`));
  return { template: templates.body.name };
}

/** The origin the base event's request goes to: every other request must go there too. */
function originOf(sync: LoadedSync, kind: RequestKind, base: CorpusEvent, parameters: Record<string, unknown>): string | undefined {
  try {
    return new URL(renderForSync(sync, [buildEventContext(base.event, sync.selection)], kind, renderForPreview(parameters)).url).origin;
  } catch {
    return undefined; // the base event fails too: reported with the others
  }
}

function shown(path: string): string {
  return relative(process.cwd(), path) || '.';
}

function report(sync: LoadedSync, failure: Failure, total: number, problems: Problems): void {
  const { dir } = sync.destination;
  const inline = failure.template.startsWith(`${DESTINATION_FILE}#`);
  const file = inline ? join(dir, DESTINATION_FILE) : join(dir, failure.template);
  const events: AmplitudeEvent[] = failure.cases.map((item) => item.event);
  const batch = events.length > 1;
  const what = batch ? `a batch of ${events.length} (the second: ${failure.cases[1].what})` : failure.cases[0].what;
  const where = inline ? ` (${failure.template.slice(DESTINATION_FILE.length + 1)}${failure.line !== undefined ? `, template line ${failure.line}` : ''})` : '';
  const lines = [
    `${withEventFieldHint(failure.detail)}${where}`,
    `  fails for ${failure.count} of ${total} generated ${failure.kind} requests of sync ${sync.name}; the smallest: ${what}`,
    `  ${batch ? 'events' : 'event'} (save as a file and run: destinations preview ${shown(dir)} --event FILE --sync ${shown(sync.file)}):`,
    `  ${JSON.stringify(batch ? events : events[0])}`,
    ...excerpt(sync, failure),
  ];
  // A template in destination.json is placed at its key there (its own line and column are in the message).
  const place = inline ? placeOfInline(file, failure.template.slice(DESTINATION_FILE.length + 1)) : failure.line !== undefined ? { line: failure.line, column: failure.column ?? 1 } : undefined;
  problems.error(file, `fails on generated events: ${lines.join('\n')}`, place);
}

/** The output around a JSON error, or the template line of any other error, with a caret. */
function excerpt(sync: LoadedSync, failure: Failure): string[] {
  const templates = templatesFor(sync, failure.kind);
  if (failure.template === templates.body.name && /not valid JSON/.test(failure.detail)) {
    const output = templates.body.render(contextOf(sync, failure.cases, previewParameters(sync.parameters, 'mask').values));
    const syntax = jsonSyntaxError(output);
    if (syntax) return ['  output around the error:', ...around(output, syntax.place.line, syntax.place.column)];
  }
  const template = [templates.body, templates.url, ...templates.headers.map(([, header]) => header)].find((candidate) => candidate.name === failure.template);
  if (template && failure.line !== undefined) return ['  template:', ...around(template.source, failure.line, failure.column ?? 1)];
  return [];
}

function around(text: string, line: number, column: number): string[] {
  const all = text.split('\n');
  const out: string[] = [];
  const width = String(Math.min(all.length, line + 1)).length;
  for (let number = Math.max(1, line - 2); number <= Math.min(all.length, line + 1); number++) {
    out.push(`  ${String(number).padStart(width)} | ${all[number - 1].slice(0, EXCERPT_WIDTH)}`);
    if (number === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.min(column - 1, EXCERPT_WIDTH))}^`);
  }
  return out;
}
