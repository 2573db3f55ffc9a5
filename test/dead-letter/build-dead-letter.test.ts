import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { buildDeadLetter, maxPayloadOf, type DeadLetter, type DeadLetterInput } from '../../daemon/dead-letter/index.js';
import { DEFAULT_NATS_MAX_PAYLOAD } from '../../daemon/defaults.js';
import { SCHEMA_DIR } from '../../daemon/paths.js';

const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(SCHEMA_DIR, 'dead-letter.schema.json'), 'utf8')));

function input(data: Uint8Array, extra: Partial<DeadLetterInput> = {}): DeadLetterInput {
  return {
    destination: 'hook',
    sync: 'hook.default',
    definitionVersion: 'abc123',
    reason: 'invalid_event',
    message: 'why',
    attempts: 1,
    data,
    source: { stream: 'EVENTS', sequence: 42, subject: 'events.test', publishedAt: new Date(0).toISOString() },
    secrets: ['hunter2-secret'],
    ...extra,
  };
}

/** The letter as the runner publishes it: serialized, and it must fit with room for headers. */
function published(letter: DeadLetter, maxPayload = DEFAULT_NATS_MAX_PAYLOAD): string {
  const json = JSON.stringify(letter);
  assert.ok(Buffer.byteLength(json) <= maxPayload - 1024, `letter is ${Buffer.byteLength(json)} bytes, over ${maxPayload}`);
  assert.ok(validate(JSON.parse(json)), JSON.stringify(validate.errors));
  return json;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('dead letter - hostile events', () => {
  it('keeps a 10,000-deep event as text, without recursing over it', () => {
    const data = Buffer.from(`{"event_type":"x","event_properties":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`);
    // What the runner passes today: the message parsed again (JSON.parse does not recurse).
    const letter = buildDeadLetter(input(data, { event: JSON.parse(data.toString()) }));
    published(letter);
    assert.equal(letter.event, undefined);
    assert.equal(letter.eventText, data.toString());
  });

  it('cuts an 800 KB message that is not JSON to fit max_payload, with its size and hash', () => {
    const data = Buffer.alloc(800_000, 0xff);
    const letter = buildDeadLetter(input(data));
    published(letter);
    assert.equal(letter.truncated?.eventBytes, 800_000);
    assert.equal(letter.truncated?.sha256, sha256(data));
    const kept = Buffer.from(letter.rawEvent!, 'base64');
    assert.equal(kept.byteLength, letter.truncated?.keptBytes);
    assert.deepEqual(kept, data.subarray(0, kept.byteLength));
  });

  it('cuts a 1 MB event a destination rejected, with its 16 KB response and request, to fit', () => {
    const event = { event_type: 'x', user_id: 'u', insert_id: 'ins-1', event_properties: { blob: 'é'.repeat(520_000) } };
    const data = Buffer.from(JSON.stringify(event));
    const letter = buildDeadLetter(
      input(data, {
        event,
        reason: 'http_4xx',
        lastStatus: 400,
        responseExcerpt: 'r'.repeat(16_384),
        request: { method: 'POST', url: 'http://127.0.0.1/x', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) },
      }),
    );
    published(letter);
    assert.equal(letter.event, undefined);
    assert.equal(letter.insertId, 'ins-1');
    assert.equal(letter.truncated?.sha256, sha256(data));
    assert.ok(data.toString().startsWith(letter.eventText!), 'the excerpt is the start of the event, cut at a character');
    assert.ok(letter.truncated!.keptBytes > 500_000, `kept ${letter.truncated!.keptBytes} bytes`);
  });

  it('fits a small max_payload too, cutting message, response and body', () => {
    const data = Buffer.from(JSON.stringify({ event_type: 'x', user_id: 'u', p: 'z'.repeat(20_000) }));
    const letter = buildDeadLetter(input(data, { maxPayload: 8_192, message: 'm'.repeat(20_000), responseExcerpt: '\u0001'.repeat(16_384) }));
    published(letter, 8_192);
    assert.match(letter.message!, /… \[truncated\]$/);
  });

  it('keeps every digit of an integer beyond 2^53 (as text)', () => {
    const data = Buffer.from('{"event_type":"x","user_id":"u","insert_id":"i","event_properties":{"id":12345678901234567890}}');
    const letter = buildDeadLetter(input(data, { event: { event_type: 'x', user_id: 'u', insert_id: 'i', event_properties: { id: 12345678901234567890n } } }));
    published(letter);
    assert.equal(letter.eventText, data.toString());
    assert.equal(letter.insertId, 'i');
  });

  it('keeps the insert_id of an invalid event kept as text, read from its bytes', () => {
    const data = Buffer.from('{"insert_id":"inv-9","time":"soon","event_properties":{"id":12345678901234567890}}');
    const letter = buildDeadLetter(input(data));
    assert.equal(letter.eventText, data.toString());
    assert.equal(letter.insertId, 'inv-9');
    assert.equal(buildDeadLetter(input(Buffer.from('null'))).insertId, undefined);
  });

  it('keeps an ordinary event parsed', () => {
    const event = { event_type: 'x', user_id: 'u', insert_id: 'i', time: 1641490144000 };
    const letter = buildDeadLetter(input(Buffer.from(JSON.stringify(event))));
    published(letter);
    assert.deepEqual(letter.event, event);
    assert.equal(letter.truncated, undefined);
  });

  it('redacts a secret before cutting a long request body, so no prefix of it survives', () => {
    const body = `${'a'.repeat(16_380)}hunter2-secret`;
    const letter = buildDeadLetter(input(Buffer.from('{}'), { request: { method: 'POST', url: 'http://x/', headers: {}, body } }));
    assert.doesNotMatch(letter.request!.body, /hunt/);
  });

  it('reads max_payload from the connection, or assumes the server default', () => {
    assert.equal(maxPayloadOf({ info: { max_payload: 65_536 } }), 65_536);
    assert.equal(maxPayloadOf({}), 1_048_576);
  });
});
