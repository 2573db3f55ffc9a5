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
  });

  it('base64 encodes UTF-8 text, for Basic credentials', () => {
    assert.equal(base64('site:key'), 'c2l0ZTprZXk=');
    assert.equal(Buffer.from(base64('ü:é'), 'base64').toString('utf8'), 'ü:é');
    assert.throws(() => base64(undefined), /base64: no value/);
  });
});
