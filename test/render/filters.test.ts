import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64, compact, iso8601, json, orDefault, truncateBytes, unixMs, unixSeconds } from '../../daemon/render/filters.js';
import { compileTemplate } from '../../daemon/render/index.js';

describe('render filters', () => {
  it('json makes a valid JSON string of quotes, backslashes, newlines and control characters', () => {
    const nasty = 'say "hi"\\ \n\r\t \u0000 \u001f end';
    const encoded = json(nasty);
    assert.equal(JSON.parse(encoded), nasty);
    assert.doesNotMatch(encoded, /\n/);
  });

  it('json keeps unicode as it is and escapes U+2028 and U+2029', () => {
    assert.equal(json('ünï 😀 中文'), '"ünï 😀 中文"');
    assert.equal(json('a\u2028b\u2029c'), '"a\\u2028b\\u2029c"');
    assert.equal(JSON.parse(json('a\u2028b')), 'a\u2028b');
  });

  it('json keeps every digit of a bigint, as a JSON number', () => {
    assert.equal(json(12345678901234567890123n), '12345678901234567890123');
    assert.equal(json({ id: 9007199254740993n, name: 'x' }), '{"id":9007199254740993,"name":"x"}');
  });

  it('json keeps a key or a string spelled like a bigint mark as text, so its output stays JSON', () => {
    // A fixed mark ("\u0000bigint\u0000") let an event's key become a bare number: {1:"x",…} is not JSON.
    for (const mark of ['\u0000bigint\u0000', '\u0000', '']) {
      const forged = `${mark}1${mark}`;
      const value = { [forged]: forged, big: 12345678901234567890n };
      const text = json(value);
      assert.deepEqual(Object.keys(JSON.parse(text)), [forged, 'big'], text);
      assert.equal(JSON.parse(text)[forged], forged);
      assert.match(text, /"big":12345678901234567890}$/);
    }
  });

  it('json writes NaN and Infinity as null', () => {
    assert.equal(json(Number.NaN), 'null');
    assert.equal(json(Number.POSITIVE_INFINITY), 'null');
    assert.equal(json([1, Number.NaN]), '[1,null]');
  });

  it('json refuses undefined instead of writing null: a missing value is never silent', () => {
    assert.throws(() => json(undefined), /json: the value is undefined: write default/);
  });

  it('json keeps numbers, booleans, lists and objects as their JSON types', () => {
    assert.equal(json(79.99), '79.99');
    assert.equal(json(true), 'true');
    assert.equal(json(['sale', 2]), '["sale",2]');
    assert.equal(json({ a: { b: [null] } }), '{"a":{"b":[null]}}');
  });

  it('json inside a template produces a parseable document whatever the value holds', () => {
    const template = compileTemplate('{"v": {{ value | json }}}', 'body.njk');
    for (const value of ['"}', '{{ x }}', '\u2028', "it's", 42, [1, { a: '"' }], null]) {
      assert.deepEqual(JSON.parse(template.render({ value })), { v: value });
    }
  });

  it('iso8601 formats milliseconds as UTC seconds, or milliseconds when asked', () => {
    assert.equal(iso8601(1641490144000), '2022-01-06T17:29:04Z');
    assert.equal(iso8601(1641490144123), '2022-01-06T17:29:04Z');
    assert.equal(iso8601(1641490144123, 'ms'), '2022-01-06T17:29:04.123Z');
    assert.equal(iso8601('2022-01-06T18:29:04+01:00'), '2022-01-06T17:29:04Z');
  });

  it('unix_seconds floors and unix_ms keeps milliseconds', () => {
    assert.equal(unixSeconds(1641490144999), 1641490144);
    assert.equal(unixMs(1641490144123), 1641490144123);
    assert.equal(unixSeconds('2022-01-06T17:29:04Z'), 1641490144);
  });

  it('time filters throw on something that is not a time', () => {
    assert.throws(() => iso8601('yesterday'), /iso8601: not a time: "yesterday"/);
    assert.throws(() => unixSeconds(undefined), /unix_seconds: not a time/);
    assert.throws(() => unixMs({}), /unix_ms: not a time/);
  });

  it('or_default replaces null and undefined but keeps falsy values', () => {
    assert.equal(orDefault(null, 'x'), 'x');
    assert.equal(orDefault(undefined, 'x'), 'x');
    assert.equal(orDefault(0, 'x'), 0);
    assert.equal(orDefault('', 'x'), '');
  });

  it('compact drops null and undefined entries of an object', () => {
    assert.deepEqual(compact({ a: 1, b: null, c: undefined, d: false }), { a: 1, d: false });
    assert.deepEqual(compact([1, null]), [1, null]);
  });

  it('truncate_bytes cuts at a byte count without splitting a character', () => {
    assert.equal(truncateBytes('héllo', 2), 'h');
    assert.equal(truncateBytes('héllo', 3), 'hé');
    assert.equal(truncateBytes('short', 100), 'short');
    assert.equal(truncateBytes(12345, 3), '123');
  });

  it('truncate_bytes leaves no value as it is (json then writes null, or refuses undefined) and refuses a list or a dict', () => {
    assert.equal(truncateBytes(null, 3), null);
    assert.equal(truncateBytes(undefined, 3), undefined);
    assert.equal(json(truncateBytes(null, 3)), 'null');
    assert.throws(() => truncateBytes(['a'], 3), /truncate_bytes: takes a text, a number or a boolean, not a list/);
    assert.throws(() => truncateBytes({ a: 1 }, 3), /not a dict/);
  });

  it('urlencode encodes an unpaired surrogate as U+FFFD instead of failing the event', () => {
    const render = (value: unknown) => compileTemplate('{{ v | urlencode }}', 't').render({ v: value });
    assert.equal(render('x-😀 /%'), 'x-%F0%9F%98%80%20%2F%25');
    assert.equal(render('a\ud800b'), 'a%EF%BF%BDb');
    assert.equal(render('\udc00\ud800\udc00'), '%EF%BF%BD%F0%90%80%80');
    assert.equal(render({ k: 'v\ud800', 'k\udfff': 1 }), 'k=v%EF%BF%BD&k%EF%BF%BD=1');
    assert.equal(render([['a', '\ud800']]), 'a=%EF%BF%BD');
  });

  it('urlencode writes a number or a boolean as its text (nunjucks wrote "" for them: the value was lost from the URL)', () => {
    const render = (value: unknown) => compileTemplate('/customers/{{ v | urlencode }}', 't').render({ v: value });
    assert.equal(render(12345), '/customers/12345');
    assert.equal(render(0), '/customers/0');
    assert.equal(render(-1.5), '/customers/-1.5');
    assert.equal(render(9007199254740991), '/customers/9007199254740991');
    assert.equal(render(1e21), '/customers/1e%2B21');
    assert.equal(render(true), '/customers/true');
    assert.equal(render(false), '/customers/false');
    // Inside a dict the values were already their text.
    assert.equal(compileTemplate('{{ v | urlencode }}', 't').render({ v: { n: 5, b: false } }), 'n=5&b=false');
  });

  it('float and int take true as 1 and false as 0, as Jinja does (nunjucks answered undefined and the render blamed the event)', () => {
    const render = (template: string, v: unknown) => compileTemplate(template, 't').render({ v });
    assert.equal(render('{{ v | float | json }}', true), '1');
    assert.equal(render('{{ v | float | json }}', false), '0');
    assert.equal(render('{{ v | int | json }}', true), '1');
    assert.equal(render('{{ v | int(7) | json }}', false), '0');
    assert.equal(render('{{ v | int | json }}', '42'), '42');
    assert.equal(render('{{ v | float(2.5) | json }}', 'x'), '2.5');
  });

  it('the text filters take a number or a boolean as its text, the list filters refuse one by name (nunjucks answered "", [] or 0 in silence)', () => {
    const render = (template: string, v: unknown) => compileTemplate(template, 't').render({ v });
    assert.equal(render('{{ v | lower }}', false), 'false');
    assert.equal(render('{{ v | upper }}', 5), '5');
    assert.equal(render('{{ v | trim }}', -1.5), '-1.5');
    assert.equal(render('{{ v | truncate(3) }}', true), 'tru...');
    assert.equal(render('[{{ v | center(7) }}]', false), '[ false ]');
    assert.equal(render('{{ v | wordcount }}', 0), '1');
    assert.equal(render('{{ v | capitalize }}', true), 'True');
    for (const filter of ['sort', 'reverse', 'select', 'reject', 'batch(2)', 'groupby("a")', 'length', 'first', 'last', 'slice(2)', 'list', 'dictsort']) {
      for (const value of [5, 0, true, false]) {
        const name = filter.replace(/\(.*/, '');
        assert.throws(() => render(`{{ v | ${filter} | dump }}`, value), new RegExp(`${name}: takes a (list|dict).* not a ${typeof value} \\(${String(value)}\\)`), `${filter} of ${String(value)}`);
      }
    }
    // What they take still works.
    assert.equal(render('{{ v | length }}', 'abc'), '3');
    assert.equal(render('{{ v | reverse }}', 'abc'), 'cba');
    assert.equal(render('{{ v | sort | join(",") }}', [3, 1, 2]), '1,2,3');
  });

  it('base64 encodes UTF-8 text, for Basic credentials', () => {
    assert.equal(base64('site:key'), 'c2l0ZTprZXk=');
    assert.equal(Buffer.from(base64('ü:é'), 'base64').toString('utf8'), 'ü:é');
    assert.throws(() => base64(undefined), /base64: no value/);
  });
});
