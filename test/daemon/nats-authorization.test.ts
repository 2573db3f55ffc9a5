// The shipped NATS authorization (deploy/nats/nats-server.conf), run by a real nats-server: the
// daemon works as its user, a publisher can publish events and nothing else (neither as subject nor
// as reply subject: publishers have an account of their own), the operator's CLI reads and replays
// dead letters.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { replaySubject } from '../../daemon/dead-letter/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { writeConfig } from '../helpers/daemon-process.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const SHIPPED_CONFIG = join(PACKAGE_ROOT, 'deploy', 'nats', 'nats-server.conf');
const PASSWORDS = {
  DESTINATIONS_PUBLISHER_PASSWORD: 'publisher-password',
  DESTINATIONS_DAEMON_PASSWORD: 'daemon-password',
  DESTINATIONS_OPERATOR_PASSWORD: 'operator-password',
};

let server: NatsServerHandle;
let publisher: NatsConnection;
let admin: NatsConnection;
let sink: TestSink;
let peopleSink: TestSink;
let daemon: TestDaemon;
let folder: ReturnType<typeof makeDestinationsDir>;

before(async () => {
  Object.assign(process.env, PASSWORDS, { AUTH_TOKEN: 'auth-destination-token' });
  server = await startNatsServer({ config: SHIPPED_CONFIG, env: PASSWORDS });
  // The first request is refused, so there is a dead letter to replay, and so is an event whose
  // insert_id starts with "refused"; the rest are accepted.
  sink = await startTestSink((request, index) => (index === 0 || String(JSON.parse(request.body).insert_id).startsWith('refused') ? answer.status(400) : answer.ok()));
  folder = makeDestinationsDir();
  writeDestinationFolder(folder.dir, 'hook', { syncs: { ok: { parameters: { endpoint: sink.url, token: { env: 'AUTH_TOKEN' } } } } });
  // Change-based identify: the daemon reads and writes its KV bucket under its own user.
  peopleSink = await startTestSink();
  writeDestinationFolder(folder.dir, 'people', {
    definition: testDefinition({ identify: { url: '{{ parameters.endpoint }}/identify', body: 'identify.njk' } }),
    identifyBody: '{{ input.user_properties | json }}\n',
    syncs: { main: { parameters: { endpoint: peopleSink.url, token: { env: 'AUTH_TOKEN' } }, identifyForwarding: 'changes', filter: { eventTypes: ['identify-only'] } } },
  });
  const nats = { servers: [server.url], user: 'destinations', password: { env: 'DESTINATIONS_DAEMON_PASSWORD' }, inboxPrefix: '_INBOX_destinations' };
  daemon = await startTestDaemon(testSettings(server.url, folder.dir, { nats }));
  publisher = await connect({ servers: server.url, user: 'publisher', pass: PASSWORDS.DESTINATIONS_PUBLISHER_PASSWORD });
  // The daemon's user, to look at the streams from outside (it may read their state).
  admin = await connect({ servers: server.url, user: 'destinations', pass: PASSWORDS.DESTINATIONS_DAEMON_PASSWORD, inboxPrefix: '_INBOX_destinations' });
});

after(async () => {
  await publisher?.close();
  await admin?.close();
  await daemon?.stop();
  await sink?.close();
  await peopleSink?.close();
  await server?.stop();
  folder?.remove();
});

async function messagesIn(stream: string): Promise<number> {
  return (await (await jetstreamManager(admin)).streams.info(stream)).state.messages;
}

/** What a stream holds and has ever been written: a write, a delete or a purge changes it. */
async function streamState(stream: string): Promise<{ messages: number; last_seq: number; first_seq: number; num_deleted: number | undefined }> {
  const { messages, last_seq, first_seq, num_deleted } = (await (await jetstreamManager(admin)).streams.info(stream)).state;
  return { messages, last_seq, first_seq, num_deleted };
}

const refusedPublish = (subject: string) => new RegExp(`Permissions Violation for Publish to "${subject.replace(/[.$*>]/g, '\\$&')}"`, 'i');

describe('NATS authorization (deploy/nats)', () => {
  it('runs the daemon as its own user: it creates its streams, consumes what a publisher publishes, and dead-letters', async () => {
    await jetstream(publisher).publish('events.web', JSON.stringify(testEvent(1)));
    await sink.waitForRequests(1);
    await waitForStreamCount(admin, 'DEAD', 1);
    await jetstream(publisher).publish('events.web', JSON.stringify(testEvent(2)));
    await sink.waitForRequests(2);
    assert.equal(JSON.parse(sink.requests[1].body).insert_id, 'insert-2');
    const runner = daemon.daemon.runners.get('hook.ok')!;
    await waitUntil(admin, async () => (await runner.consumerInfo()).num_ack_pending === 0, 10_000, 'both events acked');
    const jsm = await jetstreamManager(admin);
    const guards = async (stream: string) => ((config) => [config.deny_purge, config.deny_delete])((await jsm.streams.info(stream)).config);
    assert.deepEqual(await guards('EVENTS'), [true, true], 'EVENTS refuses purges and message deletes');
    assert.deepEqual(await guards('DEAD'), [true, false], 'DEAD refuses purges; dead replay deletes letters');
  });

  it("lets the daemon user read dead letters for the console (direct gets on DEAD), without a consumer", async () => {
    const page = await daemon.daemon.deadLetters.page();
    assert.equal(page.total, 1);
    assert.deepEqual(
      page.letters.map((stored) => [stored.subject, stored.letter?.sync, stored.letter?.insertId]),
      [['dead.hook.ok', 'hook.ok', 'insert-1']],
    );
    assert.equal((await daemon.daemon.deadLetters.get(page.letters[0].seq))?.letter?.reason, page.letters[0].letter?.reason);
  });

  it('refuses a publisher on dead letters, on the replay subjects, on the JetStream API and on the daemon inboxes', async () => {
    const js = jetstream(publisher);
    const events = await messagesIn('EVENTS');
    const dead = await messagesIn('DEAD');
    await assert.rejects(js.publish('dead.hook.ok', JSON.stringify({ sync: 'hook.ok' })), (error: Error) => refusedPublish('dead.hook.ok').test(String(error.cause ?? error)));
    const replay = replaySubject('EVENTS', 'hook.ok');
    await assert.rejects(js.publish(replay, JSON.stringify(testEvent(3))), (error: Error) => refusedPublish(replay).test(String(error.cause ?? error)));
    const jsm = await jetstreamManager(publisher, { checkAPI: false });
    await assert.rejects(jsm.streams.purge('EVENTS'), (error: Error) => refusedPublish('$JS.API.STREAM.PURGE.EVENTS').test(String(error.cause ?? error)));
    await assert.rejects(jsm.streams.getMessage('DEAD', { seq: 1 }), (error: Error) => refusedPublish('$JS.API.STREAM.MSG.GET.DEAD').test(String(error.cause ?? error)));
    // Pull requests deliver the events to the daemon's inbox: a publisher may not listen there.
    const snoop = publisher.subscribe('_INBOX_destinations.>');
    assert.match(String(await snoop.closed), /Permissions Violation for Subscription to "_INBOX_destinations\.>"/i);
    assert.equal(await messagesIn('EVENTS'), events, 'the events stream is as it was');
    assert.equal(await messagesIn('DEAD'), dead, 'no dead letter was written');
    assert.equal(publisher.isClosed(), false, 'a refusal does not cost the publisher its connection');
  });

  it('refuses the daemon user on the replay subjects and on the event subjects', async () => {
    const js = jetstream(admin);
    const replay = replaySubject('EVENTS', 'hook.ok');
    await assert.rejects(js.publish(replay, JSON.stringify(testEvent(4))), (error: Error) => refusedPublish(replay).test(String(error.cause ?? error)));
    await assert.rejects(js.publish('events.web', JSON.stringify(testEvent(4))), (error: Error) => refusedPublish('events.web').test(String(error.cause ?? error)));
  });

  it("lets the operator's CLI list, show and replay dead letters with credentials by reference", async () => {
    const config = writeConfig(folder.dir, {
      nats: { servers: [server.url], user: 'operator', password: { env: 'DESTINATIONS_OPERATOR_PASSWORD' }, inboxPrefix: '_INBOX_operator' },
      destinationsDir: '.',
    });
    const cli = (...args: string[]) => runCli([...args, '--config', config]);
    const listed = await cli('dead', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^\s+1\s+\S+\s+hook\.ok\s+http_4xx status 400/m);
    const shown = await cli('dead', 'show', '1');
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).insertId, 'insert-1');
    const mine = await cli('dead', 'list', '--sync', 'hook.ok');
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /hook\.ok/);
    const replayed = await cli('dead', 'replay', '1');
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /replayed 1 to hook\.ok \(insert-1\)/);
    await sink.waitForRequests(3);
    assert.equal(JSON.parse(sink.requests[2].body).insert_id, 'insert-1');
    assert.equal(await messagesIn('DEAD'), 0);
    const wrongPassword = await runCli(['dead', 'list', '--config', config], { env: { DESTINATIONS_OPERATOR_PASSWORD: 'guess' } });
    assert.equal(wrongPassword.code, 6);
    assert.match(wrongPassword.stderr, /refused user "operator" .*Authorization Violation/i);
    assert.doesNotMatch(wrongPassword.stderr, /guess/);
  });

  it('keeps the identify memory in its KV bucket under the daemon user: the second identify sends only what changed', async () => {
    const identify = (insertId: string, plan: string) => ({ event_type: '$identify', user_id: 'u-1', insert_id: insertId, user_properties: { $set: { plan, city: 'Paris' } } });
    await jetstream(publisher).publish('events.web', JSON.stringify(identify('i-1', 'free')));
    await jetstream(publisher).publish('events.web', JSON.stringify(identify('i-2', 'pro')));
    const requests = await peopleSink.waitForRequests(2);
    assert.deepEqual(JSON.parse(requests[1].body), { $set: { plan: 'pro' } });
  });

  it('lets `destinations publish` run as the publisher: JetStream acknowledges through the import', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destinations-publisher-'));
    try {
      const config = writeConfig(dir, { nats: { servers: [server.url], user: 'publisher', password: { env: 'DESTINATIONS_PUBLISHER_PASSWORD' } }, destinationsDir: folder.dir });
      const events = join(dir, 'events.json');
      writeFileSync(events, JSON.stringify([testEvent(30), testEvent(31)]));
      const before = await messagesIn('EVENTS');
      const published = await runCli(['publish', events, '--config', config]);
      assert.equal(published.code, 0, published.stderr);
      assert.match(published.stdout, /^published 2 events to events\.cli: 2 stored in stream EVENTS at sequences \d+ to \d+\n$/);
      assert.equal(await messagesIn('EVENTS'), before + 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a reply subject chosen by a publisher reach nothing: not the JetStream API, dead letters, replays, the KV bucket, acks, announcements or inboxes', async () => {
    // State to lose: undelivered events, a dead letter, an identify memory entry, a message pending its ack.
    const deadBefore = (await streamState('DEAD')).messages;
    await jetstream(publisher).publish('events.web', JSON.stringify(testEvent(10, { insert_id: 'refused-10' })));
    await waitForStreamCount(admin, 'DEAD', deadBefore + 1);
    const jsm = await jetstreamManager(admin);
    const probe = await jsm.consumers.add('EVENTS', { durable_name: 'reply-probe', ack_policy: AckPolicy.Explicit, filter_subject: 'events.probe' });
    await jetstream(publisher).publish('events.probe', JSON.stringify(testEvent(11)));
    // A core pull request: its message carries the ack subject a reply could aim at.
    const pending = await admin.request(`$JS.API.CONSUMER.MSG.NEXT.EVENTS.${probe.name}`, JSON.stringify({ batch: 1 }), { timeout: 10_000, noMux: true });
    assert.match(pending.reply ?? '', /^\$JS\.ACK\.EVENTS\./, 'a message is pending its ack');
    const durable = daemon.daemon.runners.get('hook.ok')!.consumerName;
    const consumers = [...[...daemon.daemon.runners.values()].map((runner) => runner.consumerName), probe.name];
    const before = { events: await streamState('EVENTS'), dead: await streamState('DEAD'), memory: await streamState('KV_IDENTIFY_MEMORY') };
    assert.ok(before.memory.messages > 0, 'the identify memory has an entry');
    const streamsBefore = (await jsm.getAccountInfo()).streams;
    // Anything that reaches the daemon's announcements or its inbox is seen here.
    const announcements = admin.subscribe('_destinations.share.>');
    const inbox = admin.subscribe('_INBOX_destinations.reply-probe.>');
    const seen: string[] = [];
    // The daemon's own heartbeat (rate share, every few seconds) is no reply: it names the daemon and its syncs.
    const isHeartbeat = (data: string) => {
      try {
        const parsed = JSON.parse(data) as { instance?: unknown; syncs?: unknown };
        return typeof parsed.instance === 'string' && Array.isArray(parsed.syncs);
      } catch {
        return false;
      }
    };
    void (async () => {
      for await (const msg of announcements) if (!isHeartbeat(msg.string())) seen.push(msg.subject);
    })();
    void (async () => { for await (const msg of inbox) seen.push(msg.subject); })();
    await admin.flush();

    const replies = [
      '$JS.API.STREAM.PURGE.EVENTS',
      '$JS.API.STREAM.PURGE.DEAD',
      '$JS.API.STREAM.PURGE.KV_IDENTIFY_MEMORY',
      '$JS.API.STREAM.MSG.DELETE.DEAD',
      '$JS.API.STREAM.MSG.DELETE.EVENTS',
      `$JS.API.CONSUMER.DELETE.EVENTS.${durable}`,
      '$JS.API.STREAM.CREATE.REPLY_PROBE',
      'dead.hook.ok',
      replaySubject('EVENTS', 'hook.ok'),
      '$KV.IDENTIFY_MEMORY.hook__ok.reply-probe',
      '_destinations.share.x',
      '_INBOX_destinations.reply-probe.x',
      'events.web',
      '$SYS.REQ.SERVER.PING',
      '$JS.API.STREAM.DELETE.DEAD',
      '$JS.API.STREAM.DELETE.EVENTS',
    ];
    // nats-server itself refuses a client's reply on an ack subject or a service response subject.
    const reserved = [pending.reply!, '_R_.reply-probe.x'];
    const errors: string[] = [];
    void (async () => {
      for await (const status of publisher.status()) if (status.type === 'error') errors.push(String(status.error));
    })();
    for (const [index, reply] of [...replies, ...reserved].entries()) publisher.publish('events.web', JSON.stringify(testEvent(100 + index)), { reply });
    // The publisher's own publishes still work and are acknowledged, deduplication included; their
    // acks come after those of the messages above.
    const first = await jetstream(publisher).publish('events.web', JSON.stringify(testEvent(200)), { msgID: 'dedupe-200' });
    const again = await jetstream(publisher).publish('events.web', JSON.stringify(testEvent(200)), { msgID: 'dedupe-200' });
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    await admin.flush();

    const after = { events: await streamState('EVENTS'), dead: await streamState('DEAD'), memory: await streamState('KV_IDENTIFY_MEMORY') };
    assert.deepEqual(after.dead, before.dead, 'no dead letter was written or removed');
    assert.deepEqual(after.memory, before.memory, 'the identify memory is as it was');
    const added = replies.length + 1;
    assert.deepEqual(after.events, { ...before.events, messages: before.events.messages + added, last_seq: before.events.last_seq + added }, 'the events stream holds the new events (one each), and lost none');
    for (const name of consumers) assert.ok(await jsm.consumers.info('EVENTS', name), `consumer ${name} is still there`);
    assert.equal((await jsm.consumers.info('EVENTS', probe.name)).num_ack_pending, 1, 'the pending message was not acked by a reply');
    assert.equal((await jsm.getAccountInfo()).streams, streamsBefore, 'no stream was created or deleted');
    assert.deepEqual(seen, [], 'nothing reached the announcements or the daemon inbox');
    for (const reply of reserved) assert.ok(errors.some((error) => error.includes(`Permissions Violation for Publish with Reply of "${reply}"`)), `${reply} refused: ${errors.join('; ')}`);
    assert.equal(publisher.isClosed(), false);
    announcements.unsubscribe();
    inbox.unsubscribe();
  });

  it("had every permission the daemon's work needed: the server refused it nothing", () => {
    assert.deepEqual(daemon.logs.filter((line) => line.msg === 'NATS server error'), []);
    assert.equal(daemon.daemon.storage?.source, 'measured', 'the daemon may make and delete its storage probe');
  });
});
