// No sync slows another: a sync whose destination answers 500 forever sits beside a healthy sync of
// the same destination, with the destination's in-flight cap shared. The healthy sync's latency and
// rate are measured alone and beside the failing one, in the same run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();
const EVENTS = 600;

interface Run {
  p99Ms: number;
  eventsPerSecond: number;
  failingRequests: number;
}

async function healthyRun(withFailing: boolean): Promise<Run> {
  process.env.ISOLATION_TOKEN = 'isolation-secret';
  const healthy = await startTestSink();
  const failing = await startTestSink(() => answer.status(500));
  const folder = makeDestinationsDir();
  const sync = (sink: TestSink) => ({ parameters: { endpoint: sink.url, token: { env: 'ISOLATION_TOKEN' } } });
  writeDestinationFolder(folder.dir, 'shared', {
    // Short in-process retries: a failing request waits 1 s, 2 s, 4 s in process between its attempts.
    definition: testDefinition({ retry: { maxAttempts: 9, initialDelayMs: 1_000, multiplier: 2, jitter: 0 } }),
    syncs: withFailing ? { healthy: sync(healthy), failing: sync(failing) } : { healthy: sync(healthy) },
  });
  const { subject, ...stream } = nats.streams(withFailing ? 'isobeside' : 'isoalone');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, logLevel: 'warn', maxInFlightPerDestination: 16, maxInFlightPerSync: 16 }));
  try {
    // A warm-up both runs share (connections open); beside, the failing sync fills the destination's
    // cap first: its 16 requests then wait for their retries.
    await Promise.all(Array.from({ length: 32 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(100_000 + i)))));
    if (withFailing) await failing.waitForRequests(16);
    await healthy.waitForRequests(32);
    healthy.requests.length = 0;
    const publishedAt = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < EVENTS; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const event = testEvent(i + j);
          publishedAt.set(String(event.insert_id), Date.now());
          return nats.js.publish(subject, JSON.stringify(event));
        }),
      );
    }
    await healthy.waitForRequests(EVENTS, 30_000);
    const latencies = healthy.requests.map((request) => request.at - publishedAt.get(JSON.parse(request.body).insert_id as string)!).sort((a, b) => a - b);
    const last = Math.max(...healthy.requests.map((request) => request.at));
    return {
      p99Ms: latencies[Math.floor(latencies.length * 0.99) - 1],
      eventsPerSecond: EVENTS / ((last - started) / 1_000),
      failingRequests: failing.requests.length,
    };
  } finally {
    await daemon.stop();
    await healthy.close();
    await failing.close();
    folder.remove();
  }
}

describe('daemon isolation between syncs', () => {
  it("keeps a healthy sync's latency and rate beside a failing sync of the same destination", async () => {
    await healthyRun(false); // warms the process up, so neither measured run pays for the JIT
    // Alone and beside alternate twice and each keeps its best run: a busy neighbour on a shared
    // machine slows one run, not the comparison.
    const runs: Run[][] = [[], []];
    for (let round = 0; round < 2; round++) {
      runs[0].push(await healthyRun(false));
      runs[1].push(await healthyRun(true));
    }
    const best = (list: Run[]): Run => ({
      p99Ms: Math.min(...list.map((run) => run.p99Ms)),
      eventsPerSecond: Math.max(...list.map((run) => run.eventsPerSecond)),
      failingRequests: Math.min(...list.map((run) => run.failingRequests)),
    });
    const alone = best(runs[0]);
    const beside = best(runs[1]);
    console.log(`healthy sync alone: p99 ${alone.p99Ms} ms, ${alone.eventsPerSecond.toFixed(0)} events/s; beside a failing one: p99 ${beside.p99Ms} ms, ${beside.eventsPerSecond.toFixed(0)} events/s (${beside.failingRequests} requests to the failing sink)`);
    assert.ok(beside.failingRequests >= 16, 'the failing sync was failing all along');
    // A floor of 100 ms for p99: on a loaded machine "2× alone" of a few milliseconds is noise.
    assert.ok(beside.p99Ms <= Math.max(2 * alone.p99Ms, 100), `p99 beside ${beside.p99Ms} ms, alone ${alone.p99Ms} ms`);
    // Half: the failure this guards against is the healthy sync losing its destination's slots to the
    // failing one's retries, 16 slots held 1–4 s each; 600 events that take 0.3 s alone would then take
    // over a second, under a quarter of the rate. Beside is also honestly dearer (the stream feeds two
    // consumers), and run alone after the other files the two sides still spread: 0.88×, 1.26× and
    // 0.799× in three CI runs, so a ratio near 1 is noise, not a guarantee this test can make.
    assert.ok(beside.eventsPerSecond >= 0.5 * alone.eventsPerSecond, `events/s beside ${beside.eventsPerSecond.toFixed(0)}, alone ${alone.eventsPerSecond.toFixed(0)}`);
  });
});
