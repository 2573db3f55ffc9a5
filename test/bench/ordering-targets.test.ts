// The ordering-failures row (issue 28, outcome 3): which users fail, and how the ordered sync is
// judged against the unordered one of the same run (p99 of the users without failures, backlog).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failingUsers, type OrderingFailuresResult, type SyncFigures } from '../../bench/ordering-failures.js';
import { readOptions } from '../../bench/options.js';
import type { Results } from '../../bench/report.js';
import { targets } from '../../bench/targets.js';

function sync(p99: number, pending: number[], drainSeconds: number | undefined): SyncFigures {
  return {
    delivered: 100,
    expected: 100,
    p50: p99 / 10,
    p90: p99 / 2,
    p99,
    max: p99,
    drainSeconds,
    failedFirst: 0,
    retriedOk: 0,
    backlog: pending.map((value, index) => ({ atSeconds: index * 5, pending: value, ackPending: 0 })),
  };
}

function judged(ordered: SyncFigures, unordered: SyncFigures) {
  const orderingFailures: OrderingFailuresResult = {
    ratePerSecond: 800,
    users: 300,
    failingUsers: failingUsers(300),
    seconds: 20,
    published: 16_000,
    ordered,
    unordered,
    cpuPer1k: { daemon: 0.2, nats: 0.1 },
    peakRssMB: 200,
    othersCpuSeconds: 0,
  };
  const results = { throughput: {}, fanout: {}, latency: {}, orderingFailures } as unknown as Results;
  const list = targets(results, readOptions(['--only', 'ordering-failures']));
  return list.filter((target) => target.target.startsWith('ordering "user"'));
}

describe('bench - ordering while users wait out retries', () => {
  it('fails 2 % of the users, spread over them', () => {
    assert.deepEqual(failingUsers(300), ['user-0', 'user-50', 'user-100', 'user-150', 'user-200', 'user-250']);
    assert.deepEqual(failingUsers(30), ['user-0']);
  });

  it('passes an ordered sync that keeps the unordered pace, its backlog lifted only as the other one is (after the warm-up)', () => {
    const [latency, backlog] = judged(sync(30, [5_000, 900, 1_700, 0, 0], 1.5), sync(20, [5_000, 100, 1_000, 0, 0], 1.2));
    assert.deepEqual([latency.pass, backlog.pass], [true, true]);
    assert.match(latency.measured, /^1\.50×/);
    assert.match(backlog.measured, /^at most 800 more pending/);
  });

  it('misses an ordered sync that falls behind, or that has not drained', () => {
    const [latency, backlog] = judged(sync(177_000, [0, 1_000, 5_000, 9_000, 13_000], undefined), sync(1_800, [0, 0, 0, 0, 0], 0.1));
    assert.deepEqual([latency.pass, backlog.pass], [false, false]);
    assert.match(backlog.measured, /drained not within the bound/);
    const [, slow] = judged(sync(20, [0, 0, 0, 0, 0], 30), sync(20, [0, 0, 0, 0, 0], 0.1));
    assert.equal(slow.pass, false, 'drained 30 s after publishing');
  });

  it('says not run when the row did not run', () => {
    const results = { throughput: {}, fanout: {}, latency: {} } as unknown as Results;
    const list = targets(results, readOptions(['--only', 'ordering-failures'])).filter((target) => target.target.startsWith('ordering "user"'));
    assert.deepEqual(list.map((target) => [target.measured, target.pass]), [['not run', undefined], ['not run', undefined]]);
  });

  it('runs only when named: not part of the default run', () => {
    assert.equal(readOptions([]).only.has('ordering-failures'), false);
    assert.equal(readOptions(['--only', 'ordering-failures']).only.has('ordering-failures'), true);
  });
});
