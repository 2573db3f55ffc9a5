import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedItems, PermanentDeliveryError, RetryableDeliveryError } from '../../daemon/delivery/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';

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
});
