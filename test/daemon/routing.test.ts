// Syncs side by side: isolation of a failing destination, the in-flight caps per sync and per
// destination, messages in hand (stream.maxAckPending) apart from retries waiting in the stream,
// identify forwarding, dead-letter replay to one sync only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminReport } from '../../daemon/admin/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { renderMetrics } from '../../daemon/telemetry/daemon-metrics.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { writeConfig } from '../helpers/daemon-process.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.ROUTING_TOKEN = 'routing-secret';
});

function syncFor(sink: TestSink, extra: Record<string, unknown> = {}) {
  return { parameters: { endpoint: sink.url, token: { env: 'ROUTING_TOKEN' } }, ...extra };
}

async function publish(subject: string, events: unknown[]): Promise<void> {
  await Promise.all(events.map((event) => nats.js.publish(subject, JSON.stringify(event))));
}

describe('daemon routing', () => {
  it('keeps a healthy sync at its pace while another sync of the same stream is failing', async () => {
    const healthy = await startTestSink();
    const failing = await startTestSink(() => answer.status(503, { 'retry-after': '30' }));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'healthy', { syncs: { main: syncFor(healthy) } });
    writeDestinationFolder(folder.dir, 'failing', { syncs: { main: syncFor(failing) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await publish(subject, Array.from({ length: 500 }, (_, i) => testEvent(i)));
      await healthy.waitForRequests(500);
      const failingRunner = daemon.daemon.runners.get('failing.main')!;
      assert.ok(failingRunner.limiterState.pausedUntil > Date.now(), 'the failing sync is paused by its Retry-After');
      assert.ok(failing.requests.length < 500, 'the failing sync holds back instead of hammering');
      assert.equal(new Set(healthy.requests.map((request) => JSON.parse(request.body).insert_id)).size, 500);
    } finally {
      await daemon.stop();
      await healthy.close();
      await failing.close();
      folder.remove();
    }
  });

  it('caps requests in flight per destination across its syncs, and per sync, without holding up other destinations', async () => {
    const shared = await startTestSink(() => 'hold');
    const other = await startTestSink();
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'shared', { syncs: { a: syncFor(shared), b: syncFor(shared) } });
    writeDestinationFolder(folder.dir, 'other', { syncs: { main: syncFor(other) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync: 2, maxInFlightPerDestination: 3 }));
    try {
      await publish(subject, Array.from({ length: 10 }, (_, i) => testEvent(i)));
      await shared.waitForRequests(3);
      await other.waitForRequests(10);
      const inFlight = ['shared.a', 'shared.b'].map((id) => daemon.daemon.runners.get(id)!.stats.inFlight);
      assert.equal(inFlight[0] + inFlight[1], 3, 'the destination has its 3 in flight');
      assert.ok(inFlight.every((count) => count <= 2), `each sync stays within its own 2: ${inFlight}`);
      assert.equal(shared.requests.length, 3);
      // What an operator sees: the destination at its cap, and which syncs are parked and why.
      const report = adminReport(daemon.daemon.view()).destinations.find((destination) => destination.slug === 'shared')!;
      assert.deepEqual(report.requests, { inFlight: 3, max: 3 });
      const parked = report.syncs.map((sync) => sync.parkedAt);
      assert.ok(parked.every((at) => at === 'sync' || at === 'destination') && parked.includes('destination'), `parked at ${parked}`);
      const metrics = renderMetrics(daemon.daemon.view(), new Map(), Date.now());
      assert.match(metrics, /^destinations_destination_requests_in_flight\{destination="shared"\} 3$/m);
      assert.match(metrics, /^destinations_consumer_parked\{destination="shared",sync="shared\.[ab]",cap="destination"\} 1$/m);
      shared.behave(() => answer.ok());
      shared.release();
      await shared.waitForRequests(20);
      const delivered = () => ['a', 'b'].map((sync) => daemon.daemon.runners.get(`shared.${sync}`)!.stats.deliveredFirstAttempt);
      await waitUntil(nats.connection, () => delivered().every((count) => count === 10), 10_000, "every event delivered by both syncs");
      assert.equal(shared.requests.length, 20);
    } finally {
      await daemon.stop();
      await shared.close();
      await other.close();
      folder.remove();
    }
  });

  it('wakes one parked sync per freed slot of its destination, so the cap holds as requests end', async () => {
    const shared = await startTestSink(() => 'hold');
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'shared', { syncs: { a: syncFor(shared), b: syncFor(shared) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync: 1, maxInFlightPerDestination: 1 }));
    const inFlight = () => ['shared.a', 'shared.b'].reduce((sum, id) => sum + daemon.daemon.runners.get(id)!.stats.inFlight, 0);
    try {
      await publish(subject, Array.from({ length: 4 }, (_, i) => testEvent(i)));
      await shared.waitForRequests(1);
      // Both syncs are parked now: the other at the destination's cap, the sender at both caps.
      await waitUntil(nats.connection, () => ['shared.a', 'shared.b'].every((id) => daemon.daemon.runners.get(id)!.parkedAt !== undefined), 5_000, 'both parked');
      for (let answered = 1; answered < 4; answered++) {
        shared.release();
        await shared.waitForRequests(answered + 1);
        await nats.connection.flush();
        assert.equal(inFlight(), 1, `after ${answered} answered, one request in flight, not ${inFlight()}`);
      }
    } finally {
      shared.behave(() => answer.ok());
      shared.release();
      await daemon.stop();
      await shared.close();
      folder.remove();
    }
  });

  it('stops taking messages at stream.maxAckPending in hand, and goes on once they are settled', async () => {
    const sink = await startTestSink(() => 'hold');
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'batched', {
      definition: testDefinition({ batch: { maxEvents: 5, maxWaitMs: 5 } }),
      body: TEST_BATCH_BODY,
      syncs: { main: syncFor(sink) },
    });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream: { ...stream, maxAckPending: 10 } }));
    const runner = daemon.daemon.runners.get('batched.main')!;
    try {
      await publish(subject, Array.from({ length: 40 }, (_, i) => testEvent(i)));
      await waitUntil(nats.connection, () => runner.parkedAt === 'hand', 10_000, 'parked with its hands full');
      // Ten taken (two requests of five on the wire) and the one waiting at the gate: no more.
      assert.equal(runner.pendingMessages, 11);
      await sink.waitForRequests(2);
      await nats.connection.flush();
      assert.equal(sink.requests.length, 2);
      assert.equal(runner.pendingMessages, 11);
      assert.equal((await runner.consumerInfo()).config.max_ack_pending, 10 + daemon.settings.stream.maxAckPendingForRetries);
      sink.behave(() => answer.ok());
      sink.release();
      sink.release();
      await waitUntil(nats.connection, () => runner.stats.deliveredFirstAttempt === 40, 10_000, 'every event delivered');
      assert.equal(runner.parkedAt, undefined);
    } finally {
      sink.behave(() => answer.ok());
      sink.release();
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('keeps taking new events while more than stream.maxAckPending wait in the stream for their retries', async () => {
    // The first 30 events fail and wait a minute for their retry (nak with a delay: each keeps its
    // place in the consumer's max_ack_pending); maxAckPending is 10.
    const sink = await startTestSink((request) => (Number(JSON.parse(request.body).insert_id.split('-')[1]) < 30 ? answer.status(503) : answer.ok()));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'retrying', {
      definition: testDefinition({ retry: { maxAttempts: 9, initialDelayMs: 60_000, jitter: 0 }, circuitBreaker: { enabled: false } }),
      syncs: { main: syncFor(sink) },
    });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream: { ...stream, maxAckPending: 10 } }));
    const runner = daemon.daemon.runners.get('retrying.main')!;
    try {
      await publish(subject, Array.from({ length: 30 }, (_, i) => testEvent(i)));
      await waitUntil(nats.connection, () => runner.stats.deferred === 30, 10_000, 'the first 30 deferred');
      await publish(subject, Array.from({ length: 30 }, (_, i) => testEvent(30 + i)));
      await waitUntil(nats.connection, () => runner.stats.deliveredFirstAttempt === 30, 10_000, 'the next 30 delivered');
      // The last acks leave in the next flush: wait for them, then exactly the 30 retries are pending.
      await waitUntil(nats.connection, async () => (await runner.consumerInfo()).num_ack_pending === 30, 10_000, 'the 30 retries wait in the stream, past maxAckPending');
      assert.equal(runner.pendingMessages, 0);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('forwards identify events through the identify request to syncs that turn it on, and filters them elsewhere', async () => {
    const on = await startTestSink();
    const off = await startTestSink();
    const folder = makeDestinationsDir();
    const definition = testDefinition({ identify: { url: '{{ parameters.endpoint }}/identify', body: 'identify.njk' } });
    const identifyBody = '{ "user": {{ input.user_id | json }}, "traits": {{ input.user_properties["$set"] | json }} }\n';
    writeDestinationFolder(folder.dir, 'people', { definition, identifyBody, syncs: { on: syncFor(on, { identifyForwarding: true }), off: syncFor(off) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await publish(subject, [{ event_type: '$identify', user_id: 'u-77', insert_id: 'id-1', user_properties: { $set: { plan: 'pro', seats: 5 } } }, testEvent(1)]);
      await on.waitForRequests(2);
      await off.waitForRequests(1);
      const identify = on.requests.find((request) => request.url === '/identify')!;
      assert.deepEqual(JSON.parse(identify.body), { user: 'u-77', traits: { plan: 'pro', seats: 5 } });
      assert.ok(on.requests.some((request) => request.url === '/track'));
      assert.deepEqual(off.requests.map((request) => request.url), ['/track']);
      const offStats = daemon.daemon.runners.get('people.off')!.stats;
      assert.equal(offStats.filtered, 1);
    } finally {
      await daemon.stop();
      await on.close();
      await off.close();
      folder.remove();
    }
  });

  it('replays a dead letter to its own sync only, with the CLI', async () => {
    const picky = await startTestSink(() => answer.status(400));
    const other = await startTestSink();
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'picky', { syncs: { main: syncFor(picky) } });
    writeDestinationFolder(folder.dir, 'other', { syncs: { main: syncFor(other) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, stream, destinationsDir: '.' });
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist/tools/cli.js'), ...args, '--config', config], { encoding: 'utf8' });
    try {
      await publish(subject, [testEvent(5)]);
      await picky.waitForRequests(1);
      await other.waitForRequests(1);
      // The daemon runs in this process: wait for its dead letter before the CLI (spawnSync blocks the loop).
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      const listed = cli('dead', 'list');
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /^\s+1\s+\S+\s+picky\.main\s+http_4xx status 400\s+attempts 1\s+insert-5/m);
      const shown = JSON.parse(cli('dead', 'show', '1').stdout);
      assert.equal(shown.reason, 'http_4xx');
      assert.equal(shown.request.headers.authorization, '[redacted]');

      picky.behave(() => answer.ok());
      const replayed = cli('dead', 'replay', '1');
      assert.equal(replayed.status, 0, replayed.stderr);
      assert.match(replayed.stdout, /replayed 1 to picky\.main/);
      await picky.waitForRequests(2);
      assert.equal(JSON.parse(picky.requests[1].body).insert_id, 'insert-5');
      await publish(subject, [testEvent(6)]);
      await other.waitForRequests(2);
      assert.deepEqual(other.requests.map((request) => JSON.parse(request.body).insert_id), ['insert-5', 'insert-6'], 'the other sync did not get the replay');
      assert.match(cli('dead', 'list').stdout, /no dead letters/);
    } finally {
      await daemon.stop();
      await picky.close();
      await other.close();
      folder.remove();
    }
  });

  it('lists dead letters of one sync (filtered by the server), by reason, the last N, as JSON', async () => {
    const picky = await startTestSink(() => answer.status(400));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'picky', { syncs: { main: syncFor(picky), second: syncFor(picky) } });
    const { subject, ...stream } = nats.streams('route');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, stream, destinationsDir: '.' });
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist/tools/cli.js'), ...args, '--config', config], { encoding: 'utf8' });
    try {
      await publish(subject, Array.from({ length: 5 }, (_, i) => testEvent(i)));
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 10);
      const main = cli('dead', 'list', '--sync', 'picky.main');
      assert.equal(main.status, 0, main.stderr);
      const lines = main.stdout.trim().split('\n');
      assert.equal(lines.length, 5);
      assert.ok(lines.every((line) => /\bpicky\.main\b/.test(line)), main.stdout);
      const last = cli('dead', 'list', '--sync', 'picky.second', '--limit', '2', '--json');
      assert.equal(last.status, 0, last.stderr);
      const letters = JSON.parse(last.stdout) as Array<{ seq: number; letter: { sync: string } }>;
      assert.equal(letters.length, 2);
      assert.ok(letters.every((stored) => stored.letter.sync === 'picky.second'));
      assert.ok(letters[0].seq < letters[1].seq, 'oldest first');
      const all = JSON.parse(cli('dead', 'list', '--json').stdout) as Array<{ seq: number; letter: { sync: string } }>;
      const secondSeqs = all.filter((stored) => stored.letter.sync === 'picky.second').map((stored) => stored.seq);
      assert.deepEqual(letters.map((stored) => stored.seq), secondSeqs.slice(-2), 'the last two of that sync');
      assert.deepEqual(JSON.parse(cli('dead', 'list', '--reason', 'render_failed', '--json').stdout), []);
      assert.match(cli('dead', 'list', '--sync', 'nobody.main').stdout, /no dead letters/);
      assert.equal(cli('dead', 'list', '--limit', '0').status, 2);
    } finally {
      await daemon.stop();
      await picky.close();
      folder.remove();
    }
  });
});
