// No call a template can make holds the event loop: for every filter, global and test a template
// can reach (listed from what is registered, so a new one without a shape here fails), each input
// shape below is grown ×4 at a time through a real render until the budget refuses it. The CPU time
// of the largest admitted call, extrapolated with the growth measured between the last two sizes
// (at least linear) to the largest size the budget admits (its call limit ÷ the filter's cost per
// unit), must stay under 100 ms. Calls that are not charged (their cost does not grow with
// their input) must stay as cheap at the largest input tried. The method is in docs/decisions.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BOUNDED_FILTERS, CALL_LIMIT_SCALE, COST_PER_UNIT, TEMPLATE_TESTS, TEST_COST_PER_UNIT } from '../../daemon/render/bounded-filters.js';
import { compileTemplate, RenderError } from '../../daemon/render/index.js';
import { budget, DEFAULT_RENDER_LIMITS } from '../../daemon/render/render-budget.js';
import { TEMPLATE_GLOBALS } from '../../daemon/render/template-globals.js';
import { SCHEMA_DIR } from '../../daemon/paths.js';

/** A call may take at most this at the largest input the budget admits: the budget refuses before a call takes 100 ms. */
const MAX_CALL_MS = 100;
/** Inputs are grown ×4 from FIRST_SIZE up to this many units: a call that is not charged (its cost does not grow with its input) is measured at the largest string a template can make. */
const LARGEST_UNCHARGED = DEFAULT_RENDER_LIMITS.maxOutputBytes;
const FIRST_SIZE = 256;

interface Shape {
  /** The expression, reading `v` (grown) and `w`. */
  call: string;
  grow: (n: number) => { v: unknown; w?: unknown };
  /** Refused by the clock of the call (replace with a pattern), not by its size. */
  clock?: boolean;
  /** The filter's CALL_LIMIT_SCALE. */
  limitScale?: number;
}

// Inputs of about n units (characters as text): the shapes that cost most per unit for each filter.
const text = (n: number) => ({ v: 'x'.repeat(n) });
const words = (n: number) => ({ v: 'a '.repeat(n >> 1) });
const lines = (n: number) => ({ v: '\n'.repeat(n) });
const accents = (n: number) => ({ v: 'é'.repeat(n) });
const digits = (n: number) => ({ v: '1'.repeat(n) });
const empties = (n: number) => ({ v: Array.from({ length: n }, () => '') });
const numbers = (n: number) => ({ v: Array.from({ length: Math.ceil(n / 25) }, (_, i) => (i * 7919) % 1000) });
const strings = (n: number) => ({ v: Array.from({ length: Math.ceil(n / 9) }, (_, i) => `s${(i * 7919) % 1_000_003}`) });
const records = (n: number) => ({ v: Array.from({ length: Math.ceil(n / 32) }, (_, i) => ({ a: i })) });
const keys = (n: number) => ({ v: Object.fromEntries(Array.from({ length: Math.ceil(n / 10) }, (_, i) => [`k${i}`, ''])) });
const nested = (n: number) => {
  const leaf = Array.from({ length: 64 }, () => '');
  return { v: Array.from({ length: Math.ceil(n / 65) }, () => leaf) };
};

/** Two equal texts that are not the same string (so comparing them reads them). */
const twoTexts = (n: number) => ({ v: 'x'.repeat(n), w: 'x'.repeat(n - 1) + 'x' });

const FILTER_SHAPES: Record<string, Shape[]> = {
  abs: [{ call: 'w | abs', grow: (n) => ({ v: n, w: -n }) }],
  batch: [{ call: 'v | batch(3)', grow: empties }, { call: 'v | batch(3, "x")', grow: empties }],
  capitalize: [{ call: 'v | capitalize', grow: words }],
  center: [{ call: 'v | center(10)', grow: text }, { call: '"x" | center(w)', grow: (n) => ({ v: n, w: n }) }],
  default: [{ call: 'nothing | default(v)', grow: text }],
  d: [{ call: 'nothing | d(v)', grow: text }],
  dictsort: [{ call: 'v | dictsort', grow: keys }],
  dump: [{ call: 'v | dump', grow: empties }, { call: 'v | dump(2)', grow: nested }, { call: 'v | dump', grow: keys }],
  first: [{ call: 'v | first', grow: empties }],
  float: [{ call: 'v | float', grow: digits }],
  groupby: [{ call: 'v | groupby("a")', grow: records }],
  indent: [{ call: 'v | indent(4)', grow: lines }],
  int: [{ call: 'v | int', grow: digits }],
  last: [{ call: 'v | last', grow: empties }],
  length: [{ call: 'v | length', grow: keys }],
  list: [{ call: 'v | list', grow: keys }, { call: 'v | list', grow: text }],
  lower: [{ call: 'v | lower', grow: accents }],
  reject: [{ call: 'v | reject("odd")', grow: empties }],
  replace: [
    { call: 'v | replace("x", "yy")', grow: text },
    { call: 'v | replace("", "")', grow: text },
    { call: 'v | replace(r/(.*x){20}/, "$1")', grow: text },
    { call: 'v | replace(r/(x+x+)+y/g, "")', grow: text },
    { call: 'v | replace(r/x|(x)/g, "$1$`")', grow: text },
    { call: 'v | replace(r/x.*y|x/g, "")', grow: text, clock: true },
  ],
  reverse: [{ call: 'v | reverse', grow: empties }, { call: 'v | reverse', grow: text }],
  round: [{ call: 'w | round', grow: (n) => ({ v: n, w: n / 3 }) }],
  select: [{ call: 'v | select("odd")', grow: empties }],
  slice: [{ call: 'v | slice(3)', grow: empties }],
  sort: [{ call: 'v | sort', grow: strings }, { call: 'v | sort', grow: numbers }, { call: 'v | sort(false, false, "a")', grow: records }],
  string: [{ call: 'v | string', grow: empties }, { call: 'v | string', grow: numbers }],
  title: [{ call: 'v | title', grow: words }],
  trim: [{ call: 'v | trim', grow: (n) => ({ v: ' '.repeat(n) }) }],
  truncate: [{ call: 'v | truncate(w)', grow: (n) => ({ v: 'a '.repeat(n >> 1), w: n - 5 }) }],
  upper: [{ call: 'v | upper', grow: accents }],
  urlencode: [{ call: 'v | urlencode', grow: accents }, { call: 'v | urlencode', grow: keys }],
  wordcount: [{ call: 'v | wordcount', grow: words }],
  join: [{ call: 'v | join(",")', grow: empties }, { call: 'v | join(",", "a")', grow: records }],
  sum: [{ call: 'v | sum', grow: numbers }, { call: 'v | sum("a")', grow: records }, { call: 'v | sum(start="")', grow: empties }],
  selectattr: [{ call: 'v | selectattr("a")', grow: records }],
  rejectattr: [{ call: 'v | rejectattr("a")', grow: records }],
  json: [
    { call: 'v | json', grow: empties },
    { call: 'v | json', grow: keys },
    { call: 'v | json', grow: nested },
    { call: 'v | json', grow: (n) => ({ v: '\u0001'.repeat(n) }) },
    { call: 'v | json(2)', grow: nested },
  ],
  iso8601: [{ call: 'v | iso8601', grow: digits }],
  unix_seconds: [{ call: 'v | unix_seconds', grow: digits }],
  unix_ms: [{ call: 'v | unix_ms', grow: digits }],
  or_default: [{ call: 'nothing | or_default(v)', grow: text }],
  compact: [{ call: 'v | compact', grow: keys }],
  truncate_bytes: [{ call: 'v | truncate_bytes(w)', grow: (n) => ({ v: 'é'.repeat(n), w: n }) }],
  base64: [{ call: 'v | base64', grow: accents }],
  sha256: [{ call: 'v | sha256', grow: accents }],
  sha256_email: [{ call: 'v | sha256_email', grow: (n) => ({ v: `${'a'.repeat(n)}@b` }) }],
  sha256_phone: [{ call: 'v | sha256_phone', grow: (n) => ({ v: `+1${' -'.repeat(n >> 1)}5` }) }],
  hmac_sha256: [{ call: 'v | hmac_sha256("key")', grow: accents }],
};

const GLOBAL_SHAPES: Record<string, Shape[]> = {
  range: [{ call: 'range(w)', grow: (n) => ({ v: n, w: n }) }],
  joiner: [{ call: 'joiner(v)', grow: text }],
};

/** A test `v is NAME(w)`: every one is given the same long text twice (eq compares it, lower reads it all). */
const testShapes = (name: string): Shape[] => [{ call: TEMPLATE_TESTS[name].length >= 2 ? `v is ${name}(w)` : `v is ${name}`, grow: twoTexts }];

interface Point {
  n: number;
  /** What the budget charged the call for (units), and at what cost per unit (0: not charged). */
  size: number;
  costPerUnit: number;
  ms: number;
  refused: boolean;
}

/** CPU milliseconds of one render (best of `runs`), and whether the budget refused it. */
function timeRender(render: (context: object) => string, context: object, runs: number): { ms: number; refused: boolean } {
  let best = Infinity;
  let refused = false;
  for (let run = 0; run < runs && !refused; run++) {
    const before = process.cpuUsage();
    try {
      render(context);
    } catch (error) {
      // Any other failure (a date that is not one) still ran the call: its time counts.
      if (!(error instanceof RenderError)) throw error;
      refused = /render budget exceeded/.test(error.message);
    }
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1_000);
    if (best > 10) break;
  }
  return { ms: best, refused };
}

interface Verdict {
  /** CPU ms of the largest call the budget admits (measured there), or of the largest input tried when calls are not charged. */
  largestMs: number;
  /** The size at which one call would take 100 ms, extrapolated from the last two sizes with their measured growth. */
  sizeAt100Ms: number;
  points: Point[];
}

function measure(shape: Shape): Verdict {
  const template = compileTemplate(`{% set r = ${shape.call} %}`, 'cost.njk');
  const run = (n: number): Point => {
    const { ms, refused } = timeRender((context) => template.render(context), shape.grow(n), 2);
    const { size, costPerUnit } = budget.heaviestCall;
    return { n, size: costPerUnit === 0 ? n : size, costPerUnit, ms, refused };
  };
  // Warmed up first: the first calls of a filter run before the JIT has compiled it.
  for (let warm = 0; warm < 5; warm++) timeRender((context) => template.render(context), shape.grow(FIRST_SIZE), 1);
  const points: Point[] = [];
  for (let n = FIRST_SIZE; ; n = Math.min(n * 4, LARGEST_UNCHARGED)) {
    const point = run(n);
    points.push(point);
    if (point.refused || n === LARGEST_UNCHARGED) break;
  }
  const admitted = points.filter((point) => !point.refused);
  let last = admitted.at(-1);
  const charged = admitted.find((point) => point.costPerUnit !== 0);
  if (last !== undefined && charged !== undefined && !shape.clock) {
    // Measured at the largest size the budget admits (its call limit ÷ the cost per unit), found from the last size admitted.
    const largest = (DEFAULT_RENDER_LIMITS.maxCallCost * (shape.limitScale ?? 1)) / charged.costPerUnit;
    for (let scale = 0.98; scale > 0.5; scale *= 0.9) {
      const point = run(Math.floor(last.n * (largest / last.size) * scale));
      points.push(point);
      if (!point.refused) {
        last = point;
        break;
      }
    }
  }
  const largestMs = shape.clock ? Math.max(...points.map((point) => point.ms)) : (last?.ms ?? 0);
  const timed = admitted.filter((point) => point.ms >= 0.5);
  let growth = 1;
  if (timed.length >= 2) {
    const [a, b] = timed.slice(-2);
    growth = Math.min(2, Math.max(1, Math.log(b.ms / a.ms) / Math.log(b.size / a.size)));
  }
  const sizeAt100Ms = last === undefined || last.ms <= 0 ? Infinity : last.size * (100 / Math.max(last.ms, 0.01)) ** (1 / growth);
  return { largestMs, sizeAt100Ms, points };
}

function describePoints(points: Point[]): string {
  return points.map((point) => `${point.size}×${point.costPerUnit}: ${point.ms.toFixed(2)} ms${point.refused ? ' (refused)' : ''}`).join(', ');
}

describe('render: the cost of one call', () => {
  it('has input shapes for every filter, global and test a template can reach', () => {
    assert.deepEqual(Object.keys(FILTER_SHAPES).sort(), Object.keys(BOUNDED_FILTERS).sort(), 'filters without a shape here, or shapes of no filter');
    assert.deepEqual(Object.keys(COST_PER_UNIT).sort(), Object.keys(BOUNDED_FILTERS).sort());
    assert.deepEqual(Object.keys(GLOBAL_SHAPES).sort(), Object.keys(TEMPLATE_GLOBALS).sort(), 'globals without a shape here');
    assert.deepEqual(Object.keys(TEST_COST_PER_UNIT).sort(), Object.keys(TEMPLATE_TESTS).sort(), 'tests without a cost per unit');
  });

  const all: [string, Shape][] = [
    ...Object.entries(FILTER_SHAPES).flatMap(([name, shapes]) =>
      shapes.map((shape): [string, Shape] => [`filter ${name}`, { ...shape, limitScale: CALL_LIMIT_SCALE[name as keyof typeof CALL_LIMIT_SCALE] }]),
    ),
    ...Object.entries(GLOBAL_SHAPES).flatMap(([name, shapes]) => shapes.map((shape): [string, Shape] => [`global ${name}`, shape])),
    ...Object.keys(TEMPLATE_TESTS).flatMap((name) => testShapes(name).map((shape): [string, Shape] => [`test ${name}`, shape])),
  ];

  it('admits json of the largest event the daemon accepts, made of short text properties', () => {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, 'daemon-config.schema.json'), 'utf8')) as { properties: { maxEventBytes: { default: number } } };
    const maxEventBytes = schema.properties.maxEventBytes.default;
    const properties: Record<string, string> = {};
    const event = { event_type: 'purchase', user_id: 'u-1', insert_id: 'i-1', event_properties: properties };
    // Each property adds `"p<i>":"<value>",` to the event's JSON text.
    let length = JSON.stringify(event).length;
    for (let i = 0; length < maxEventBytes - 64; i++) {
      const value = `value ${i} of the event`;
      properties[`p${i}`] = value;
      length += `"p${i}":${JSON.stringify(value)},`.length;
    }
    assert.ok(JSON.stringify(event).length <= maxEventBytes);
    const template = compileTemplate('{{ input | json }}', 'body.njk');
    assert.equal(template.render({ input: event }).length, JSON.stringify(event).length);
  });

  it(`no call the budget admits takes more than ${MAX_CALL_MS} ms (CPU) with the costliest input known for it`, () => {
    const failures: string[] = [];
    const report: string[] = [];
    for (const [name, shape] of all) {
      // A shape over the limit is measured twice more, keeping the fastest: the machine may have been busy.
      let verdict = measure(shape);
      for (let retry = 0; retry < 2 && verdict.largestMs > MAX_CALL_MS; retry++) {
        const again = measure(shape);
        if (again.largestMs < verdict.largestMs) verdict = again;
      }
      const line = `${name}: ${shape.call}: ${verdict.largestMs.toFixed(1)} ms at the largest admitted; 100 ms at ~${verdict.sizeAt100Ms.toPrecision(2)} units (${describePoints(verdict.points.slice(-3))})`;
      report.push(line);
      if (verdict.largestMs > MAX_CALL_MS) failures.push(line);
    }
    if (process.env.FILTER_COST_REPORT) console.log(report.join('\n'));
    assert.deepEqual(failures, []);
  });
});
