// The daemon against the no-frills loop (issues 5 and 14): issue 14's targets judged, issue 5's
// standing goals with how far the daemon is from them, and the memory under plain throughput.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOptions } from '../../bench/options.js';
import type { Results } from '../../bench/report.js';
import type { Throughput } from '../../bench/scenarios.js';
import { targets } from '../../bench/targets.js';

function row(eventsPerSecond: number, subjectUs: number, peakRssMB = 100): Throughput {
  return { eventsPerSecond, cpuPer1k: { subject: subjectUs / 1_000, broker: 0, nats: 0, sink: 0 }, broker: 'nats-server', peakRssMB } as Throughput;
}

function judged(throughput: Record<string, Throughput>) {
  const results = { throughput, fanout: {}, latency: {} } as unknown as Results;
  return targets(results, readOptions(['--only', 'baseline,daemon,batched']));
}

describe('bench - the daemon against the loop', () => {
  it('judges 70 % and 75 % (issue 14) and says how far the 80 % and 90 % goals are', () => {
    const list = judged({
      'baseline single': row(10_000, 100),
      'daemon single': row(7_000, 150, 230),
      'baseline batched': row(40_000, 25),
      'daemon batched': row(28_000, 40),
    });
    const byTarget = Object.fromEntries(list.map((target) => [target.target.trim(), target]));
    assert.equal(byTarget["daemon ≥ 70 % of the loop's events/s (1 event/request)"].pass, true);
    assert.equal(byTarget['standing goal ≥ 80 % (1 event/request)'].pass, false);
    assert.equal(byTarget['standing goal ≥ 80 % (1 event/request)'].measured, '70 %: 10 points short');
    assert.equal(byTarget["daemon ≥ 75 % of the loop's events/s (100 events/request)"].pass, false);
    assert.equal(byTarget['standing goal ≥ 90 % (100 events/request)'].measured, '70 %: 20 points short');
    assert.equal(byTarget['daemon RSS < 150 MB under plain throughput (1 event/request)'].pass, false);
    assert.match(byTarget['daemon RSS < 150 MB under plain throughput (1 event/request)'].measured, /^peak 230 MB/);
  });

  it('says not run when a row is missing, and judges nothing', () => {
    const list = judged({ 'baseline single': row(10_000, 100) });
    // Issues 5 and 14's five, and issue 23's three (its share of the loop single and batched, its RSS).
    const loop = list.filter((target) => /loop's events\/s|standing goal|RSS < 1[56]0 MB under/.test(target.target));
    assert.equal(loop.length, 8);
    for (const target of loop) {
      assert.equal(target.pass, undefined);
      assert.equal(target.measured, 'not run');
    }
  });
});
