// ordering "user" across a restart: what a stopping daemon hands back goes back in stream order,
// so the daemon started next delivers each user's events in stream order (issue 24, outcome 6).
// Real nats-server, real node:http sink, daemons in this process one after the other.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.RESTART_ORDER_TOKEN = 'restart-order-secret';
});

describe('daemon per-user ordering across a restart', () => {
  it('delivers each user in stream order after a stop in the middle: what was held, queued, waiting and on the wire goes back in order', async () => {
    // Before the stop every request is held by the sink: each user has its first event on the wire
    // or queued for a slot, a retry wait, and later events held behind it. The stop hands all of it
    // back (the requests on the wire are aborted at the drain's end); the next daemon delivers.
    let phase: 'before' | 'after' = 'before';
    const delivered: string[] = [];
    let calls = 0;
    const sink = await startTestSink((request) => {
      if (phase === 'before') {
        calls += 1;
        // Some fail first, so that their retries wait in process when the stop comes.
        return calls % 3 === 0 ? answer.status(503) : 'hold';
      }
      delivered.push(JSON.parse(request.body).insert_id as string);
      return answer.ok();
    });
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'ordered', {
      definition: testDefinition({ retry: { maxAttempts: 50, initialDelayMs: 200, multiplier: 1, jitter: 0 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'RESTART_ORDER_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('restartorder');
    const settings = testSettings(nats.url, folder.dir, { stream, drainTimeoutMs: 300, maxInProcessWaitMs: 5_000 });
    const users = 20;
    const ids = Array.from({ length: 200 }, (_, i) => `insert-${i}`);
    const userOf = (i: number) => `user-${i % users}`;
    const first = await startTestDaemon(settings);
    let second: TestDaemon | undefined;
    try {
      try {
        await Promise.all(ids.map((_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i, { user_id: userOf(i) })))));
        const runner = first.daemon.runners.get('ordered.main')!;
        await waitUntil(nats.connection, () => sink.held >= 10 && runner.stats.heldByUserBarrier >= 100 && runner.stats.retriedInProcess >= 5, 10_000, 'requests on the wire, retries waiting and events held');
      } finally {
        await first.stop();
      }
      phase = 'after';
      second = await startTestDaemon(settings);
      await waitUntil(nats.connection, () => new Set(delivered).size === ids.length, 30_000, 'every event delivered by the next daemon');
      const inversions: string[] = [];
      for (let user = 0; user < users; user++) {
        const own = delivered.filter((id) => userOf(Number(id.slice(7))) === `user-${user}`).map((id) => Number(id.slice(7)));
        for (let k = 1; k < own.length; k++) if (own[k] < own[k - 1]) inversions.push(`user-${user}: insert-${own[k]} after insert-${own[k - 1]}`);
      }
      assert.deepEqual(inversions, []);
    } finally {
      sink.release();
      await second?.stop();
      await sink.close();
      folder.remove();
    }
  });
});
