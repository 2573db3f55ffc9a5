// Amplitude's per-user and per-device rate (events a second, averaged over 30 s) as a token bucket
// per key and id, on a clock the test moves (no sleeps).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserRateLimit, type InboundEvent } from '../../daemon/ingest/index.js';

const events = (count: number, ids: { user_id?: string; device_id?: string }): InboundEvent[] =>
  Array.from({ length: count }, () => ({ event: { event_type: 'x', ...ids } as InboundEvent['event'], msgId: undefined }));

describe('ingest rate limit', () => {
  it('admits 30 s of the rate at once, refuses past it naming the user and the events, and takes nothing from a refused request', () => {
    let now = 0;
    const limit = new UserRateLimit({ now: () => now });
    assert.equal(limit.admit('web', 2, events(60, { user_id: 'u1' })), undefined);
    const refused = limit.admit('web', 2, [...events(1, { device_id: 'd9' }), ...events(2, { user_id: 'u1' })]);
    // Its rate with these: (60 + 2) / 30 s, rounded up.
    assert.deepEqual(refused, { epsThreshold: 2, users: { u1: 3 }, devices: {}, events: [1, 2] });
    // Half a second later one token is back: one event of u1 passes, and d9 was charged nothing before.
    now = 500;
    assert.equal(limit.admit('web', 2, [...events(1, { user_id: 'u1' }), ...events(60, { device_id: 'd9' })]), undefined);
    assert.notEqual(limit.admit('web', 2, events(1, { user_id: 'u1' })), undefined);
  });

  it('counts users and devices per key: one key’s busy user does not throttle another key’s', () => {
    const limit = new UserRateLimit({ now: () => 0 });
    assert.equal(limit.admit('a', 1, events(30, { user_id: 'same' })), undefined);
    assert.notEqual(limit.admit('a', 1, events(1, { user_id: 'same' })), undefined);
    assert.equal(limit.admit('b', 1, events(30, { user_id: 'same' })), undefined);
  });

  it('refills to at most 30 s of the rate, however long the user was quiet', () => {
    let now = 0;
    const limit = new UserRateLimit({ now: () => now });
    assert.equal(limit.admit('k', 1, events(1, { user_id: 'u' })), undefined);
    now = 3_600_000;
    assert.notEqual(limit.admit('k', 1, events(31, { user_id: 'u' })), undefined);
    assert.equal(limit.admit('k', 1, events(30, { user_id: 'u' })), undefined);
  });

  it('keeps at most maxBuckets, forgetting the least recently used', () => {
    const limit = new UserRateLimit({ now: () => 0, maxBuckets: 100 });
    for (let index = 0; index < 1_000; index++) limit.admit('k', 1, events(30, { user_id: `u${index}` }));
    assert.equal(limit.size, 100);
    // u999 is remembered (spent), u0 was forgotten (full again).
    assert.notEqual(limit.admit('k', 1, events(1, { user_id: 'u999' })), undefined);
    assert.equal(limit.admit('k', 1, events(30, { user_id: 'u0' })), undefined);
  });
});
