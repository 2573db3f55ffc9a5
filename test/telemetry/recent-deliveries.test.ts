// The bounded record of a sync's last outcomes: newest first, the oldest overwritten, searchable by
// insert_id, its state path spelled out from the outcome and the requests made.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DETAIL_BODY_CHARS } from '../../daemon/defaults.js';
import { RecentDeliveries, recentDeliveriesOf, statePath, SyncStats, type DeliveryRedaction } from '../../daemon/telemetry/index.js';

const msg = (sequence: number, publishedAtMs = 1_000) => ({ info: { streamSequence: sequence, timestampNanos: publishedAtMs * 1e6 } });
const item = (sequence: number, insertId: unknown) => ({ msg: msg(sequence), context: { input: { insert_id: insertId } } });

describe('recent deliveries', () => {
  it('keeps the last outcomes up to its capacity, newest first', () => {
    const recent = new RecentDeliveries(3);
    for (let n = 1; n <= 5; n++) recent.record({ insert_id: `id-${n}` }, 'delivered', 200, 1, 1, undefined, 1_000, n, 1_000 + n);
    assert.equal(recent.size, 3);
    assert.deepEqual(
      recent.list().map((row) => row.insertId),
      ['id-5', 'id-4', 'id-3'],
    );
  });

  it('finds an event by insert_id, and lists failures only when asked', () => {
    const recent = new RecentDeliveries(10);
    recent.settled({ items: [item(1, 'a'), item(2, 'b')], outcome: 'delivered', status: 200, attempt: 1, requests: 1 }, undefined, 1_050);
    recent.settled({ items: [item(3, 'b')], outcome: 'dead', status: 400, attempt: 1, requests: 1, reason: 'http_4xx' }, undefined, 1_080);
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

  it('searches by insert_id prefix, user_id, device_id, event type, outcome, status and time', () => {
    const recent = new RecentDeliveries(10);
    const event = (sequence: number, input: Record<string, unknown>) => ({ msg: msg(sequence), context: { input } });
    recent.settled({ items: [event(1, { insert_id: 'ord-1', user_id: 'u1', event_type: 'purchase' })], outcome: 'delivered', status: 200, attempt: 1, requests: 1 }, undefined, 60_000);
    recent.settled({ items: [event(2, { insert_id: 'ord-2', device_id: 'd2', event_type: 'view' })], outcome: 'dead', status: 400, attempt: 1, requests: 1, reason: 'http_4xx' }, undefined, 120_000);
    recent.settled({ items: [event(3, { insert_id: 'x-3', user_id: 'u1', event_type: 'view' })], outcome: 'deferred', status: 503, attempt: 1, requests: 2 }, undefined, 180_000);
    const ids = (query: Parameters<RecentDeliveries['list']>[0]) => recent.list(query).map((row) => row.insertId);
    assert.deepEqual(ids({ insertIdPrefix: 'ord-' }), ['ord-2', 'ord-1']);
    assert.deepEqual(ids({ userId: 'u1' }), ['x-3', 'ord-1']);
    assert.deepEqual(ids({ deviceId: 'd2' }), ['ord-2']);
    assert.deepEqual(ids({ eventType: 'view' }), ['x-3', 'ord-2']);
    assert.deepEqual(ids({ outcome: 'dead' }), ['ord-2']);
    assert.deepEqual(ids({ status: 503 }), ['x-3']);
    assert.deepEqual(ids({ fromMs: 100_000, toMs: 180_000 }), ['ord-2']);
    assert.deepEqual(ids({ userId: 'u1', eventType: 'purchase' }), ['ord-1']);
    assert.deepEqual(
      recent.list({ userId: 'u1' }).map((row) => [row.userId, row.deviceId, row.eventType]),
      [
        ['u1', null, 'view'],
        ['u1', null, 'purchase'],
      ],
    );
  });

  it('keeps the insert_id of an invalid event read from its bytes, when they can be read', () => {
    const recent = new RecentDeliveries(10);
    const bytes = (text: string) => ({ ...msg(9), data: new TextEncoder().encode(text) });
    recent.refused(bytes('{"insert_id":"inv-1","user_id":"u9","time":"not a number"}'), undefined, 'invalid_event', 1);
    recent.refused(bytes('{"insert_id":"inv-2","n":123456789012345678901234567890}'), undefined, 'invalid_event', 1);
    recent.refused(bytes('not json'), undefined, 'invalid_event', 1);
    recent.refused(bytes('{"insert_id":7}'), undefined, 'invalid_event', 1);
    assert.deepEqual(
      recent.list().map((row) => [row.insertId, row.userId]),
      [
        [null, null],
        [null, null],
        ['inv-2', null],
        ['inv-1', 'u9'],
      ],
    );
  });

  it('opens a row with its request and response through the redaction it was recorded with, the body cut to its bound', () => {
    const recent = new RecentDeliveries(2);
    const redaction: DeliveryRedaction = { request: (request) => ({ ...request, headers: { authorization: '[redacted]' }, body: request.body.replaceAll('sekret', '[redacted]') }), text: (text) => text.replaceAll('sekret', '[redacted]') };
    const request = { method: 'POST' as const, url: 'https://example.test/track', headers: { authorization: 'Bearer sekret' }, body: `{"key":"sekret","pad":"${'x'.repeat(DEFAULT_DETAIL_BODY_CHARS)}"}` };
    recent.settled({ items: [item(1, 'a')], outcome: 'dead', status: 400, attempt: 1, requests: 1, reason: 'http_4xx', request, lastResponse: { status: 400, bodyExcerpt: 'bad key sekret' } }, redaction);
    recent.settled({ items: [item(2, 'b')], outcome: 'delivered', status: 200, attempt: 1, requests: 1, request: { ...request, body: '{}' }, lastResponse: { status: 200, bodyExcerpt: 'ok' } });
    const [newest, oldest] = recent.list();
    const detail = recent.detail(oldest.serial)!;
    assert.equal(detail.insertId, 'a');
    assert.equal(detail.request!.headers.authorization, '[redacted]');
    assert.ok(detail.request!.body.startsWith('{"key":"[redacted]"'));
    assert.ok(detail.request!.body.length < DEFAULT_DETAIL_BODY_CHARS + 10, 'the body as kept: cut, then redacted');
    assert.deepEqual(detail.request!.bodyCut, { keptChars: DEFAULT_DETAIL_BODY_CHARS });
    assert.deepEqual(detail.response, { status: 400, excerpt: 'bad key [redacted]' });
    assert.ok(!JSON.stringify(detail).includes('sekret'));
    // Recorded without a redaction: what was sent is not shown at all.
    assert.deepEqual([recent.detail(newest.serial)!.request, recent.detail(newest.serial)!.response], [null, null]);
    // Gone from the ring: no detail.
    recent.settled({ items: [item(3, 'c')], outcome: 'delivered', attempt: 1, requests: 1 });
    assert.equal(recent.detail(oldest.serial), undefined);
    assert.equal(recent.detail(0), undefined);
  });

  it('counts each minute: delivered with latency, requests failed, dead-lettered, deferred', () => {
    const recent = new RecentDeliveries(10);
    const minute = 60_000;
    const t0 = 1_000 * minute;
    const at = (sequence: number, publishedAtMs: number) => ({ msg: { info: { streamSequence: sequence, timestampNanos: publishedAtMs * 1e6 } }, context: { input: {} } });
    recent.settled({ items: [at(1, t0), at(2, t0)], outcome: 'delivered', status: 200, attempt: 1, requests: 3 }, undefined, t0 + 40);
    recent.settled({ items: [at(3, t0)], outcome: 'dead', status: 400, attempt: 1, requests: 1 }, undefined, t0 + 2 * minute);
    recent.settled({ items: [at(4, t0)], outcome: 'deferred', status: 503, attempt: 1, requests: 2 }, undefined, t0 + 2 * minute);
    recent.refused(msg(5), {}, 'invalid_event', 1, t0 + 2 * minute);
    const points = recent.history.read(t0 + 2 * minute + 5);
    assert.equal(points.length, 61);
    const [first, , last] = points.slice(-3);
    assert.equal(first.at, new Date(t0).toISOString());
    assert.deepEqual([first.delivered, first.failed, first.deadLettered, first.deferred], [2, 2, 0, 0]);
    assert.ok(first.latencyP50Seconds! > 0.025 && first.latencyP50Seconds! <= 0.05, String(first.latencyP50Seconds));
    assert.deepEqual([last.delivered, last.failed, last.deadLettered, last.deferred, last.latencyP50Seconds], [0, 3, 2, 1, null]);
    assert.deepEqual(recent.history.totals(t0 + 2 * minute, 5), { delivered: 2, failed: 5, deadLettered: 2, deferred: 1 });
    // An hour and more later the ring has let those minutes go: zeros, not old figures.
    assert.deepEqual(recent.history.totals(t0 + 63 * minute, 60), { delivered: 0, failed: 0, deadLettered: 0, deferred: 0 });
    assert.ok(recent.history.read(t0 + 63 * minute).every((point) => point.delivered === 0 && point.deadLettered === 0));
  });

  it('records an answer read item by item as each item was settled: named permanent dead, named retryable and resent others deferred, the rest delivered', () => {
    const recent = new RecentDeliveries(10);
    const permanent = { kind: 'permanent', code: 'http_4xx' } as const;
    const throttled = { kind: 'retryable', code: 'http_429' } as const;
    recent.settled({ items: [item(1, 'ok'), item(2, 'bad')], outcome: 'delivered', status: 400, attempt: 1, requests: 1, itemResults: { failures: [{ index: 1, result: permanent }], others: 'accepted' } }, undefined, 60_000);
    recent.settled({ items: [item(3, 'again'), item(4, 'slow')], outcome: 'delivered', status: 429, attempt: 1, requests: 1, itemResults: { failures: [{ index: 1, result: throttled }], others: 'resend' } }, undefined, 60_000);
    assert.deepEqual(
      recent.list().map((row) => [row.insertId, row.outcome, row.reason]).reverse(),
      [['ok', 'delivered', null], ['bad', 'dead', 'http_4xx'], ['again', 'deferred', null], ['slow', 'deferred', 'http_429']],
    );
    assert.deepEqual(recent.history.totals(60_000, 1), { delivered: 1, failed: 0, deadLettered: 1, deferred: 2 });
  });
});

