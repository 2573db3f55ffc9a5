// The filters a template can use: ours (filters.ts) and an allow-list of nunjucks' own, each
// wrapped so that (1) a filter that can make much more than it was given (center, indent,
// replace, join, batch, slice, indented json) is refused *before* it runs when its result would
// pass the budget — nunjucks' `lib.repeat(' ', 200000000)` is an out-of-memory crash, not an
// exception — and (2) every result counts: no string or list over the limit leaves a filter.
// Filters that read a member by name (join, sum, selectattr, rejectattr) read it as a template
// would, through readMember.
import { createRequire } from 'node:module';
import { FORBIDDEN_NAMES, isCallable, readMember, TemplateGuardError } from './data-guard.js';
import { KEYED_FILTERS, TEMPLATE_FILTERS } from './filters.js';
import { budget } from './render-budget.js';
import { SecretTracker } from './secret-tracker.js';

type Filter = (this: unknown, ...args: unknown[]) => unknown;
type Precheck = (args: unknown[]) => void;

const builtin = createRequire(import.meta.url)('nunjucks/src/filters.js') as Record<string, Filter>;
const builtinTests = createRequire(import.meta.url)('nunjucks/src/tests.js') as Record<string, Filter>;

/** nunjucks filters kept as they are (each makes at most a few times what it is given), or with a check before. */
const KEPT = [
  'abs', 'batch', 'capitalize', 'center', 'default', 'd', 'dictsort', 'dump', 'first', 'float', 'groupby', 'indent', 'int',
  'last', 'length', 'list', 'lower', 'reject', 'replace', 'reverse', 'round', 'select', 'slice', 'sort', 'string', 'title',
  'trim', 'truncate', 'upper', 'urlencode', 'wordcount',
] as const;
// Left out: escape, e, forceescape, safe, nl2br, striptags, urlize (HTML, and autoescape is off) and random (a golden test cannot hold).

function textLength(value: unknown): number {
  return typeof value === 'string' ? value.length : budget.sizeOf(value);
}

/** Lines in a string, counted without splitting it. */
function lineCount(text: string): number {
  let lines = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

/** JSON.stringify's indentation step for `indent` (it caps it at 10). */
function indentStep(indent: unknown): number {
  if (typeof indent === 'number') return Math.min(10, Math.max(0, Math.floor(indent)));
  if (typeof indent === 'string') return Math.min(10, indent.length);
  return 0;
}

/** The characters indentation adds to JSON.stringify(value): a line break and the indent per member and per closing bracket. */
function indentation(value: unknown, step: number, depth: number, cap: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  const members = Array.isArray(value) ? value : Object.values(value);
  let extra = 1 + depth * step;
  for (const member of members) {
    extra += 3 + (depth + 1) * step + indentation(member, step, depth + 1, cap);
    if (extra > cap) break;
  }
  return extra;
}

function checkIndentedJson(args: unknown[]): void {
  // Most calls are `json` without an indent: nothing to check, nothing to take apart.
  if (args.length < 2) return;
  const step = indentStep(args[1]);
  if (step === 0) return;
  const cap = budget.limits.maxOutputBytes;
  budget.text(textLength(args[0]) + indentation(args[0], step, 0, cap), 'indented JSON');
}

/** Checks before a filter runs, for the filters whose result can outgrow their input. */
const PRECHECKS: Record<string, Precheck> = {
  center: ([value, width]) => budget.text(Math.max(textLength(value ?? ''), Number(width || 80)), 'center'),
  indent: ([value, width]) => {
    const text = typeof value === 'string' ? value : String(value ?? '');
    budget.text(text.length + lineCount(text) * Number(width || 4), 'indent');
  },
  replace: ([value, old, replacement, maxCount]) => {
    if (typeof value !== 'string' && typeof value !== 'object') return;
    const length = textLength(value);
    const oldLength = typeof old === 'string' || typeof old === 'number' ? String(old).length : 0;
    let count = oldLength === 0 ? length + 1 : Math.floor(length / oldLength);
    if (typeof maxCount === 'number' && maxCount >= 0) count = Math.min(count, maxCount);
    budget.text(length + count * Math.max(0, textLength(replacement) - oldLength), 'replace');
  },
  batch: ([, size, fill]) => {
    if (!fill) return;
    const count = Number(size);
    budget.tick(count, 'items made by batch');
    budget.text(count * textLength(fill), 'batch');
  },
  slice: ([, slices, fill]) => {
    const count = Number(slices) || 0;
    budget.tick(count, 'slices made by slice');
    if (fill) budget.text(count * textLength(fill), 'slice');
  },
  list: ([value]) => {
    if (typeof value === 'string') budget.tick(value.length, 'items made by list');
  },
  reverse: ([value]) => {
    if (typeof value === 'string') budget.tick(value.length, 'items made by reverse');
  },
  string: ([value]) => budget.text(textLength(value), 'string'),
  dump: checkIndentedJson,
  json: checkIndentedJson,
};

/** Members read by name, as a template reads them. */
function attributeOf(attribute: unknown): ((item: unknown) => unknown) | undefined {
  return attribute === undefined || attribute === null || attribute === '' ? undefined : (item) => readMember(item, attribute);
}

function asList(value: unknown, filter: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${filter}: not a list`);
  return value;
}

const REPLACED: Record<string, Filter> = {
  join(value, separator, attribute) {
    const read = attributeOf(attribute);
    const items = read ? asList(value, 'join').map(read) : asList(value, 'join');
    const between = separator || '';
    let length = Math.max(0, items.length - 1) * textLength(between);
    for (const item of items) length += textLength(item);
    budget.text(length, 'join');
    return items.join(between as string);
  },
  sum(value, attribute, start = 0) {
    const read = attributeOf(attribute);
    const items = read ? asList(value, 'sum').map(read) : asList(value, 'sum');
    if (!items.every((item) => typeof item === 'number')) {
      budget.text(items.reduce((total: number, item) => total + textLength(item), textLength(start)), 'sum');
    }
    return items.reduce((total: unknown, item) => (total as number) + (item as number), start);
  },
  selectattr(value, attribute) {
    const read = attributeOf(attribute) ?? ((item: unknown) => item);
    return asList(value, 'selectattr').filter((item) => !!read(item));
  },
  rejectattr(value, attribute) {
    const read = attributeOf(attribute) ?? ((item: unknown) => item);
    return asList(value, 'rejectattr').filter((item) => !read(item));
  },
};

/** A filter's arguments cannot name a way out of the data (sort(attribute="constructor")). */
function checkArguments(args: unknown[]): void {
  for (let index = 1; index < args.length; index++) {
    const arg = args[index];
    if (typeof arg === 'string' && FORBIDDEN_NAMES.has(arg)) throw new TemplateGuardError(`a filter argument cannot be "${arg}"`);
    if (typeof arg === 'object' && arg !== null && Object.hasOwn(arg, '__keywords')) checkArguments([undefined, ...Object.values(arg)]);
  }
}

function bounded(name: string, filter: Filter): Filter {
  const precheck = PRECHECKS[name];
  const what = `the result of filter ${name}`;
  const valueOnly = KEYED_FILTERS.has(name);
  return function boundedFilter(this: unknown, ...args: unknown[]): unknown {
    if (args.length > 1) checkArguments(args);
    if (precheck) precheck(args);
    const result = filter.apply(this, args);
    if (typeof result === 'function' && !isCallable(result)) throw new TemplateGuardError(`filter ${name} returned a function`);
    budget.value(result, what);
    // A render with real secrets learns which strings its filters derived from them (redacted like the secrets).
    SecretTracker.observeFilter(args, result, valueOnly);
    return result;
  };
}

function buildFilters(): Readonly<Record<string, Filter>> {
  const filters: Record<string, Filter> = Object.create(null);
  for (const name of KEPT) filters[name] = bounded(name, builtin[name]);
  for (const [name, filter] of Object.entries(REPLACED)) filters[name] = bounded(name, filter);
  for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) filters[name] = bounded(name, filter as Filter);
  return Object.freeze(filters);
}

/** Every filter a template can use, by name (a null-prototype object: `toString` is not a filter). */
export const BOUNDED_FILTERS = buildFilters();

/** nunjucks' tests (`is defined`, `is number`, …): each only answers true or false. */
export const TEMPLATE_TESTS: Readonly<Record<string, Filter>> = Object.freeze(Object.assign(Object.create(null), builtinTests));
