// The bounded record of a sync's last outcomes: newest first, the oldest overwritten, searchable by
// insert_id, its state path spelled out from the outcome and the requests made.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentDeliveries, recentDeliveriesOf, statePath, SyncStats } from '../../daemon/telemetry/index.js';

const msg = (sequence: number, publishedAtMs = 1_000) => ({ info: { streamSequence: sequence, timestampNanos: publishedAtMs * 1e6 } });
const item = (sequence: number, insertId: unknown) => ({ msg: msg(sequence), context: { input: { insert_id: insertId } } });

describe('recent deliveries', () => {
  it('keeps the last outcomes up to its capacity, newest first', () => {
    const recent = new RecentDeliveries(3);
    for (let n = 1; n <= 5; n++) recent.record(`id-${n}`, 'delivered', 200, 1, 1, undefined, 1_000, n, 1_000 + n);
    assert.equal(recent.size, 3);
    assert.deepEqual(
      recent.list().map((row) => row.insertId),
      ['id-5', 'id-4', 'id-3'],
    );
  });

  it('finds an event by insert_id, and lists failures only when asked', () => {
    const recent = new RecentDeliveries(10);
    recent.settled({ items: [item(1, 'a'), item(2, 'b')], outcome: 'delivered', status: 200, attempt: 1, requests: 1 }, 1_050);
    recent.settled({ items: [item(3, 'b')], outcome: 'dead', status: 400, attempt: 1, requests: 1, reason: 'http_4xx' }, 1_080);
    const b = recent.list({ insertId: 'b' });
    assert.deepEqual(
      b.map((row) => [row.outcome, row.status, row.streamSequence]),
      [
        ['dead', 400, 3],
        ['delivered', 200, 2],
      ],
    );
    assert.equal(b[0].durationMs, 80);
    assert.equal(b[0].reason, 'http_4xx');
    assert.deepEqual(
      recent.list({ failedOnly: true }).map((row) => row.insertId),
      ['b'],
    );
  });

  it('records a refused message as dead without a request, and no released delivery', () => {
    const recent = new RecentDeliveries(10);
    recent.refused(msg(7), 'x', 'invalid_event', 1, 2_000);
    recent.settled({ items: [item(8, 'y')], outcome: 'released', attempt: 1, requests: 1 });
    const [row] = recent.list();
    assert.equal(recent.size, 1);
    assert.deepEqual([row.outcome, row.status, row.requests, row.statePath], ['dead', null, 0, ['refused', 'dead']]);
  });

  it('keeps only a string insert_id (publisher data of any type)', () => {
    const recent = new RecentDeliveries(10);
    recent.settled({ items: [item(1, { toString: 'no' }), item(2, 42)], outcome: 'delivered', attempt: 1, requests: 1 });
    assert.deepEqual(
      recent.list().map((row) => row.insertId),
      [null, null],
    );
  });

  it('spells the machine path from the outcome and the requests made', () => {
    assert.deepEqual(statePath('delivered', 1), ['rendering', 'sending', 'delivered']);
    assert.deepEqual(statePath('delivered', 3), ['rendering', 'sending', 'waiting', 'sending', 'waiting', 'sending', 'delivered']);
    assert.deepEqual(statePath('deferred', 2), ['rendering', 'sending', 'waiting', 'sending', 'deferred']);
    assert.deepEqual(statePath('dead', 0, 'render_failed'), ['rendering', 'dead']);
    assert.deepEqual(statePath('dead', 0, 'missing_required_field'), ['refused', 'dead']);
  });

  it('is kept per sync with its counters', () => {
    const stats = new SyncStats();
    assert.equal(recentDeliveriesOf(stats), recentDeliveriesOf(stats));
    assert.notEqual(recentDeliveriesOf(stats), recentDeliveriesOf(new SyncStats()));
  });
});
