// How the batched BullMQ peer groups jobs into requests (bench/peer-batches.ts), on a source and a
// clock of the test's own: no Redis, no timers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatherBatch, type GatherOptions } from '../../bench/peer-batches.js';

/** A queue of numbered items: `ready` can be taken now; `arrivals` come in when the clock reaches their time. */
function fakeQueue(ready: number, arrivals: Array<{ at: number; count: number }> = []) {
  let next = 0;
  let available = ready;
  let clock = 0;
  const calls = { take: [] as number[], waits: 0, sleeps: [] as number[] };
  const arrive = () => {
    for (const arrival of arrivals.filter((a) => a.at <= clock)) {
      available += arrival.count;
      arrivals.splice(arrivals.indexOf(arrival), 1);
    }
  };
  const takeNow = (count: number) => {
    const n = Math.min(count, available);
    available -= n;
    return Array.from({ length: n }, () => next++);
  };
  const source = {
    take: async (count: number) => {
      calls.take.push(count);
      return takeNow(count);
    },
    // A blocking fetch: gives up after 1,000 ms, or returns the first item that arrives before then.
    waitForOne: async () => {
      calls.waits++;
      const due = arrivals.find((a) => a.at <= clock + 1_000);
      clock = due ? Math.max(clock, due.at) : clock + 1_000;
      arrive();
      return takeNow(1)[0];
    },
  };
  const options = (stopping = () => false): GatherOptions => ({
    size: 100,
    maxWaitMs: 50,
    now: () => clock,
    sleep: async (ms) => {
      calls.sleeps.push(ms);
      clock += ms;
      arrive();
    },
    stopping,
  });
  return { source, options, calls, now: () => clock };
}

describe('bench - the batched BullMQ peer gathers its requests', () => {
  it('takes full batches of 100 without waiting while jobs are ready, then waits 50 ms for a short one', async () => {
    const queue = fakeQueue(250);
    const sizes = [];
    for (let i = 0; i < 3; i++) sizes.push((await gatherBatch(queue.source, queue.options())).length);
    assert.deepEqual(sizes, [100, 100, 50]);
    // The short batch asked once more after its 50 ms and sent what it had.
    assert.deepEqual(queue.calls.take, [100, 100, 100, 50]);
    assert.deepEqual(queue.calls.sleeps, [50]);
    assert.equal(queue.calls.waits, 0);
  });

  it('fills a batch with jobs that come in during its wait', async () => {
    const queue = fakeQueue(30, [{ at: 20, count: 70 }]);
    const batch = await gatherBatch(queue.source, queue.options());
    assert.deepEqual(batch, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(queue.calls.take, [100, 70]);
  });

  it('blocks for a first job when none is ready, and counts the wait from it', async () => {
    const queue = fakeQueue(0, [{ at: 2_500, count: 1 }, { at: 2_530, count: 5 }, { at: 2_600, count: 10 }]);
    const batch = await gatherBatch(queue.source, queue.options());
    // Three blocking fetches (two gave up after 1 s), then 50 ms from the first job at 2,500 ms: the
    // five of 2,530 join, the ten of 2,600 are too late for this batch.
    assert.equal(queue.calls.waits, 3);
    assert.equal(batch.length, 6);
    assert.equal(queue.now(), 2_550);
  });

  it('hands back what it has when the worker stops, and nothing when it had nothing', async () => {
    let stopping = false;
    const queue = fakeQueue(10);
    const options = queue.options(() => stopping);
    const sleep = options.sleep;
    options.sleep = async (ms) => {
      stopping = true;
      await sleep(ms);
    };
    assert.equal((await gatherBatch(queue.source, options)).length, 10);
    const idle = fakeQueue(0);
    let waits = 0;
    const stoppingAfterTwo = idle.options(() => waits >= 2);
    const source = { ...idle.source, waitForOne: async () => (waits++, idle.source.waitForOne()) };
    assert.deepEqual(await gatherBatch(source, stoppingAfterTwo), []);
    assert.equal(waits, 2);
  });
});
