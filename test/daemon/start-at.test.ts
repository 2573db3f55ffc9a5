// Where a new sync starts reading the stream (its startAt), used once, when its consumer is made.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { runCli } from '../helpers/cli.js';

const nats = useNatsServer();

before(() => {
  process.env.START_AT_TOKEN = 'start-at-secret';
});

const sync = (sink: TestSink, startAt?: string) => ({ parameters: { endpoint: sink.url, token: { env: 'START_AT_TOKEN' } }, ...(startAt === undefined ? {} : { startAt }) });

/** Publishes `old` events, then starts a daemon whose one sync has `startAt`, then publishes `fresh` ones; returns the ids delivered. */
async function scenario(startAt: string | ((oldPublishedBy: Date) => string) | undefined): Promise<{ ids: string[]; sink: TestSink; done: () => Promise<void> }> {
  const sink = await startTestSink();
  const folder = makeDestinationsDir();
  const { subject, ...stream } = nats.streams('startat');
  // The stream exists before the sync (as it would for a long-running deployment).
  const jsm = await jetstreamManager(nats.connection);
  await jsm.streams.add({ name: stream.name, subjects: stream.subjects });
  for (let i = 0; i < 3; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { insert_id: `old-${i}` })));
  // The server's own timestamp of the last old event, and a later millisecond before anything else is published.
  const lastOld = await jsm.streams.getMessage(stream.name, { last_by_subj: subject });
  const oldPublishedBy = lastOld!.time;
  while (Date.now() <= oldPublishedBy.getTime() + 2) await nats.connection.flush();
  const at = typeof startAt === 'function' ? startAt(oldPublishedBy) : startAt;
  if (typeof startAt === 'function') await nats.js.publish(subject, JSON.stringify(testEvent(9, { insert_id: 'after-the-time' })));
  writeDestinationFolder(folder.dir, 'hook', { syncs: { main: sync(sink, at) } });
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  await nats.js.publish(subject, JSON.stringify(testEvent(5, { insert_id: 'new-0' })));
  await sink.waitForRequests(1);
  // 'new-0' is the last event published: once it is in, everything the sync will get is in (one at a time, in order).
  const deadline = Date.now() + 5_000;
  while (!sink.requests.some((request) => JSON.parse(request.body).insert_id === 'new-0')) {
    if (Date.now() > deadline) throw new Error('new-0 never arrived');
    await sink.waitForRequests(sink.requests.length + 1, deadline - Date.now());
  }
  return {
    ids: sink.requests.map((request) => JSON.parse(request.body).insert_id as string).sort(),
    sink,
    done: async () => {
      await daemon.stop();
      await sink.close();
      folder.remove();
    },
  };
}

describe('daemon sync startAt', () => {
  it('starts a new sync at the events published from then on by default ("new"), not at the stream\'s history', async () => {
    const run = await scenario(undefined);
    try {
      assert.deepEqual(run.ids, ['new-0']);
    } finally {
      await run.done();
    }
  });

  it('reads the whole stream with "all"', async () => {
    const run = await scenario('all');
    try {
      assert.deepEqual(run.ids, ['new-0', 'old-0', 'old-1', 'old-2']);
    } finally {
      await run.done();
    }
  });

  it('starts at a time with an ISO 8601 time', async () => {
    const run = await scenario((oldPublishedBy) => new Date(oldPublishedBy.getTime() + 1).toISOString());
    try {
      assert.deepEqual(run.ids, ['after-the-time', 'new-0']);
    } finally {
      await run.done();
    }
  });

  it('never moves an existing consumer: a changed startAt applies to new consumers only', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    const { subject, ...stream } = nats.streams('startatkeep');
    writeDestinationFolder(folder.dir, 'hook', { syncs: { main: sync(sink) } });
    let daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(1, { insert_id: 'first' })));
      await sink.waitForRequests(1);
      await daemon.stop();
      writeDestinationFolder(folder.dir, 'hook', { syncs: { main: sync(sink, 'all') } });
      daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
      await nats.js.publish(subject, JSON.stringify(testEvent(2, { insert_id: 'second' })));
      await sink.waitForRequests(2);
      assert.deepEqual(sink.requests.map((request) => JSON.parse(request.body).insert_id), ['first', 'second'], 'nothing replayed');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('starts a new sync at the first message of a stream the daemon has just made, so nothing published between the two is skipped', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    const { subject, ...stream } = nats.streams('startatmade');
    writeDestinationFolder(folder.dir, 'hook', { syncs: { main: sync(sink) } });
    // An event published the moment the stream exists, before the sync's consumer does.
    let published: Promise<unknown> | undefined;
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }), (line) => {
      if (line.msg === 'created stream' && line.stream === stream.name) published = nats.js.publish(subject, JSON.stringify(testEvent(1, { insert_id: 'in-between' })));
    });
    try {
      await published;
      const jsm = await jetstreamManager(nats.connection);
      const consumer = await jsm.consumers.info(stream.name, daemon.daemon.runners.get('hook.main')!.consumerName);
      assert.equal(consumer.config.deliver_policy, 'all', 'startAt "new" on a stream made in the same start reads it from its first message');
      assert.equal(daemon.logs.find((line) => line.msg === "created the sync's consumer")?.from, "the stream's first message");
      await sink.waitForRequests(1);
      assert.equal(JSON.parse(sink.requests[0].body).insert_id, 'in-between');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('refuses a startAt that is not "new", "all" or a time, naming the file and field', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    try {
      writeDestinationFolder(folder.dir, 'hook', { syncs: { main: sync(sink, 'yesterday') } });
      const result = await runCli(['validate', folder.dir]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /syncs\/main\.json:\d+:\d+: .*startAt/);
    } finally {
      await sink.close();
      folder.remove();
    }
  });
});
