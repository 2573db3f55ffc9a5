import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_EVENT_DEPTH } from '../../daemon/defaults.js';
import { decodeEvent } from '../../daemon/events/decode.js';

const MAX_BYTES = 1_048_576;
const bytes = (text: string) => Buffer.from(text, 'utf8');
/** An event whose event_properties.a nests `depth` arrays (the event object itself is one more level). */
const nested = (depth: number, extra = '') =>
  bytes(`{"event_type":"x"${extra},"event_properties":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`);

describe('events decode', () => {
  it('refuses an event nested 10,000 deep as invalid_event, naming the limit', () => {
    const decoded = decodeEvent(nested(10_000), MAX_BYTES);
    assert.equal(decoded.ok, false);
    assert.equal(!decoded.ok && decoded.reason, 'invalid_event');
    assert.match(!decoded.ok ? decoded.message : '', /nests deeper than 64 levels/);
  });

  it('accepts exactly the depth limit and refuses one more', () => {
    // The event object and event_properties are two levels.
    assert.equal(decodeEvent(nested(DEFAULT_MAX_EVENT_DEPTH - 2, ',"user_id":"u"'), MAX_BYTES).ok, true);
    assert.equal(decodeEvent(nested(DEFAULT_MAX_EVENT_DEPTH - 1, ',"user_id":"u"'), MAX_BYTES).ok, false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = `{"event_type":"x","user_id":"u","event_properties":{"a":"${'[{'.repeat(200)}\\"${'[{'.repeat(200)}"}}`;
    assert.equal(decodeEvent(bytes(text), MAX_BYTES).ok, true);
  });

  it('keeps every digit of an integer beyond 2^53 as a bigint', () => {
    const decoded = decodeEvent(bytes('{"event_type":"x","user_id":"u","event_properties":{"id":12345678901234567890,"neg":-9007199254740993,"safe":9007199254740991,"float":1234567890123456.5,"text":"12345678901234567890"}}'), MAX_BYTES);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.event.event_properties, { id: 12345678901234567890n, neg: -9007199254740993n, safe: 9007199254740991, float: 1234567890123456.5, text: '12345678901234567890' });
  });

  it('leaves ordinary numbers as numbers', () => {
    const decoded = decodeEvent(bytes('{"event_type":"x","user_id":"u","time":1641490144000,"event_properties":{"price":79.99}}'), MAX_BYTES);
    assert.ok(decoded.ok);
    assert.equal(decoded.event.time, 1641490144000);
  });

  it('a string cannot pose as a bigint', () => {
    const decoded = decodeEvent(bytes('{"event_type":"x","user_id":"u","event_properties":{"id":12345678901234567890,"s":"\\u0000abc:123"}}'), MAX_BYTES);
    assert.ok(decoded.ok);
    assert.equal((decoded.event.event_properties as Record<string, unknown>).s, '\u0000abc:123');
  });

  it('refuses text with long integers that is not JSON, as JSON.parse does: a leading zero, a number where a key goes', () => {
    // Found by the fuzzer (fuzz/regressions/event-decode/): the exact parser quoted such numbers into a bigint or a key, and accepted them.
    for (const properties of ['{"id":01234567890123456789}', '{"id":-01234567890123456789}', '{"id":00000000000000000001}', '{-9007199254740993:{"a":1}}', '{"a":1,12345678901234567890:2}']) {
      const decoded = decodeEvent(bytes(`{"event_type":"x","user_id":"u","event_properties":${properties}}`), MAX_BYTES);
      assert.deepEqual(decoded.ok ? properties : [decoded.reason, decoded.message.split(':')[0]], ['invalid_event', 'not JSON']);
    }
    const zero = decodeEvent(bytes('{"event_type":"x","user_id":"u","event_properties":{"id":-0,"big":-12345678901234567890}}'), MAX_BYTES);
    assert.ok(zero.ok);
    assert.equal((zero.event.event_properties as Record<string, unknown>).big, -12345678901234567890n);
  });

  it('refuses bytes that are not UTF-8, and text that is not JSON, as invalid_event', () => {
    const badUtf8 = decodeEvent(Buffer.concat([bytes('{"event_type":"'), Buffer.from([0xff, 0xfe]), bytes('","user_id":"u"}')]), MAX_BYTES);
    assert.deepEqual(badUtf8.ok ? undefined : [badUtf8.reason, badUtf8.message.split(':')[0]], ['invalid_event', 'not UTF-8']);
    const notJson = decodeEvent(bytes('hello'), MAX_BYTES);
    assert.deepEqual(notJson.ok ? undefined : [notJson.reason, notJson.message.split(':')[0]], ['invalid_event', 'not JSON']);
  });
});
