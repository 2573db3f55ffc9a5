import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, PermanentDeliveryError, readItemResults, RetryableDeliveryError, type ItemFailure } from '../../daemon/delivery/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import type { DestinationDefinition, MultiStatus } from '../../schema/generated/destination.js';
import { AMPLITUDE, BRAZE, FIREHOSE, KINESIS, MIXPANEL } from '../fixtures/item-results/vendor-answers.js';

/** The failed items a 2xx names in a batch of `batchSize` (the short form's original use). */
function failedItems(spec: MultiStatus, body: string, batchSize: number): ItemFailure[] {
  return readItemResults(spec, { status: 200, headers: {}, body }, Array.from({ length: batchSize }, () => ({})))?.failures ?? [];
}

/** A batch of events as their template contexts (what the keys shape reads). */
function contexts(...userIds: string[]): object[] {
  return userIds.map((user_id) => ({ input: { user_id, event_type: 'x' }, mappedProperties: {}, mappedFields: {} }));
}

const spec = { failedItemsPath: 'errors' };

describe('multi-status', () => {
  it('classifies each listed item by its status', () => {
    const failures = failedItems(spec, JSON.stringify({ errors: [{ index: 0, status: 400 }, { index: 2, status: 429 }] }), 3);
    assert.deepEqual(failures.map((failure) => [failure.index, failure.status]), [[0, 400], [2, 429]]);
    assert.ok(failures[0].result instanceof PermanentDeliveryError);
    assert.ok(failures[1].result instanceof RetryableDeliveryError);
  });

  it('follows a dot path and custom field names, and ignores items listed as successes', () => {
    const body = JSON.stringify({ data: { items: [{ i: 1, code: 500 }, { i: 0, code: 201 }] } });
    const failures = failedItems({ failedItemsPath: 'data.items', indexField: 'i', statusField: 'code' }, body, 2);
    assert.deepEqual(failures.map((failure) => failure.index), [1]);
  });

  it('holds nothing back when the body is not what the destination declared', () => {
    assert.deepEqual(failedItems(spec, 'not json', 3), []);
    assert.deepEqual(failedItems(spec, '{"errors": "none"}', 3), []);
    assert.deepEqual(failedItems(spec, '{"errors": [{"index": 7, "status": 400}, {"index": -1}, null]}', 3), [], 'indexes outside the batch are ignored');
  });

  it('treats an item without a status as rejected', () => {
    const [failure] = failedItems(spec, '{"errors": [{"index": 1}]}', 2);
    assert.equal(failure.status, 400);
    assert.ok(failure.result instanceof PermanentDeliveryError);
  });

  it('counts only the items that match, and keeps the destination\'s reason', () => {
    const body = JSON.stringify({ errors: [{ index: 0, kind: 'a', why: 'too long' }, { index: 1, kind: 'b', why: 'other array' }, { index: 2, kind: 'a' }] });
    const failures = failedItems({ failedItemsPath: 'errors', messageField: 'why', match: { kind: 'a' } }, body, 3);
    assert.deepEqual(failures.map((failure) => [failure.index, failure.message]), [[0, 'too long'], [2, undefined]]);
  });

  it('reads Braze\'s errors with the shipped destination: events for track, attributes for identify', () => {
    const braze = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'destinations/braze/destination.json'), 'utf8')) as DestinationDefinition;
    // What Braze answers (201) when objects of a /users/track request were rejected.
    const body = JSON.stringify({
      message: 'success',
      errors: [
        { type: "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required", input_array: 'events', index: 2 },
        { type: 'Attribute name is reserved', input_array: 'attributes', index: 0 },
      ],
    });
    const track = failedItems(braze.request.multiStatus!, body, 75);
    assert.deepEqual(track.map((failure) => [failure.index, failure.status, failure.message]), [[2, 400, "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"]]);
    assert.ok(track[0].result instanceof PermanentDeliveryError, 'a rejected object is not retried');
    const identify = failedItems(braze.identify!.multiStatus!, body, 75);
    assert.deepEqual(identify.map((failure) => [failure.index, failure.message]), [[0, 'Attribute name is reserved']]);
  });

  it('reads results only on a declared status, and none from a body that names no item', () => {
    const body = JSON.stringify(MIXPANEL.body(1));
    assert.equal(readItemResults(MIXPANEL.multiStatus, { status: 200, headers: {}, body }, contexts('a', 'b')), undefined, '2xx is not declared by this folder');
    assert.equal(readItemResults(MIXPANEL.multiStatus, { status: 400, headers: {}, body: '{"code":400,"error":"bad"}' }, contexts('a', 'b')), undefined, 'a 400 naming nothing is classified whole');
    assert.equal(readItemResults({ failedItemsPath: 'errors', statuses: ['4xx'] }, { status: 422, headers: {}, body: '{"errors":[{"index":0}]}' }, contexts('a'))?.failures.length, 1, 'a class of statuses');
  });

  it("reads Mixpanel's strict import 400: the failed record with its message, the rest accepted", () => {
    const results = readItemResults(MIXPANEL.multiStatus, { status: 400, headers: {}, body: JSON.stringify(MIXPANEL.body(1)) }, contexts('a', 'b', 'c'));
    assert.equal(results?.others, 'accepted');
    assert.deepEqual(results.failures.map((failure) => [failure.index, failure.status, failure.message]), [[1, 400, "'properties.time' is invalid: must be specified as seconds since epoch"]]);
    assert.ok(results.failures[0].result instanceof PermanentDeliveryError);
  });

  it("reads Amplitude's 400: invalid events by field name, the rest to be sent again", () => {
    const results = readItemResults(AMPLITUDE.multiStatus, { status: 400, headers: {}, body: JSON.stringify(AMPLITUDE.invalid(2)) }, contexts('a', 'b', 'c'));
    assert.equal(results?.others, 'resend');
    assert.deepEqual(results.failures.map((failure) => [failure.index, failure.status, failure.message]), [[2, 400, 'invalid field: time']]);
    assert.ok(results.failures[0].result instanceof PermanentDeliveryError);
  });

  it("reads Amplitude's 429: throttled events retried on the response's Retry-After, a user over quota failed, the others sent again", () => {
    const body = JSON.stringify({ ...AMPLITUDE.throttled(0, 'quota@example.com'), throttled_users: { 'busy@example.com': 31 } });
    const results = readItemResults(AMPLITUDE.multiStatus, { status: 429, headers: { 'retry-after': '30' } , body }, contexts('a', 'quota@example.com', 'c', 'busy@example.com'));
    assert.equal(results?.others, 'resend');
    const byIndex = new Map(results.failures.map((failure) => [failure.index, failure]));
    assert.deepEqual([...byIndex.keys()].sort(), [0, 1, 3]);
    assert.ok(byIndex.get(1)!.result instanceof PermanentDeliveryError, 'over the daily quota: failed');
    assert.equal(byIndex.get(1)!.message, 'user over its daily quota: quota@example.com');
    for (const throttled of [byIndex.get(0)!, byIndex.get(3)!]) {
      assert.ok(throttled.result instanceof RetryableDeliveryError, 'throttled: retried');
      assert.equal(throttled.result.retryAfterMs, 30_000);
    }
  });

  it('names an item once, failed before throttled', () => {
    const body = JSON.stringify({ ...AMPLITUDE.throttled(0, 'a'), events_with_invalid_fields: { time: [0] } });
    const results = readItemResults(AMPLITUDE.multiStatus, { status: 429, headers: {}, body }, contexts('a', 'b'));
    assert.deepEqual(results?.failures.map((failure) => [failure.index, failure.status]), [[0, 400]]);
  });

  it("reads Braze's 201 errors of the events array only", () => {
    const results = readItemResults(BRAZE.multiStatus, { status: BRAZE.status, headers: {}, body: JSON.stringify(BRAZE.body(1)) }, contexts('a', 'b'));
    assert.deepEqual(results?.failures.map((failure) => [failure.index, failure.status]), [[1, 400]]);
    assert.equal(results.others, 'accepted');
  });

  it("reads Kinesis PutRecords' and Firehose PutRecordBatch's 200 by position: the failed record retried alone, the rest accepted", () => {
    for (const vendor of [KINESIS, FIREHOSE]) {
      const results = readItemResults(vendor.multiStatus, { status: vendor.status, headers: {}, body: JSON.stringify(vendor.body(2, 4)) }, contexts('a', 'b', 'c', 'd'));
      assert.equal(results?.others, 'accepted');
      assert.deepEqual(results.failures.map((failure) => [failure.index, failure.status]), [[2, 429]]);
      assert.ok(results.failures[0].result instanceof RetryableDeliveryError);
      assert.match(results.failures[0].message ?? '', /^(ProvisionedThroughputExceededException: Rate exceeded|ServiceUnavailableException: Slow down)/);
    }
    // All delivered: FailedRecordCount 0, no entry with an ErrorCode, nothing held back.
    assert.equal(readItemResults(KINESIS.multiStatus, { status: 200, headers: {}, body: JSON.stringify({ FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 's' }] }) }, contexts('a')), undefined);
  });

  it('never reads a prototype: a path or key through __proto__ names nothing', () => {
    const spec: MultiStatus = { statuses: [400], failed: [{ path: '__proto__', shape: 'indexes' }, { path: 'users', shape: 'keys', eventField: 'input.constructor' }] };
    assert.equal(readItemResults(spec, { status: 400, headers: {}, body: '{"users": {"function Object() { [native code] }": 1}}' }, contexts('a')), undefined);
  });

  it('a request answered item by item is delivered as a request, whatever its status (classify)', () => {
    assert.deepEqual(classify({ status: 400, headers: {}, itemized: true }), { kind: 'delivered', status: 400 });
    assert.ok(classify({ status: 400, headers: {} }) instanceof PermanentDeliveryError, 'not named item by item: the whole request fails');
  });
});
