// `validate` proves a sync's templates on generated events (template-corpus.ts), not only on the
// examples: every event alone, and for a batched destination batches of 2 and of maxEvents, each
// rendered as the daemon renders it (renderForSync, secrets as placeholders). Each failing place
// of a template is one problem: the template's place, how many requests fail there, the smallest
// event (or batch) that breaks it as JSON ready for `preview --event`, and an excerpt.
import { join, relative } from 'node:path';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { jsonSyntaxError } from '../json/index.js';
import { buildEventContext, RenderError, type RenderContext } from '../render/index.js';
import { previewParameters } from './parameters.js';
import type { Problems } from './problems.js';
import { DESTINATION_FILE } from './read-definition.js';
import { renderForSync, templatesFor, type RequestKind } from './render-for-sync.js';
import { generateEvents, type CorpusEvent } from './template-corpus.js';
import type { LoadedSync } from './types.js';

/** Characters a header value can hold (RFC 9110 field-value: visible ASCII, space, tab, obs-text). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
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
    request = renderForSync(sync, cases.map((item) => buildEventContext(item.event, sync.selection)), kind, undefined, { parameters });
  } catch (error) {
    if (error instanceof RenderError) return { template: error.file, line: error.line, column: error.column, detail: error.detail };
    return { template: templates.body.name, detail: (error as Error).message };
  }
  for (const [name, template] of templates.headers) {
    const value = request.headers[name.toLowerCase()];
    if (value !== undefined && !HEADER_VALUE.test(value)) {
      return { template: template.name, detail: `header ${name} renders a character a header value cannot hold: write it through urlencode, or leave event data out of headers` };
    }
  }
  // The URL's origin comes from parameters only (checked on the template); a render that moves it is a bug to show.
  const origin = new URL(request.url).origin;
  if (expected !== undefined && origin !== expected) {
    return { template: templates.url.name, detail: `the URL's origin changes with the event: ${JSON.stringify(origin)} instead of ${JSON.stringify(expected)}` };
  }
  return undefined;
}

/** The origin the base event's request goes to: every other request must go there too. */
function originOf(sync: LoadedSync, kind: RequestKind, base: CorpusEvent, parameters: Record<string, unknown>): string | undefined {
  try {
    return new URL(renderForSync(sync, [buildEventContext(base.event, sync.selection)], kind, undefined, { parameters }).url).origin;
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
    `${failure.detail}${where}`,
    `  fails for ${failure.count} of ${total} generated ${failure.kind} requests of sync ${sync.name}; the smallest: ${what}`,
    `  ${batch ? 'events' : 'event'} (save as a file and run: destinations preview ${shown(dir)} --event FILE --sync ${shown(sync.file)}):`,
    `  ${JSON.stringify(batch ? events : events[0])}`,
    ...excerpt(sync, failure),
  ];
  const place = !inline && failure.line !== undefined ? { line: failure.line, column: failure.column ?? 1 } : undefined;
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
