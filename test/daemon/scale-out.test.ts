// Two daemons on the same syncs: they share the work through the durable consumer, and each paces a
// rate-limited sync at its share of the destination's rate.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { useNatsServer } from '../helpers/nats-server.js';
import { startTestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.SCALE_TOKEN = 'scale-secret';
});

describe('daemon scale-out', () => {
  it('shares the work of a sync between two daemons and its rate limit too, and gives the share back when one stops', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'limited', {
      definition: testDefinition({ limits: { rate: { requests: 600, periodSeconds: 60 } } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'SCALE_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('scale');
    const settings = testSettings(nats.url, folder.dir, { stream, logLevel: 'info' });
    const first = await startTestDaemon(settings);
    const second = await startTestDaemon(settings);
    try {
      const runnerOf = (daemon: typeof first) => daemon.daemon.runners.get('limited.main')!;
      assert.equal(runnerOf(second).limiterState.share, 2, 'the second daemon starts at its share');
      await waitUntil(nats.connection, () => runnerOf(first).limiterState.share === 2, 5_000, 'the first daemon told');
      assert.ok(first.logs.some((line) => line.msg === 'rate limits shared with other daemons'));

      // Both daemons' pull requests are waiting at the server before anything is published.
      const jsm = await jetstreamManager(nats.connection);
      await waitUntil(nats.connection, async () => (await jsm.consumers.info(stream.name, 'limited__main')).num_waiting >= 2, 5_000, 'both daemons pulling');
      await Promise.all(Array.from({ length: 20 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i)))));
      await sink.waitForRequests(20);
      const ids = sink.requests.map((request) => JSON.parse(request.body).insert_id as string);
      assert.equal(new Set(ids).size, 20, 'every event once');
      const delivered = () => [first, second].reduce((sum, daemon) => sum + daemon.daemon.runners.get('limited.main')!.stats.deliveredFirstAttempt, 0);
      await waitUntil(nats.connection, () => delivered() === 20, 5_000, 'both daemons together delivered each event once');
      const each = [first, second].map((daemon) => daemon.daemon.runners.get('limited.main')!.stats.deliveredFirstAttempt);
      assert.ok(each.every((count) => count > 0), `both daemons took work: ${each.join(' + ')}`);

      await second.stop();
      await waitUntil(nats.connection, () => runnerOf(first).limiterState.share === 1, 5_000, 'the share given back');
    } finally {
      await first.stop();
      await second.stop();
      await sink.close();
      folder.remove();
    }
  });
});
