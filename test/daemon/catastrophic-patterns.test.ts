// The daemon under the catastrophic-pattern corpus (test/fixtures/catastrophic-patterns): one sync
// per pattern the linear-time matcher runs, each given every attack event, beside a healthy sync on
// the same stream. Every attack ends (delivered, or dead-lettered as render_failed) and the healthy
// sync delivers everything meanwhile; before the linear-time matcher, the first attack froze the
// daemon and its redelivery froze it again (issue 20).
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, it } from 'node:test';
import { attackEvent, catastrophicPatterns } from '../helpers/catastrophic-patterns.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const HEALTHY_EVENTS = 20;

describe('daemon: catastrophic patterns', () => {
  it('every attack ends delivered or dead-lettered, and the other syncs keep delivering', { timeout: 120_000 }, async () => {
    process.env.CATASTROPHIC_TOKEN = 'catastrophic-secret';
    const patterns = catastrophicPatterns().filter((pattern) => !pattern.refused);
    const healthy = await startTestSink();
    const hostile = await startTestSink();
    const folder = makeDestinationsDir();
    const sync = (url: string) => ({ main: { parameters: { endpoint: url, token: { env: 'CATASTROPHIC_TOKEN' } } } });
    for (const pattern of patterns) writeDestinationFolder(folder.dir, pattern.slug, { body: pattern.source, syncs: sync(hostile.url) });
    writeDestinationFolder(folder.dir, 'healthy', { syncs: sync(healthy.url) });
    const { subject, ...stream } = nats.streams('patterns');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, logLevel: 'warn' }));
    try {
      for (const pattern of patterns) await nats.js.publish(subject, JSON.stringify(attackEvent(pattern)));
      for (let i = 0; i < HEALTHY_EVENTS; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i)));
      const events = patterns.length + HEALTHY_EVENTS;
      // The healthy sync delivers every event, attacks included (its template has no pattern).
      await healthy.waitForRequests(events, 60_000);
      const jsm = await jetstreamManager(nats.connection);
      const deadLetters = async () => (await jsm.streams.info(stream.deadLetterStream).catch(() => undefined))?.state.messages ?? 0;
      await waitUntil(nats.connection, async () => hostile.requests.length + (await deadLetters()) >= patterns.length * events, 60_000, 'every hostile sync settled every event');
      // Dead letters are the budget's refusals (a result that would be too large, a search that took too long).
      assert.ok((await deadLetters()) >= 1);
      assert.ok(hostile.requests.length >= patterns.length * HEALTHY_EVENTS);
    } finally {
      await daemon.stop();
      await healthy.close();
      await hostile.close();
      folder.remove();
      delete process.env.CATASTROPHIC_TOKEN;
    }
  });
});
