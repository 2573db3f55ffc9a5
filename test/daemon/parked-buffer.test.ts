// A sync parked at a full cap longer than ack_wait: the messages in nats.js's buffer behind it get no
// heartbeat, so the intake takes them into hand (heartbeated, in order, no nak) before
// JetStream redelivers them behind its back. Real nats-server, real node:http sink, the daemon in
// this process. The wait is on the wall clock because what is tested is nats-server's ack_wait,
// which runs on the server's clock: the first request is held two ack_waits, then answered.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.PARKED_BUFFER_TOKEN = 'parked-buffer-secret';
});

describe('daemon consumer parked at a full cap', () => {
  it('takes its parked message and client buffer into hand before ack_wait runs out: nothing redelivered, every event delivered once, in order, at its first attempt', async () => {
    const ackWaitMs = 3_000;
    const events = 30;
    // The first request hangs until released (a slow destination filling the cap of 1); the rest answer at once.
    const sink = await startTestSink((_, index) => (index === 0 ? 'hold' : answer.ok()));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'slow', {
      definition: testDefinition({ circuitBreaker: { enabled: false } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'PARKED_BUFFER_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('parkedbuffer', ackWaitMs);
    const settings = testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync: 1, maxInFlightPerDestination: 1, requestTimeoutMs: 4 * ackWaitMs });
    const daemon = await startTestDaemon(settings);
    try {
      const runner = daemon.daemon.runners.get('slow.main')!;
      await Promise.all(Array.from({ length: events }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i)))));
      const [first] = await sink.waitForRequests(1);
      await waitUntil(nats.connection, () => runner.parkedAt !== undefined, 5_000, 'the consumer parked behind the held request');
      await waitUntil(nats.connection, () => Date.now() - first.at >= 2 * ackWaitMs, 4 * ackWaitMs, 'the first request held two ack_waits');
      sink.release();

      const jsm = await jetstreamManager(nats.connection);
      const ids = () => sink.requests.map((request) => JSON.parse(request.body).insert_id as string);
      await waitUntil(nats.connection, () => new Set(ids()).size === events && runner.stats.deliveredFirstAttempt + runner.stats.deliveredAfterRetry === events, 10_000, 'every event delivered');
      await waitUntil(
        nats.connection,
        async () => {
          const info = await jsm.consumers.info(stream.name, 'slow__main');
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        10_000,
        'the consumer settled',
      );

      assert.equal(sink.requests.length, events, `each event sent once: ${ids().join(' ')}`);
      const copies = daemon.logs.filter((line) => line.msg === 'a copy of a delivered message acked, not sent again').length;
      assert.equal(copies, 0, 'JetStream redelivered no message the daemon still held');
      assert.equal(runner.stats.received, events, 'each message taken once');
      assert.equal(runner.stats.deliveredFirstAttempt, events, 'every event at its first attempt: what went back cost none');
      assert.equal(runner.stats.deliveredAfterRetry, 0);
      assert.equal(runner.stats.expired + runner.stats.discarded.size, 0, 'nothing dead-lettered');
      assert.ok(runner.stats.bufferRefreshes > 0, `the parked pull was refreshed (${runner.stats.bufferRefreshes})`);
      // Kept in hand and heartbeated, not handed back: JetStream delivered each message once.
      assert.equal((await jsm.consumers.info(stream.name, 'slow__main')).num_redelivered, 0, 'no message delivered twice by JetStream');
      assert.deepEqual(ids(), Array.from({ length: events }, (_, i) => String(testEvent(i).insert_id)), 'sent in stream order');
    } finally {
      sink.release();
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
