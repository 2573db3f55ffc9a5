// Change-based identify through a real daemon, a real nats-server (JetStream KV) and a real
// node:http sink: only what changed is sent, an identify that changes nothing is filtered
// "unchanged", a failed delivery records nothing, the memory outlives the daemon, and two
// writers of one user keep each other's newer values.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { valueHash } from '../../daemon/events/index.js';
import { IdentifyMemory } from '../../daemon/consumer/identify-memory.js';
import { renderMetrics } from '../../daemon/telemetry/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const IDENTIFY_BODY = '{ "user": {{ input.user_id | json }}, "ops": {{ input.user_properties | json }} }\n';
const BUCKET = 'IDENTIFY_TEST';

const nats = useNatsServer();

function identify(insertId: string, userId: string, userProperties: Record<string, unknown>): Record<string, unknown> {
  return { event_type: '$identify', user_id: userId, insert_id: insertId, time: 1_700_000_000_000, user_properties: userProperties };
}

describe('daemon change-based identify', () => {
  let sink: TestSink;
  let folder: { dir: string; remove(): void };
  let daemon: TestDaemon | undefined;
  let stream: ReturnType<typeof nats.streams>;
  const settings = () => testSettings(nats.url, folder.dir, { stream: { ...withoutSubject(stream), identifyMemoryBucket: BUCKET } });
  const publish = async (...events: Array<Record<string, unknown>>) => {
    for (const event of events) await nats.js.publish(stream.subject, JSON.stringify(event));
  };
  const sent = (index: number) => JSON.parse(sink.requests[index].body);
  const unchanged = () => daemon!.daemon.runners.get('people.main')!.stats.filteredByReason.get('unchanged') ?? 0;

  before(async () => {
    process.env.IDENTIFY_TOKEN = 'tok-identify-changes-secret';
    // One attempt: a failure is dead-lettered at once.
    sink = await startTestSink((request) => (request.body.includes('"u-400"') ? answer.status(400) : request.body.includes('"u-500"') ? answer.status(500) : answer.ok()));
    folder = makeDestinationsDir();
    const definition = testDefinition({ identify: { url: '{{ parameters.endpoint }}/identify', body: 'identify.njk' }, retry: { maxAttempts: 1 } });
    writeDestinationFolder(folder.dir, 'people', {
      definition,
      identifyBody: IDENTIFY_BODY,
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'IDENTIFY_TOKEN' } }, identifyForwarding: 'changes' } },
    });
    stream = nats.streams('identify');
    daemon = await startTestDaemon(settings());
  });

  after(async () => {
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

  it('sends the whole first identify, then only the property that changed', async () => {
    await publish(identify('i-1', 'u-1', { $set: { plan: 'free', city: 'Paris' } }), identify('i-2', 'u-1', { $set: { plan: 'pro', city: 'Paris' } }));
    await sink.waitForRequests(2);
    assert.deepEqual(sent(0), { user: 'u-1', ops: { $set: { plan: 'free', city: 'Paris' } } });
    assert.deepEqual(sent(1), { user: 'u-1', ops: { $set: { plan: 'pro' } } });
  });

  it('sends nothing for an identify that changes nothing, and counts it as filtered "unchanged" in stats and metrics', async () => {
    const before = sink.requests.length;
    // A second user's identify after it shows the first was taken and decided.
    await publish(identify('i-3', 'u-1', { $set: { city: 'Paris', plan: 'pro' } }), identify('i-4', 'u-2', { $set: { plan: 'team' } }));
    await sink.waitForRequests(before + 1);
    await waitUntil(nats.connection, () => unchanged() === 1, 5_000, 'one unchanged');
    assert.equal(sink.requests.length, before + 1);
    assert.deepEqual(sent(before), { user: 'u-2', ops: { $set: { plan: 'team' } } });
    const stats = daemon!.daemon.runners.get('people.main')!.stats;
    assert.deepEqual(stats.toJSON().filteredByReason, { unchanged: 1 });
    assert.match(renderMetrics(daemon!.daemon.view(), new Map(), Date.now()), /destinations_events_filtered_by_reason_total\{[^}]*sync="people\.main"[^}]*reason="unchanged"\} 1/);
  });

  it('records nothing for a delivery answered 400 or 500, so the next identify is sent whole', async () => {
    await publish(identify('i-5', 'u-400', { $set: { plan: 'free' } }), identify('i-6', 'u-500', { $set: { plan: 'free' } }));
    await waitForStreamCount(nats.connection, stream.deadLetterStream, 2);
    const memory = await IdentifyMemory.open(nats.js, settings(), 'people__main');
    assert.equal((await memory.read('u:u-400')).revision, 0);
    assert.equal((await memory.read('u:u-500')).revision, 0);
    sink.behave(() => answer.ok());
    const before = sink.requests.length;
    await publish(identify('i-7', 'u-400', { $set: { plan: 'free' } }), identify('i-8', 'u-500', { $set: { plan: 'free' } }));
    const requests = (await sink.waitForRequests(before + 2)).slice(before).map((request) => JSON.parse(request.body));
    assert.deepEqual(requests.map((request) => request.ops).sort(), [{ $set: { plan: 'free' } }, { $set: { plan: 'free' } }]);
  });

  it('keeps the memory across a restart of the daemon', async () => {
    await daemon!.stop();
    daemon = await startTestDaemon(settings());
    const before = sink.requests.length;
    await publish(identify('i-9', 'u-1', { $set: { plan: 'pro', city: 'Paris' } }), identify('i-10', 'u-1', { $set: { plan: 'pro', city: 'Lyon' } }));
    await sink.waitForRequests(before + 1);
    await waitUntil(nats.connection, () => unchanged() === 1, 5_000, 'one unchanged after the restart');
    assert.deepEqual(sent(before), { user: 'u-1', ops: { $set: { city: 'Lyon' } } });
  });
});

describe('identify memory in a NATS KV bucket', () => {
  it('keeps the newest of two daemons writing one user: a write from an older revision is merged, not lost', async () => {
    const settings = testSettings(nats.url, '.', { stream: { identifyMemoryBucket: 'IDENTIFY_RACE' } });
    const other = await connect({ servers: nats.url });
    try {
      const first = await IdentifyMemory.open(nats.js, settings, 'people__main');
      const second = await IdentifyMemory.open(jetstream(other), settings, 'people__main');
      await first.remember('u:7', await first.read('u:7'), { $set: { plan: 'free', city: 'Paris', seats: 1 } });
      // Both daemons read the same revision and deliver at the same time.
      const [readByFirst, readBySecond] = await Promise.all([first.read('u:7'), second.read('u:7')]);
      assert.equal(readByFirst.revision, readBySecond.revision);
      await second.remember('u:7', readBySecond, { $set: { city: 'Lyon', seats: 2 } });
      await first.remember('u:7', readByFirst, { $set: { plan: 'pro', seats: 3 } });
      const stored = await second.read('u:7');
      assert.ok(stored.revision > readBySecond.revision);
      // Each one's change is kept; seats, changed by both to different values, is forgotten (sent next time).
      assert.deepEqual(stored.memory, new Map([
        ['plan', { hash: valueHash('pro') }],
        ['city', { hash: valueHash('Lyon') }],
      ]));
    } finally {
      await other.close();
    }
  });

  it('creates the bucket with the configured replicas and TTL', async () => {
    const settings = testSettings(nats.url, '.', { stream: { identifyMemoryBucket: 'IDENTIFY_TTL', identifyMemoryTtlDays: 2 } });
    await IdentifyMemory.open(nats.js, settings, 'people__main');
    const info = await (await nats.js.jetstreamManager()).streams.info('KV_IDENTIFY_TTL');
    assert.equal(info.config.max_age, 2 * 24 * 60 * 60 * 1e9);
    assert.equal(info.config.num_replicas, 1);
    assert.equal(info.config.max_msgs_per_subject, 1);
  });
});

function withoutSubject<T extends { subject: string }>(streams: T): Omit<T, 'subject'> {
  const { subject: _subject, ...rest } = streams;
  return rest;
}
