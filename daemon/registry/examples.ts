// Examples are golden tests: an event rendered through a sync (secrets masked, as in a preview)
// must give exactly the expected request. Each difference is its own problem, placed at the
// expected value in the example file.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationExample } from '../../schema/generated/example.js';
import { checkContract, describeViolation } from '../contract/index.js';
import { checkEvent } from '../events/index.js';
import { isJsonContentType, unsendableHeader, unsendableHeaderMessage } from '../render/index.js';
import { renderEventRequest } from './event-request.js';
import { pointerOf, type JsonDocument, type Problems } from './problems.js';
import { templatesFor } from './render-for-sync.js';
import { isStandIn } from './read-definition.js';
import { withEventFieldHint } from './event-field-hint.js';
import { readJson } from './read-json.js';
import { checkAgainstSchema, show, validateExampleFile } from './schemas.js';
import type { LoadedDestination, LoadedSync } from './types.js';

export const EXAMPLES_DIR = 'examples';

/** At most this many differences are reported per example; the rest are counted. */
const MAX_DIFFERENCES = 20;

export interface ExampleSyncs {
  /** Sync names in name order; a name maps to undefined when that sync failed to load. */
  names: readonly string[];
  byName: ReadonlyMap<string, LoadedSync | undefined>;
}

export function checkExample(document: JsonDocument, example: DestinationExample, syncs: ExampleSyncs, problems: Problems): void {
  const name = example.sync ?? syncs.names[0];
  if (name === undefined) {
    problems.at(document, '', 'an example needs a sync to render with: add one in syncs/');
    return;
  }
  if (!syncs.byName.has(name)) {
    problems.at(document, '/sync', `no sync named "${name}" in syncs/ (there ${syncs.names.length === 1 ? 'is' : 'are'}: ${syncs.names.join(', ')})`);
    return;
  }
  const sync = syncs.byName.get(name);
  if (!sync) return; // the sync has errors of its own, reported where they are
  const checked = checkEvent(example.event);
  if (!checked.ok) {
    problems.at(document, '/event', `invalid event: ${checked.message}`);
    return;
  }
  let rendered;
  try {
    rendered = renderEventRequest(sync, checked.event, 'mask');
  } catch (error) {
    problems.at(document, '/event', `cannot render this event with sync ${name}: ${withEventFieldHint((error as Error).message)}`);
    return;
  }
  const dropped = rendered.warnings.find((warning) => warning.startsWith("the sync's filter drops"));
  if (dropped) {
    problems.at(document, '/event', `${dropped}; an example must be an event that is sent`);
    return;
  }
  const { request } = rendered;
  const unsendable = unsendableHeader(request.headers);
  if (unsendable) problems.at(document, '/event', `the daemon would dead-letter this request as invalid_header: ${unsendableHeaderMessage(unsendable)}`);
  const contract = sync.destination.contracts[rendered.kind];
  const violation = contract && checkContract(contract, request);
  if (violation) problems.at(document, '/event', `the daemon would dead-letter this request as contract_violation: ${describeViolation(violation)}`);
  const differences: Difference[] = [];
  const { expect } = example;
  // A part rendered by a stand-in (its template did not compile, reported there) is not compared.
  const templates = templatesFor(sync, rendered.kind);
  const standInHeaders = new Set(templates.headers.filter(([, template]) => isStandIn(template)).map(([header]) => header.toLowerCase()));
  if (expect.method !== request.method) differences.push(difference('/expect/method', expect.method, request.method));
  if (expect.url !== request.url && !isStandIn(templates.url)) differences.push(difference('/expect/url', expect.url, request.url));
  for (const [header, value] of Object.entries(expect.headers ?? {})) {
    const actual = request.headers[header.toLowerCase()];
    if (actual !== value && !standInHeaders.has(header.toLowerCase())) differences.push(difference(pointerOf('expect', 'headers', header), value, actual));
  }
  const contentType = templates.contentType;
  if (isStandIn(templates.body)) {
    // not compared
  } else if (isJsonContentType(contentType)) {
    diffJson(expect.body, JSON.parse(request.body), '/expect/body', differences);
  } else if (expect.body !== request.body) {
    differences.push(difference('/expect/body', expect.body, request.body));
  }
  for (const found of differences.slice(0, MAX_DIFFERENCES)) {
    problems.at(document, found.pointer, `example does not match the rendered request: ${found.message}`);
  }
  if (differences.length > MAX_DIFFERENCES) {
    problems.at(document, '/expect', `example does not match the rendered request: ${differences.length - MAX_DIFFERENCES} more differences`);
  }
}

interface Difference {
  pointer: string;
  message: string;
}

function label(pointer: string): string {
  return pointer.replace(/^\/expect\//, '').replace(/~1/g, '/').replace(/~0/g, '~') || 'expect';
}

function difference(pointer: string, expected: unknown, actual: unknown): Difference {
  if (actual === undefined) return { pointer, message: `expected ${show(expected)}, but the rendered request has no ${label(pointer)}` };
  if (typeof expected === 'string' && typeof actual === 'string' && (JSON.stringify(expected).length > SHORT || JSON.stringify(actual).length > SHORT)) {
    return { pointer, message: stringDifference(expected, actual) };
  }
  return { pointer, message: `expected ${show(expected)}, rendered ${show(actual)}` };
}

/** Strings up to this long (as JSON) are shown whole; longer ones by their differing part. */
const SHORT = 60;
/** Characters of the common text shown on each side of the difference. */
const CONTEXT = 20;

/**
 * Two long strings by where they differ: the common start and end cut down to CONTEXT characters
 * around the differing middle, which is shown whole up to 2 × CONTEXT characters. Cutting both at
 * the same length hid the difference when it came after the cut.
 */
export function stringDifference(expected: string, actual: string): string {
  let start = 0;
  while (start < expected.length && start < actual.length && expected[start] === actual[start]) start++;
  let end = 0;
  while (end < expected.length - start && end < actual.length - start && expected[expected.length - 1 - end] === actual[actual.length - 1 - end]) end++;
  const excerpt = (text: string): string => {
    const middle = text.slice(start, text.length - end);
    const shownMiddle = middle.length > 2 * CONTEXT ? `${middle.slice(0, CONTEXT)}…${middle.slice(-CONTEXT)}` : middle;
    const before = start > CONTEXT ? `…${text.slice(start - CONTEXT, start)}` : text.slice(0, start);
    const after = end > CONTEXT ? `${text.slice(text.length - end, text.length - end + CONTEXT)}…` : text.slice(text.length - end);
    return `${JSON.stringify(before).slice(0, -1)}[${JSON.stringify(shownMiddle).slice(1, -1)}]${JSON.stringify(after).slice(1)}`;
  };
  return `differs at character ${start + 1}: expected ${excerpt(expected)}, rendered ${excerpt(actual)} (the differing part in [ ])`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural difference of two JSON values; object key order does not matter, types do (3 is not "3"). */
export function diffJson(expected: unknown, actual: unknown, pointer: string, out: Difference[]): void {
  if (isObject(expected) && isObject(actual)) {
    for (const [key, value] of Object.entries(expected)) {
      const child = `${pointer}${pointerOf(key)}`;
      if (!Object.hasOwn(actual, key)) out.push(difference(child, value, undefined));
      else diffJson(value, actual[key], child, out);
    }
    for (const key of Object.keys(actual)) {
      if (!Object.hasOwn(expected, key)) {
        out.push({ pointer, message: `the rendered request also has ${label(`${pointer}${pointerOf(key)}`)}: ${show(actual[key])}` });
      }
    }
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      out.push({ pointer, message: `expected ${expected.length} items, rendered ${actual.length}` });
    }
    for (let index = 0; index < Math.min(expected.length, actual.length); index++) {
      diffJson(expected[index], actual[index], `${pointer}/${index}`, out);
    }
    return;
  }
  if (!Object.is(expected, actual) && JSON.stringify(expected) !== JSON.stringify(actual)) out.push(difference(pointer, expected, actual));
}

/**
 * Examples are the folder's golden tests: a folder without any, or with an identify request and
 * no identify example, is a warning (exit 0; `validate --strict` makes it an error).
 */
export function warnAboutMissingExamples(dir: string, destination: LoadedDestination, examples: JsonDocument[], problems: Problems): void {
  const where = join(dir, EXAMPLES_DIR);
  if (examples.length === 0) {
    problems.warning(where, 'no examples: add examples/<case>.json ({"event", "expect"}) so the request this destination sends is reviewed and tested');
    return;
  }
  const isIdentify = (document: JsonDocument) => (document.value as DestinationExample).event?.event_type === '$identify';
  if (destination.identify && !examples.some(isIdentify)) {
    problems.warning(where, 'the destination has an identify request but no example of it: add an example whose event_type is "$identify"');
  }
}

/** The folder's examples/*.json, each checked against the schema. */
export function readExamples(dir: string, problems: Problems): JsonDocument[] {
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
