// The filters a template can use: ours (filters.ts) and an allow-list of nunjucks' own, each
// wrapped so that (1) a filter that can make much more than it was given (center, indent,
// replace, join, batch, slice, indented json) is refused *before* it runs when its result would
// pass the budget — nunjucks' `lib.repeat(' ', 200000000)` is an out-of-memory crash, not an
// exception —, (2) no call can hold the event loop: its input's size times the filter's measured
// cost per unit (COST_PER_UNIT) must fit the call budget before it runs, (3) a function is never
// an argument (String(fn) is its source) and (4) every result counts: no string or list over the
// limit leaves a filter. Filters that read a member by name (join, sum, selectattr, rejectattr)
// read it as a template would, through readMember. `replace` with a pattern (r/…/) runs on a
// linear-time matcher (linear-pattern.ts).
import { createRequire } from 'node:module';
import { FORBIDDEN_NAMES, isCallable, readMember, TemplateGuardError } from './data-guard.js';
import { KEYED_FILTERS, TEMPLATE_FILTERS } from './filters.js';
import { LinearPattern } from './linear-pattern.js';
import { budget } from './render-budget.js';
import { SecretTracker } from './secret-tracker.js';

type Filter = (this: unknown, ...args: unknown[]) => unknown;
/** A check before a filter runs; returns the size to charge the call for when it is more than its input's (the result it will make). */
type Precheck = (args: unknown[]) => number | void;

const builtin = createRequire(import.meta.url)('nunjucks/src/filters.js') as Record<string, Filter>;
const builtinTests = createRequire(import.meta.url)('nunjucks/src/tests.js') as Record<string, Filter>;

/** nunjucks filters kept as they are (each makes at most a few times what it is given), or with a check before. */
const KEPT = [
  'abs', 'batch', 'capitalize', 'default', 'd', 'dictsort', 'dump', 'first', 'float', 'groupby', 'indent', 'int',
  'last', 'length', 'list', 'lower', 'reject', 'reverse', 'round', 'select', 'slice', 'sort', 'string', 'title',
  'trim', 'truncate', 'upper', 'wordcount',
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

/**
 * A string's length as JSON writes it: a control character or a lone surrogate takes six characters
 * (`\u0001`), a quote, a backslash, \b \t \n \f \r two. Charged by this, not by its length, a
 * string of control characters costs what writing it costs (six times its length): one of ~1.1 M
 * characters was admitted at the length and took 110 ms.
 */
function jsonStringLength(text: string): number {
  let extra = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20) extra += code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 1 : 5;
    else if (code === 0x22 || code === 0x5c) extra += 1;
    else if (code >= 0xd800 && code <= 0xdfff) {
      const paired = code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00;
      if (paired) index++;
      else extra += 5;
    }
  }
  return text.length + 2 + extra;
}

function checkIndentedJson(args: unknown[]): number | void {
  // A long string (a short one is not charged) is charged by what JSON makes of it; indent adds nothing to a string.
  if (typeof args[0] === 'string') return args[0].length > SHORT_TEXT ? jsonStringLength(args[0]) : undefined;
  // Most calls are `json` without an indent: nothing to check, nothing to take apart.
  if (args.length < 2) return;
  const step = indentStep(args[1]);
  if (step === 0) return;
  const cap = budget.limits.maxOutputBytes;
  const size = textLength(args[0]) + indentation(args[0], step, 0, cap);
  budget.text(size, 'indented JSON');
  return size;
}

/** Checks before a filter runs, for the filters whose result can outgrow their input. */
const PRECHECKS: Record<string, Precheck> = {
  center: ([value, width]) => {
    const size = Math.max(textLength(value ?? ''), Number(width || 80));
    budget.text(size, 'center');
    return size;
  },
  indent: ([value, width]) => {
    const text = typeof value === 'string' ? value : String(value ?? '');
    const size = text.length + lineCount(text) * Number(width || 4);
    budget.text(size, 'indent');
    return size;
  },
  replace: ([value, old, replacement, maxCount]) => {
    // A pattern measures its result exactly, match by match (linear-pattern.ts).
    if (old instanceof LinearPattern) return;
    if (typeof value !== 'string' && typeof value !== 'object') return;
    const length = textLength(value);
    const oldLength = typeof old === 'string' || typeof old === 'number' ? String(old).length : 0;
    let count = oldLength === 0 ? length + 1 : Math.floor(length / oldLength);
    if (typeof maxCount === 'number' && maxCount >= 0) count = Math.min(count, maxCount);
    const size = length + count * Math.max(0, textLength(replacement) - oldLength);
    budget.text(size, 'replace');
    return size;
  },
  batch: ([, size, fill]) => {
    if (!fill) return;
    const count = Number(size);
    budget.tick(count, 'items made by batch');
    budget.text(count * textLength(fill), 'batch');
    return count * (1 + textLength(fill));
  },
  slice: ([, slices, fill]) => {
    const count = Number(slices) || 0;
    budget.tick(count, 'slices made by slice');
    if (fill) budget.text(count * textLength(fill), 'slice');
    return count * (1 + textLength(fill));
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

/** An unpaired UTF-16 surrogate: JSON lets a publisher write one ("\ud800"), and encodeURIComponent throws URIError on it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function wellFormed(value: unknown): unknown {
  return typeof value === 'string' ? value.replace(LONE_SURROGATE, '\ufffd') : value;
}

const nunjucksReplace = builtin.replace;

/** The text a pattern is run on: strings, numbers and a caller()'s output (nunjucks' SafeString, a String object). */
function patternInput(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || value instanceof String) return String(value);
  throw new Error(`replace: a pattern is run on text, not on ${value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}`);
}

const REPLACED = {
  /** With a pattern, the linear-time matcher (maxCount does not apply, as in nunjucks: the g flag decides); else nunjucks' own. */
  replace(this: unknown, value: unknown, old: unknown, replacement: unknown, maxCount: unknown) {
    if (!(old instanceof LinearPattern)) return nunjucksReplace.call(this, value, old, replacement, maxCount);
    if (typeof replacement === 'object' && replacement !== null) throw new Error('replace: the replacement must be text, not a list or dict');
    return old.replace(patternInput(value), String(replacement));
  },
  /** nunjucks' center, with the padding made by String.prototype.repeat: nunjucks' own loop took ~200 ns a space. */
  center(value: unknown, width: unknown) {
    const text = value === undefined || value === null || value === false ? '' : value;
    if (typeof text !== 'string' && !(text instanceof String)) return String(text);
    const wanted = Number(width || 80);
    if (!(text.length < wanted)) return text;
    const spaces = wanted - text.length;
    return ' '.repeat(Math.max(0, Math.ceil(spaces / 2 - (spaces % 2)))) + text + ' '.repeat(Math.ceil(spaces / 2));
  },
  /** nunjucks' urlencode, but a number or boolean is its text (nunjucks wrote "" for them, a URL losing the value in silence), and an unpaired surrogate is encoded as U+FFFD (`%EF%BF%BD`), as in a header, instead of failing the event. */
  urlencode(value: unknown) {
    if (typeof value === 'number' || typeof value === 'boolean') return encodeURIComponent(String(value));
    try {
      return builtin.urlencode(value);
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
      if (typeof value === 'string') return builtin.urlencode(wellFormed(value));
      const pairs = Array.isArray(value) ? value : Object.entries(value as object);
      return builtin.urlencode(pairs.map((pair) => (Array.isArray(pair) ? pair.map(wellFormed) : pair)));
    }
  },
  join(value: unknown, separator: unknown, attribute: unknown) {
    const read = attributeOf(attribute);
    const items = read ? asList(value, 'join').map(read) : asList(value, 'join');
    const between = separator || '';
    let length = Math.max(0, items.length - 1) * textLength(between);
    for (const item of items) length += textLength(item);
    budget.text(length, 'join');
    return items.join(between as string);
  },
  sum(value: unknown, attribute: unknown, start: unknown = 0) {
    const read = attributeOf(attribute);
    const items = read ? asList(value, 'sum').map(read) : asList(value, 'sum');
    if (!items.every((item) => typeof item === 'number')) {
      budget.text(items.reduce((total: number, item) => total + textLength(item), textLength(start)), 'sum');
    }
    return items.reduce((total: unknown, item) => (total as number) + (item as number), start);
  },
  selectattr(value: unknown, attribute: unknown) {
    const read = attributeOf(attribute) ?? ((item: unknown) => item);
    return asList(value, 'selectattr').filter((item) => !!read(item));
  },
  rejectattr(value: unknown, attribute: unknown) {
    const read = attributeOf(attribute) ?? ((item: unknown) => item);
    return asList(value, 'rejectattr').filter((item) => !read(item));
  },
} satisfies Record<string, Filter>;

type FilterName = (typeof KEPT)[number] | keyof typeof REPLACED | keyof typeof TEMPLATE_FILTERS;

/**
 * What one unit of a filter's input costs (about a nanosecond each, measured on the 2-core VM with
 * the worst input shape test/render/filter-cost.test.ts knows for it, rounded up). A unit is a
 * character of a string, or of a list or dict as text (budget.sizeOf: an item weighs at least 1).
 * 0: the call's time does not grow with its input. Every filter must be here (the type says so), and
 * the filter-cost test fails when a figure is too low for a call to stay well under 100 ms.
 */
export const COST_PER_UNIT: Readonly<Record<FilterName, number>> = {
  abs: 0,
  batch: 512,
  capitalize: 16,
  center: 4,
  default: 0,
  d: 0,
  dictsort: 512,
  dump: 128,
  first: 0,
  float: 8,
  groupby: 256,
  indent: 128,
  int: 8,
  last: 0,
  length: 128,
  list: 128,
  lower: 16,
  reject: 512,
  replace: 64,
  reverse: 64,
  round: 0,
  select: 128,
  slice: 64,
  sort: 256,
  string: 16,
  title: 256,
  trim: 4,
  truncate: 4,
  upper: 16,
  urlencode: 256,
  wordcount: 128,
  join: 32,
  sum: 128,
  selectattr: 64,
  rejectattr: 64,
  json: 64,
  iso8601: 4,
  unix_seconds: 4,
  unix_ms: 4,
  or_default: 0,
  compact: 256,
  truncate_bytes: 32,
  base64: 32,
  sha256: 16,
  sha256_email: 16,
  sha256_phone: 32,
  hmac_sha256: 16,
};

/** A function handed to a filter would be printed as its source (String(range)): a filter works with data. */
function refuseFunction(name: string): never {
  throw new TemplateGuardError(`filter ${name} was given a function: a filter works with data`);
}

/** A filter's arguments cannot name a way out of the data (sort(attribute="constructor")), nor be functions. */
function checkArguments(name: string, args: unknown[]): void {
  for (let index = 1; index < args.length; index++) {
    const arg = args[index];
    if (typeof arg === 'string' && FORBIDDEN_NAMES.has(arg)) throw new TemplateGuardError(`a filter argument cannot be "${arg}"`);
    if (typeof arg === 'function') refuseFunction(name);
    if (typeof arg === 'object' && arg !== null && Object.hasOwn(arg, '__keywords')) checkArguments(name, [undefined, ...Object.values(arg)]);
  }
}

/**
 * A filter's input in budget units (a list's or dict's size as text, counted up to `cap`). A plain
 * dict's first level is walked here, inline: `json` measures an event's properties on every render,
 * and this is twice as fast as the general walk.
 */
function inputSize(value: unknown, cap: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return budget.weightOf(value, cap);
  let total = 2;
  for (const key in value) {
    const member = (value as Record<string, unknown>)[key];
    total += 4 + key.length + (typeof member === 'string' ? member.length : typeof member === 'object' && member !== null ? budget.weightOf(member, cap - total) : 24);
    if (total >= cap) return cap;
  }
  return total;
}

/** A string this short is not charged: at the highest cost per unit (512) it costs 1/16 of DEFAULT_RENDER_MAX_CALL_COST. */
const SHORT_TEXT = 2_048;

/**
 * Filters whose one call may cost more than the call limit, by this factor. `json` writes a whole
 * event (the shipped webhook's body is `{{ input | json }}`): the largest event the daemon accepts
 * (maxEventBytes, 1 MiB by default, about 1.05 M units as json measures it, 64 each) must render, or
 * a valid event would be dead-lettered for its size; at the plain limit json was refused from about
 * 300 KB. 3.6 × 20 ms ≈ 72 ms: still under the 100 ms the filter-cost test holds every call to.
 */
export const CALL_LIMIT_SCALE: Partial<Record<FilterName, number>> = { json: 3.6 };

/** One more than the largest input a call at this cost per unit is admitted with: measuring stops there. */
function admittedCap(costPerUnit: number, limitScale = 1): number {
  return Math.floor((budget.limits.maxCallCost * limitScale) / costPerUnit) + 1;
}

function bounded(name: FilterName, filter: Filter): Filter {
  const precheck = PRECHECKS[name];
  const costPerUnit = COST_PER_UNIT[name];
  const limitScale = CALL_LIMIT_SCALE[name] ?? 1;
  const what = `the result of filter ${name}`;
  const call = `filter ${name}`;
  const valueOnly = KEYED_FILTERS.has(name);
  return function boundedFilter(this: unknown, ...args: unknown[]): unknown {
    if (typeof args[0] === 'function') refuseFunction(name);
    if (args.length > 1) checkArguments(name, args);
    const size = precheck ? precheck(args) : undefined;
    if (costPerUnit !== 0) {
      const value = args[0];
      // A short string (most of them) costs at most a 16th of the call limit: nothing to charge.
      if (typeof value !== 'string' || value.length > SHORT_TEXT || size !== undefined) {
        const input = typeof value === 'string' ? value.length : inputSize(value, admittedCap(costPerUnit, limitScale));
        budget.call(size !== undefined && size > input ? size : input, costPerUnit, call, limitScale);
      }
    }
    const result = filter.apply(this, args);
    if (typeof result === 'function' && !isCallable(result)) throw new TemplateGuardError(`filter ${name} returned a function`);
    budget.value(result, what);
    // A render with real secrets learns which strings its filters derived from them (redacted like the secrets).
    SecretTracker.observeFilter(args, result, valueOnly);
    return result;
  };
}

/**
 * nunjucks' text filters given a number or a boolean: `lower` threw "str.toLowerCase is not a
 * function" for 5 and wrote "" for false, `center` padded false's "". They take its text, as
 * `string` writes it (Jinja's do the same).
 */
const TEXT_FILTERS: ReadonlySet<string> = new Set(['capitalize', 'center', 'indent', 'lower', 'title', 'trim', 'truncate', 'upper', 'wordcount']);

/**
 * nunjucks' list filters given a number or a boolean answered [] or {} in silence (`sort`,
 * `reverse`, `select`, `reject`, `batch`, `groupby`), 0 for false's `length`, or failed as if the
 * event had no such value (`first`, `last`): refused, naming the filter and what it was given.
 */
const LIST_FILTERS: ReadonlySet<string> = new Set(['batch', 'dictsort', 'first', 'groupby', 'last', 'length', 'list', 'reject', 'reverse', 'select', 'slice', 'sort']);

/**
 * nunjucks' `float` and `int` of a boolean parsed its text ("true"), found no number and answered
 * their default, undefined without one: the render then failed as if the event had no such value.
 * They take true as 1 and false as 0, as Jinja's do.
 */
const NUMBER_FILTERS: ReadonlySet<string> = new Set(['float', 'int']);

function isScalar(value: unknown): value is number | boolean {
  return typeof value === 'number' || typeof value === 'boolean';
}

/** A builtin filter with numbers and booleans handled as above. */
function withScalars(name: string, filter: Filter): Filter {
  if (TEXT_FILTERS.has(name)) {
    return function textOfScalar(this: unknown, value: unknown, ...rest: unknown[]) {
      return filter.call(this, isScalar(value) ? String(value) : value, ...rest);
    };
  }
  if (NUMBER_FILTERS.has(name)) {
    return function numberOfBoolean(this: unknown, value: unknown, ...rest: unknown[]) {
      return filter.call(this, typeof value === 'boolean' ? Number(value) : value, ...rest);
    };
  }
  if (LIST_FILTERS.has(name)) {
    return function listNotScalar(this: unknown, value: unknown, ...rest: unknown[]) {
      if (isScalar(value)) throw new Error(`${name}: takes ${name === 'dictsort' ? 'a dict' : 'a list'}${name === 'length' || name === 'reverse' ? ' or text' : ''}, not a ${typeof value} (${String(value)})`);
      return filter.call(this, value, ...rest);
    };
  }
  return filter;
}

function buildFilters(): Readonly<Record<string, Filter>> {
  const filters: Record<string, Filter> = Object.create(null);
  for (const name of KEPT) filters[name] = bounded(name, withScalars(name, builtin[name]));
  for (const [name, filter] of Object.entries(REPLACED)) filters[name] = bounded(name as FilterName, withScalars(name, filter as Filter));
  for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) filters[name] = bounded(name as FilterName, filter as Filter);
  return Object.freeze(filters);
}

/** Every filter a template can use, by name (a null-prototype object: `toString` is not a filter). */
export const BOUNDED_FILTERS = buildFilters();

/**
 * What one unit of a test's inputs costs, as COST_PER_UNIT for filters: the tests that compare or
 * read their whole input (a number test parses a string) are charged for both of their values; the
 * others answer from its type alone and run as nunjucks wrote them. A test not listed is charged as
 * a comparing one.
 */
export const TEST_COST_PER_UNIT: Readonly<Record<string, number>> = {
  callable: 0,
  defined: 0,
  escaped: 0,
  falsy: 0,
  iterable: 0,
  mapping: 0,
  null: 0,
  number: 0,
  string: 0,
  truthy: 0,
  undefined: 0,
  divisibleby: 32,
  even: 32,
  odd: 32,
  equalto: 32,
  eq: 32,
  sameas: 32,
  ne: 32,
  ge: 32,
  greaterthan: 32,
  gt: 32,
  le: 32,
  lessthan: 32,
  lt: 32,
  lower: 32,
  upper: 32,
};
const COMPARING_TEST_COST = 32;

function boundedTest(name: string, test: Filter): Filter {
  const costPerUnit = Object.hasOwn(TEST_COST_PER_UNIT, name) ? TEST_COST_PER_UNIT[name] : COMPARING_TEST_COST;
  if (costPerUnit === 0) return test;
  const call = `test ${name}`;
  return function boundedTest(this: unknown, ...args: unknown[]): unknown {
    const cap = admittedCap(costPerUnit);
    const [a, b] = args;
    budget.call((typeof a === 'string' ? a.length : inputSize(a, cap)) + (typeof b === 'string' ? b.length : inputSize(b, cap)), costPerUnit, call);
    return test.apply(this, args);
  };
}

/** nunjucks' tests (`is defined`, `is number`, …): each only answers true or false; those that read their whole input are charged for it. */
export const TEMPLATE_TESTS: Readonly<Record<string, Filter>> = Object.freeze(
  Object.assign(Object.create(null), Object.fromEntries(Object.entries(builtinTests).map(([name, test]) => [name, boundedTest(name, test)]))),
);
