// A strict reader of the Prometheus text format for tests: every family declared (HELP, TYPE)
// before its samples, samples of a family together, names and label values well formed.
import assert from 'node:assert/strict';

export interface Scrape {
  types: Map<string, string>;
  /** `name{a="1",b="2"}` (labels sorted) → value. */
  samples: Map<string, number>;
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;

export function key(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((label) => `${label}="${labels[label]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
  }
  return name;
}

export function parsePrometheus(text: string): Scrape {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples = new Map<string, number>();
  const closed = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      helped.add(line.split(' ')[2]);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      assert.ok(!types.has(name), `${name} declared once`);
      assert.ok(helped.has(name), `${name} has HELP before TYPE`);
      assert.match(type, /^(counter|gauge|histogram|summary|untyped)$/);
      if (current) closed.add(current);
      types.set(name, type);
      current = name;
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match, `a well-formed sample line: ${line}`);
    const [, name, labelText, valueText] = match;
    const family = familyOf(name, types);
    assert.equal(family, current, `${name} sits under its own family`);
    assert.ok(!closed.has(family), `${family}'s samples are together`);
    if (types.get(family) === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`);
    const labels: Record<string, string> = {};
    if (labelText) {
      let consumed = 0;
      for (const label of labelText.matchAll(LABEL)) {
        labels[label[1]] = label[2];
        consumed += label[0].length;
      }
      assert.equal(consumed, labelText.length, `labels parse whole: ${labelText}`);
    }
    const value = valueText === '+Inf' ? Infinity : valueText === 'NaN' ? NaN : Number(valueText);
    assert.ok(!Number.isNaN(value) || valueText === 'NaN', `a number: ${valueText}`);
    const sampleKey = key(name, labels);
    assert.ok(!samples.has(sampleKey), `one sample per series: ${sampleKey}`);
    samples.set(sampleKey, value);
  }
  return { types, samples, value: (name, labels) => samples.get(key(name, labels)) };
}
