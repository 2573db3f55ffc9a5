// ordering "user" when a reader of a sync stops while another reads on (issue 24, outcome 6): a
// rolling restart of two daemons sharing the sync, and a reload that replaces the sync's runner.
// The stopping reader holds each user's first events (on the wire, held behind them, or gone back
// with a retry's delay); the users' next events are published while it drains, so the other reader
// takes them first. Each user's events must still reach the sink in stream order.
// Real nats-server, real node:http sink, daemons in this process (test/helpers/daemon.ts).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const USERS = 10;
const FIRST = 60; // events per phase, over USERS users
const userOf = (i: number) => `user-${i % USERS}`;

before(() => {
  process.env.HANDOVER_ORDER_TOKEN = 'handover-order-secret';
});

/** A sink that holds the stopping reader's requests (every fourth answered 503: a retry later) and records what the next one delivers. */
async function orderSink(): Promise<{ sink: TestSink; delivered: number[]; deliver(): void }> {
  let phase: 'holding' | 'delivering' = 'holding';
  let calls = 0;
  const delivered: number[] = [];
  const sink = await startTestSink((request) => {
    if (phase === 'holding') {
      calls += 1;
      return calls % 4 === 0 ? answer.status(503) : 'hold';
    }
    delivered.push(Number((JSON.parse(request.body).insert_id as string).slice('insert-'.length)));
    return answer.ok();
  });
  return { sink, delivered, deliver: () => (phase = 'delivering') };
}

function inversions(delivered: readonly number[]): string[] {
  const found: string[] = [];
  for (let user = 0; user < USERS; user++) {
    const own = delivered.filter((i) => userOf(i) === `user-${user}`);
    for (let k = 1; k < own.length; k++) if (own[k] <= own[k - 1]) found.push(`user-${user}: insert-${own[k]} after insert-${own[k - 1]}`);
  }
  return found;
}

function setup(sinkUrl: string, name: string) {
  const folder = makeDestinationsDir();
  // Retries wait 3 s in the stream (longer than an in-process wait), so some are owed when the stop comes.
  const definition = testDefinition({ retry: { maxAttempts: 20, initialDelayMs: 3_000, multiplier: 1, jitter: 0 }, circuitBreaker: { enabled: false } });
  const write = (version: string) =>
    writeDestinationFolder(folder.dir, 'ordered', {
      definition: { ...definition, description: `Posts each event to a local test sink (${version}).` },
      syncs: { main: { ordering: 'user', parameters: { endpoint: sinkUrl, token: { env: 'HANDOVER_ORDER_TOKEN' } } } },
    });
  write('1.0.0');
  const { subject, ...stream } = nats.streams(name);
  const settings = testSettings(nats.url, folder.dir, { stream, drainTimeoutMs: 2_000, maxInProcessWaitMs: 100 });
  return { folder, subject, settings, write };
}

async function publish(subject: string, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, k) => nats.js.publish(subject, JSON.stringify(testEvent(from + k, { user_id: userOf(from + k) })))));
}

/** The first reader has taken every first-phase event: requests on the wire, retries gone back with a delay, events held behind both. */
async function firstPhaseHeld(reader: TestDaemon, sink: TestSink): Promise<void> {
  const runner = () => [...reader.daemon.runners.values()][0];
  await waitUntil(nats.connection, () => runner().stats.received >= FIRST && sink.held >= 5 && runner().stats.deferred >= 1 && runner().stats.heldByUserBarrier >= 20, 10_000, 'first-phase events on the wire, deferred and held');
}

describe('daemon per-user ordering across a handover', () => {
  it('a rolling restart of two daemons: the one that reads on does not overtake what the stopping one still has', async () => {
    const { sink, delivered, deliver } = await orderSink();
    const { folder, subject, settings } = setup(sink.url, 'handoverroll');
    const first = await startTestDaemon(settings);
    let second: TestDaemon | undefined;
    try {
      await publish(subject, 0, FIRST);
      await firstPhaseHeld(first, sink);
      second = await startTestDaemon(settings);
      deliver();
      let firstStopped = false;
      const stopping = first.stop().then(() => (firstStopped = true));
      // The stopping daemon has said what it still has; the users' next events go to the other one now.
      await waitUntil(nats.connection, () => second!.logs.some((line) => line.msg === 'another reader of the sync hands back events'), 5_000, 'the handover notice');
      await publish(subject, FIRST, FIRST);
      const reader = second.daemon.runners.get('ordered.main')!;
      await waitUntil(nats.connection, () => reader.stats.received >= FIRST, 5_000, 'second-phase events taken by the daemon that reads on');
      assert.equal(firstStopped, false, 'the second phase was taken while the first daemon still drained');
      await stopping;
      await waitUntil(nats.connection, () => new Set(delivered).size === 2 * FIRST, 30_000, 'every event delivered');
      assert.deepEqual(inversions(delivered), []);
      assert.equal(delivered.length, 2 * FIRST, 'each event delivered once');
    } finally {
      sink.release();
      await first.stop();
      await second?.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('a reload that replaces the sync: the new runner does not overtake what the old one drains', async () => {
    const { sink, delivered, deliver } = await orderSink();
    const { folder, subject, settings, write } = setup(sink.url, 'handoverreload');
    const daemon = await startTestDaemon(settings);
    try {
      await publish(subject, 0, FIRST);
      await firstPhaseHeld(daemon, sink);
      deliver();
      write('1.0.1'); // a changed definition: the sync's runner is replaced
      const reloaded = await daemon.daemon.reload();
      assert.deepEqual(reloaded.stopped, ['ordered.main']);
      await publish(subject, FIRST, FIRST);
      await waitUntil(nats.connection, () => new Set(delivered).size === 2 * FIRST, 30_000, 'every event delivered');
      assert.deepEqual(inversions(delivered), []);
      assert.equal(delivered.length, 2 * FIRST, 'each event delivered once');
    } finally {
      sink.release();
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});

