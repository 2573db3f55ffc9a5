// The one health rule, as a table: each state with the figures that make it, in the rule's order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recentDeliveriesOf, syncHealth, SyncStats, type SyncView } from '../../daemon/telemetry/index.js';

const NOW = 1_000 * 60_000;
const item = (sequence: number) => ({ msg: { info: { streamSequence: sequence, timestampNanos: (NOW - 100) * 1e6 } }, context: { input: { insert_id: `e${sequence}` } } });

/** A running sync with `delivered` events and `dead` dead letters (reason http_4xx) in the last minute. */
function sync(delivered: number, dead: number, overrides: Partial<SyncView> = {}): SyncView {
  const stats = new SyncStats();
  const recent = recentDeliveriesOf(stats);
  for (let n = 0; n < delivered; n++) recent.settled({ items: [item(n)], outcome: 'delivered', status: 200, attempt: 1, requests: 1 }, undefined, NOW - 30_000);
  for (let n = 0; n < dead; n++) recent.settled({ items: [item(1_000 + n)], outcome: 'dead', status: 400, attempt: 1, requests: 1, reason: 'http_4xx' }, undefined, NOW - 30_000);
  return { id: 'dest.main', enabled: true, running: true, egressHosts: [], stats, ...overrides };
}

describe('sync health', () => {
  const limiter = { name: 'dest.main', queued: 0, running: 0, rate: null, share: 1, maxConcurrency: null };
  const cases: Array<[string, SyncView, string, RegExp?]> = [
    ['an idle running sync is healthy', sync(0, 0), 'healthy'],
    ['a sync that delivers is healthy', sync(500, 0), 'healthy'],
    ['a few failures among many deliveries stay healthy', sync(1_000, 5), 'healthy'],
    ['failures at 1 % and over are degraded', sync(99, 1), 'degraded', /last reason http_4xx/],
    ['a sync that dead-letters everything is failing, never running green', sync(0, 20), 'failing', /0 delivered, 20 requests failed, 20 dead-lettered; last reason http_4xx/],
    ['an enabled sync no consumer runs is failing', sync(10, 0, { running: false }), 'failing', /no consumer/],
    ['dead letters that cannot be written make it failing', sync(10, 0, { deadLettersFailingSince: new Date(NOW - 5_000) }), 'failing', /cannot be written/],
    ['an open circuit beats failing', sync(0, 20, { circuit: { state: 'open', since: NOW - 1_000, openedAt: NOW - 1_000, openTooLong: false } }), 'circuit_open'],
    ['a half-open circuit is still circuit open', sync(0, 0, { circuit: { state: 'half_open', since: NOW - 1_000, openTooLong: false } }), 'circuit_open'],
    ['a closed circuit says nothing', sync(5, 0, { circuit: { state: 'closed', since: NOW - 1_000, openTooLong: false } }), 'healthy'],
    ['a Retry-After wait is paused', sync(0, 20, { limiter: { ...limiter, pausedUntil: NOW + 10_000 } }), 'paused', /Retry-After/],
    ['a disabled sync is paused', sync(0, 0, { enabled: false, running: false }), 'paused', /disabled/],
  ];
  for (const [name, view, state, why] of cases) {
    it(name, () => {
      const health = syncHealth(view, NOW);
      assert.equal(health.state, state, health.why);
      if (why) assert.match(health.why, why);
    });
  }

  it('forgets failures once they leave the window', () => {
    assert.equal(syncHealth(sync(0, 20), NOW + 10 * 60_000).state, 'healthy');
  });
});
