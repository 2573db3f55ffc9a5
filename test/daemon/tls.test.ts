// The daemon against a real HTTPS destination whose certificate is bad, then renewed: a TLS failure
// is retried through JetStream (nak with delay), never dead-lettered on its first attempt.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startHttpsSink, type HttpsSink } from '../helpers/https-sink.js';
import { useNatsServer, type TestStreams } from '../helpers/nats-server.js';
import { makeTestCertificates, type KeyPair, type TestCertificates } from '../helpers/tls-certificates.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

interface Scenario {
  sink: HttpsSink;
  daemon: TestDaemon;
  subject: string;
  stream: Omit<TestStreams, 'subject'>;
  cleanup(): Promise<void>;
}

describe('daemon tls', () => {
  let certificates: TestCertificates;
  before(() => {
    certificates = makeTestCertificates();
    process.env.TEST_SINK_TOKEN = 'tok-tls';
  });
  after(() => certificates.remove());

  /** A sync to an HTTPS sink that trusts the test CA; every retry goes back to JetStream after 150 ms. */
  async function scenario(certificate: KeyPair, maxAttempts: number): Promise<Scenario> {
    const sink = await startHttpsSink(certificate);
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'private', {
      // Breaker off: one event failing every attempt, alone on its sync, is to the breaker a destination that is down.
      definition: testDefinition({ retry: { initialDelayMs: 150, multiplier: 1, jitter: 0, maxAttempts }, circuitBreaker: { enabled: false } }),
      syncs: { main: { parameters: { endpoint: sink.origin, token: { env: 'TEST_SINK_TOKEN' } }, tls: { ca: { file: certificates.caFile } } } },
    });
    const { subject, ...stream } = nats.streams('tls');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInProcessWaitMs: 0 }));
    return {
      sink,
      daemon,
      subject,
      stream,
      async cleanup() {
        await daemon.stop();
        await sink.close();
        folder.remove();
      },
    };
  }

  async function deadLetterCount(streamName: string): Promise<number> {
    const jsm = await jetstreamManager(nats.connection);
    return (await jsm.streams.info(streamName).catch(() => undefined))?.state.messages ?? 0;
  }

  it('defers an event to an endpoint with an expired certificate and delivers it once the certificate is renewed', async () => {
    const s = await scenario(certificates.expired, 50);
    try {
      const stats = s.daemon.daemon.runners.get('private.main')!.stats;
      await nats.js.publish(s.subject, JSON.stringify(testEvent(1)));
      await waitUntil(nats.connection, () => stats.deferred >= 2, 10_000, 'two attempts handed back to JetStream');
      assert.equal(await deadLetterCount(s.stream.deadLetterStream), 0, 'not dead-lettered');
      assert.equal(s.sink.bodies.length, 0, 'nothing was sent over the unverified connection');
      const retried = s.daemon.logs.filter((line) => line.msg === 'delivery will be retried');
      assert.ok(retried.length >= 2);
      assert.ok(retried.every((line) => line.reason === 'tls'), JSON.stringify(retried[0]));

      // The operator renews the certificate: same port, signed by the CA the sync trusts.
      await s.sink.restart(certificates.valid);
      await s.sink.waitForRequests(1);
      await waitUntil(nats.connection, () => stats.deliveredAfterRetry === 1, 10_000, 'delivered after retry');
      assert.equal(JSON.parse(s.sink.bodies[0]).insert_id, 'insert-1');
      assert.equal(stats.deliveredFirstAttempt, 0);
      assert.ok((stats.failuresByReason.get('tls') ?? 0) >= 2, 'the failed attempts are counted under reason tls (destinations_request_failures_total)');
      assert.equal(await deadLetterCount(s.stream.deadLetterStream), 0);
    } finally {
      await s.cleanup();
    }
  });

  it('dead-letters a certificate that stays bad only when the retries are used up, saying what is wrong', async () => {
    const s = await scenario(certificates.wrongName, 3);
    try {
      await nats.js.publish(s.subject, JSON.stringify(testEvent(2)));
      await waitForStreamCount(nats.connection, s.stream.deadLetterStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(s.stream.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.reason, 'retries_exhausted');
      assert.equal(letter.attempts, 3);
      assert.match(letter.message ?? '', /^tls name_mismatch: Hostname\/IP does not match certificate's altnames: .* \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
      const stats = s.daemon.daemon.runners.get('private.main')!.stats;
      assert.equal(stats.expired, 1);
      assert.equal(stats.discarded.size, 0, 'never counted as a permanent failure');
      assert.equal(stats.responsesByClass.get('error'), 3);
    } finally {
      await s.cleanup();
    }
  });
});
