import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failedItems, PermanentDeliveryError, RetryableDeliveryError } from '../../daemon/delivery/index.js';

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
});
