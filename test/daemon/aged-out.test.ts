// Events that leave the stream by its limits before a sync settled them are counted (issue 24,
// outcome 7): destinations_events_aged_out_total. An operator's events stream holding at most 20
// messages; the sync's first 20 events wait in the stream for a retry a minute away when 30 more
// push them out. Every event is then delivered or counted, none unaccounted.
// Real nats-server, real node:http sink, the daemon in this process (test/helpers/daemon.ts).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { createMetricsCollector } from '../../daemon/telemetry/index.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.AGED_OUT_TOKEN = 'aged-out-secret';
});

describe('events the stream drops before a sync settled them', () => {
  it('are counted in destinations_events_aged_out_total and logged: every event is delivered or counted', async () => {
    const delivered = new Set<number>();
    // The first 20 fail (a retry a minute away, in the stream); the rest are delivered.
    const sink = await startTestSink((request) => {
      const index = Number((JSON.parse(request.body).insert_id as string).slice('insert-'.length));
      if (index < 20) return answer.status(503);
      delivered.add(index);
      return answer.ok();
    });
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'aging', {
      definition: testDefinition({ retry: { maxAttempts: 5, initialDelayMs: 60_000, multiplier: 1, jitter: 0 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'AGED_OUT_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('agedout');
    // The operator's stream, made before the daemon: it keeps at most 20 messages.
    const jsm = await jetstreamManager(nats.connection);
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects, retention: RetentionPolicy.Limits, storage: StorageType.File, max_msgs: 20 });
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const metrics = createMetricsCollector(daemon.daemon);
    const agedOut = async () => Number(/^destinations_events_aged_out_total\{[^}]*sync="aging\.main"[^}]*\} (\d+)$/m.exec(await metrics())?.[1] ?? NaN);
    try {
      for (let i = 0; i < 20; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i)));
      const runner = daemon.daemon.runners.get('aging.main')!;
      await waitUntil(nats.connection, () => runner.stats.deferred >= 20, 10_000, 'the first 20 waiting in the stream for their retry');
      assert.equal(await agedOut(), 0, 'nothing has left the stream yet');
      for (let i = 20; i < 50; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i)));
      // What was delivered of the 30 plus what the stream dropped unsettled is all 50.
      let counted = 0;
      await waitUntil(nats.connection, async () => (counted = await agedOut()) + delivered.size === 50, 10_000, 'every event delivered or counted');
      assert.ok(counted >= 20, `the 20 waiting for their retry are counted (${counted})`);
      assert.ok(daemon.logs.some((line) => line.msg === 'events left the stream before the sync settled them (its max_age or size limits); they are lost'));
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
