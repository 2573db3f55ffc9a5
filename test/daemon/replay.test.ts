// Replays cannot be forged: `dead replay` goes to the sync a letter is stored under and to the
// events stream only, a replay travels on its sync's replay subject, and a header aims nothing.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { REPLAY_SYNC_HEADER } from '../../daemon/consumer/index.js';
import { replaySubject, replaySubjects } from '../../daemon/dead-letter/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { writeConfig } from '../helpers/daemon-process.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type SinkBehaviour, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer, type TestStreams } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.REPLAY_TOKEN = 'replay-secret';
});

interface Setup {
  hook: TestSink;
  leak: TestSink;
  daemon: TestDaemon;
  stream: Omit<TestStreams, 'subject'>;
  subject: string;
  /** Runs the CLI against this test's streams. */
  cli(...args: string[]): ReturnType<typeof runCli>;
  close(): Promise<void>;
}

/** Two destinations, `hook` (sync `ok`) and `leak` (sync `default`), on a stream of their own. */
async function setUp(hookBehaviour?: SinkBehaviour): Promise<Setup> {
  const hook = await startTestSink(hookBehaviour);
  const leak = await startTestSink();
  const folder = makeDestinationsDir();
  const sync = (sink: TestSink) => ({ parameters: { endpoint: sink.url, token: { env: 'REPLAY_TOKEN' } } });
  writeDestinationFolder(folder.dir, 'hook', { syncs: { ok: sync(hook) } });
  writeDestinationFolder(folder.dir, 'leak', { syncs: { default: sync(leak) } });
  const { subject, ...stream } = nats.streams('replay');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, stream, destinationsDir: '.' });
  return {
    hook,
    leak,
    daemon,
    stream,
    subject,
    cli: (...args) => runCli([...args, '--config', config]),
    async close() {
      await daemon.stop();
      await hook.close();
      await leak.close();
      folder.remove();
    },
  };
}

const insertIds = (sink: TestSink) => sink.requests.map((request) => JSON.parse(request.body).insert_id as string);

/** Resolves once both syncs have taken `count` messages from the stream (delivered, filtered or skipped). */
async function bothReceived(setup: Setup, count: number): Promise<void> {
  const runners = ['hook.ok', 'leak.default'].map((id) => setup.daemon.daemon.runners.get(id)!);
  await waitUntil(nats.connection, () => runners.every((runner) => runner.stats.received >= count), 10_000, `both syncs received ${count}`);
}

/** A dead letter as the daemon writes it, with the fields a forger would change. */
function letter(setup: Setup, fields: { sync: string; subject: string; insertId: string }) {
  return {
    format: 1,
    deadAt: new Date().toISOString(),
    destination: fields.sync.split('.')[0],
    sync: fields.sync,
    definitionVersion: 'v1',
    reason: 'http_4xx',
    attempts: 1,
    event: testEvent(1, { insert_id: fields.insertId }),
    insertId: fields.insertId,
    source: { stream: setup.stream.name, sequence: 1, subject: fields.subject, publishedAt: new Date().toISOString() },
  };
}

async function writeLetter(setup: Setup, storedUnder: string, body: unknown): Promise<number> {
  return (await nats.js.publish(`${setup.stream.deadLetterSubjectPrefix}.${storedUnder}`, JSON.stringify(body))).seq;
}

describe('dead replay', () => {
  it('refuses a letter stored under one sync that names another, and sends nothing', async () => {
    const setup = await setUp();
    try {
      const seq = await writeLetter(setup, 'hook.ok', letter(setup, { sync: 'leak.default', subject: setup.subject, insertId: 'forged' }));
      const replayed = await setup.cli('dead', 'replay', String(seq));
      assert.equal(replayed.code, 1, replayed.stdout);
      assert.match(replayed.stderr, /dead letter 1 is stored under replaydead\d+\.hook\.ok but names sync leak\.default: refused/);
      await nats.js.publish(setup.subject, JSON.stringify(testEvent(2)));
      await bothReceived(setup, 1);
      await setup.hook.waitForRequests(1);
      await setup.leak.waitForRequests(1);
      assert.deepEqual(insertIds(setup.leak), ['insert-2'], 'leak.default did not get the forged letter');
      assert.deepEqual(insertIds(setup.hook), ['insert-2']);
      assert.equal((await (await jetstreamManager(nats.connection)).streams.info(setup.stream.deadLetterStream)).state.messages, 1, 'the refused letter is kept');
    } finally {
      await setup.close();
    }
  });

  it('refuses a letter whose original subject is not one of the events stream, such as the JetStream API', async () => {
    const setup = await setUp();
    try {
      await nats.js.publish(setup.subject, JSON.stringify(testEvent(3)));
      await setup.hook.waitForRequests(1);
      const jsm = await jetstreamManager(nats.connection);
      const purge = `$JS.API.STREAM.PURGE.${setup.stream.name}`;
      const seq = await writeLetter(setup, 'hook.ok', letter(setup, { sync: 'hook.ok', subject: purge, insertId: 'purge' }));
      const other = await writeLetter(setup, 'hook.ok', letter(setup, { sync: 'hook.ok', subject: 'elsewhere.events', insertId: 'elsewhere' }));
      const replayed = await setup.cli('dead', 'replay', String(seq), String(other));
      assert.equal(replayed.code, 1, replayed.stdout);
      assert.match(replayed.stderr, new RegExp(`dead letter 1 names the subject \\$JS\\.API\\.STREAM\\.PURGE\\.${setup.stream.name}, which is not one of stream ${setup.stream.name}'s`));
      assert.match(replayed.stderr, /dead letter 2 names the subject elsewhere\.events/);
      assert.equal((await jsm.streams.info(setup.stream.name)).state.messages, 1, 'the events stream was not purged');
      assert.equal((await jsm.streams.info(setup.stream.deadLetterStream)).state.messages, 2);
    } finally {
      await setup.close();
    }
  });

  it('replays a dead letter to the sync it is stored under, end to end with the CLI, on that sync replay subject', async () => {
    const setup = await setUp((_request, index) => (index === 0 ? answer.status(400) : answer.ok()));
    try {
      await nats.js.publish(setup.subject, JSON.stringify(testEvent(4)));
      await waitForStreamCount(nats.connection, setup.stream.deadLetterStream, 1);
      const replayed = await setup.cli('dead', 'replay', '1');
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout, /replayed 1 to hook\.ok \(insert-4\)/);
      await setup.hook.waitForRequests(2);
      assert.deepEqual(insertIds(setup.hook), ['insert-4', 'insert-4']);
      await bothReceived(setup, 2);
      assert.deepEqual(insertIds(setup.leak), ['insert-4'], 'the other sync got the event once, not the replay');
      assert.equal(setup.daemon.daemon.runners.get('leak.default')!.stats.filtered, 1, 'the replay for another sync is counted as filtered');
      const jsm = await jetstreamManager(nats.connection);
      const stored = await jsm.streams.getMessage(setup.stream.name, { seq: 2 });
      assert.equal(stored!.subject, replaySubject(setup.stream.name, 'hook.ok'));
      assert.equal((await jsm.streams.info(setup.stream.deadLetterStream)).state.messages, 0);
    } finally {
      await setup.close();
    }
  });
});

describe('replay targeting in the daemon', () => {
  it('delivers an ordinary event carrying the replay header to every sync whose filter passes', async () => {
    const setup = await setUp();
    try {
      const headers = natsHeaders();
      headers.set(REPLAY_SYNC_HEADER, 'hook.ok');
      await nats.js.publish(setup.subject, JSON.stringify(testEvent(5)), { headers });
      await setup.hook.waitForRequests(1);
      await setup.leak.waitForRequests(1);
      assert.deepEqual(insertIds(setup.leak), ['insert-5'], 'the header hid nothing from leak.default');
    } finally {
      await setup.close();
    }
  });

  it('skips a replay naming another sync and counts it as filtered; an unknown replay subject reaches nobody', async () => {
    const setup = await setUp();
    try {
      await nats.js.publish(replaySubject(setup.stream.name, 'leak.default'), JSON.stringify(testEvent(6)));
      await nats.js.publish(`${replaySubject(setup.stream.name, 'leak.default')}.extra`, JSON.stringify(testEvent(7)));
      await nats.js.publish(setup.subject, JSON.stringify(testEvent(8)));
      await bothReceived(setup, 3);
      await setup.hook.waitForRequests(1);
      await setup.leak.waitForRequests(2);
      assert.deepEqual(insertIds(setup.hook), ['insert-8']);
      assert.deepEqual(insertIds(setup.leak).sort(), ['insert-6', 'insert-8']);
      assert.equal(setup.daemon.daemon.runners.get('hook.ok')!.stats.filtered, 2);
      assert.equal(setup.daemon.daemon.runners.get('leak.default')!.stats.filtered, 1);
    } finally {
      await setup.close();
    }
  });
});

describe('ensureStreams', () => {
  it('adds the replay subjects to an events stream made before them, keeping its own subjects', async () => {
    const { subject, ...stream } = nats.streams('replayold');
    const jsm = await jetstreamManager(nats.connection);
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects });
    const lines: string[] = [];
    const settings = testSettings(nats.url, '.', { stream });
    await ensureStreams(jsm, settings.stream, createLogger({ level: 'info', write: (line) => lines.push(line) }));
    assert.deepEqual((await jsm.streams.info(stream.name)).config.subjects, [...stream.subjects, replaySubjects(stream.name)]);
    assert.ok(lines.some((line) => line.includes('added the replay subjects')));
    await nats.js.publish(subject, '{}');
    await ensureStreams(jsm, settings.stream, createLogger({ level: 'info', write: () => {} }));
    assert.equal((await jsm.streams.info(stream.name)).state.messages, 1, 'a second start changes nothing');
  });
});
