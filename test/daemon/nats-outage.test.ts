// Health is true while NATS is down: a real nats-server is stopped under a running daemon and
// started again on the same port and store. Readiness, /destinations, the metric and the log say
// so within 2 s, and come back once the consumers run again. And a server that comes back without
// its store: the daemon notices, is not ready until it has made its stream and consumer again, and
// delivers every event the new server acknowledged.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { formatStatus } from '../../tools/commands/status.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { distinctInsertIds, startTestSink, waitForDistinctInsertIds, type TestSink } from '../helpers/http-sink.js';
import { startNatsServer, useNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

/** Polls a condition (the NATS connection is what is down, so no round trip can pace this). */
async function eventually(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await delay(20);
  }
  return Date.now() - started;
}

describe('daemon health while NATS is down', () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'destinations-outage-'));
  const folder = makeDestinationsDir();
  let server: NatsServerHandle;
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${admin.port}${path}`);
    return { status: response.status, text: await response.text() };
  };

  before(async () => {
    process.env.OUTAGE_TOKEN = 'outage-secret';
    server = await startNatsServer({ storeDir });
    sink = await startTestSink();
    writeDestinationFolder(folder.dir, 'hook', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'OUTAGE_TOKEN' } } } } });
    daemon = await startTestDaemon(testSettings(server.url, folder.dir, { stream: { name: 'OUT', subjects: ['out.>'], deadLetterStream: 'OUTDEAD', deadLetterSubjectPrefix: 'outdead' } }));
    admin = await startAdminServer(daemon.daemon);
  });
  after(async () => {
    await admin?.close();
    await daemon?.stop();
    await server?.stop();
    await sink?.close();
    folder.remove();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('says disconnected within 2 s, logs it with the server, and is ready again once the consumers run', async () => {
    assert.equal((await get('/readyz')).status, 200);
    await server.stop();

    await eventually(async () => (await get('/readyz')).status === 503, 2_000, '/readyz 503');
    const readyz = JSON.parse((await get('/readyz')).text) as { reason: string };
    assert.match(readyz.reason, /NATS disconnected since \d{4}-/);
    const report = JSON.parse((await get('/destinations')).text) as AdminReport;
    assert.equal(report.connected, false);
    assert.match(formatStatus(report), /NATS DISCONNECTED; NOT READY: NATS disconnected/);
    assert.match((await get('/metrics')).text, /^destinations_nats_connected 0$/m);
    const disconnect = daemon.logs.find((line) => line.msg === 'disconnected from NATS; reconnecting');
    assert.ok(disconnect, 'the disconnect is logged');
    assert.match(String(disconnect.server), /127\.0\.0\.1/);

    server = await startNatsServer({ storeDir, port: server.port });
    await eventually(async () => (await get('/readyz')).status === 200, 20_000, '/readyz 200 after the restart');
    assert.ok(daemon.logs.some((line) => line.msg === 'reconnected to NATS'), 'the reconnect is logged');
    assert.match((await get('/metrics')).text, /^destinations_nats_connected 1$/m);

    // The consumers run again: an event published now is delivered.
    const publisher = await connect({ servers: server.url });
    try {
      await jetstream(publisher).publish('out.test', JSON.stringify(testEvent(1)));
      await sink.waitForRequests(1);
    } finally {
      await publisher.close();
    }
  });
});

/** Publishes one event after another until stopped; what the server acknowledged is recorded by whether it was published after `fromNow()`. */
async function steadyPublisher(url: string, subject: string) {
  const publisher = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const js = jetstream(publisher);
  const state = { before: [] as string[], after: [] as string[], marked: false, stopped: false };
  const loop = (async () => {
    for (let i = 0; !state.stopped; i++) {
      const id = `steady-${i}`;
      const after = state.marked;
      try {
        await js.publish(subject, JSON.stringify(testEvent(i, { insert_id: id })), { timeout: 1_000 });
        (after ? state.after : state.before).push(id);
      } catch {
        // No server, or no stream yet: not acknowledged. A round trip before the next try.
        await publisher.flush().catch(() => undefined);
      }
    }
  })();
  return {
    state,
    /** From now on, an acknowledgement can only come from the server started last. */
    mark: () => (state.marked = true),
    async stop() {
      state.stopped = true;
      await loop;
      await publisher.close();
    },
  };
}

describe('daemon when NATS comes back without its store', () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'destinations-store-loss-'));
  const folder = makeDestinationsDir();
  let server: NatsServerHandle;
  let sink: TestSink;
  let daemon: TestDaemon;
  /** The daemon's readiness at the moment it made the events stream again. */
  const atRemake: Array<{ ready: boolean; notReady?: string }> = [];
  let restarted = false;

  before(async () => {
    process.env.LOSS_TOKEN = 'loss-secret';
    server = await startNatsServer({ storeDir });
    sink = await startTestSink();
    writeDestinationFolder(folder.dir, 'hook', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'LOSS_TOKEN' } } } } });
    const settings = testSettings(server.url, folder.dir, { stream: { name: 'LOSS', subjects: ['loss.>'], deadLetterStream: 'LOSSDEAD', deadLetterSubjectPrefix: 'lossdead' } });
    daemon = await startTestDaemon(settings, (line, running) => {
      if (restarted && line.msg === 'created stream' && line.stream === 'LOSS') atRemake.push(running.view());
    });
  });
  after(async () => {
    await daemon?.stop();
    await server?.stop();
    await sink?.close();
    folder.remove();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('is not ready until it has made the stream and consumer again, without a restart, and delivers every event acknowledged after the stream came back', async () => {
    const publisher = await steadyPublisher(server.url, 'loss.test');
    try {
      await waitForDistinctInsertIds(sink, 20, 20_000);
      // The server goes, and comes back on the same port with an empty store.
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
      restarted = true;
      server = await startNatsServer({ storeDir, port: server.port });
      publisher.mark();
      await eventually(async () => daemon.logs.some((line) => line.msg === 'NATS had lost streams or consumers of this daemon; made them again from its configuration'), 20_000, 'the repair');
      await eventually(async () => publisher.state.after.length >= 200, 20_000, '200 events acknowledged by the new server');
    } finally {
      await publisher.stop();
    }

    assert.equal(atRemake.length, 1, 'the stream was made again once');
    assert.equal(atRemake[0].ready, false, 'not ready while the stream is missing');
    assert.match(String(atRemake[0].notReady), /checking that NATS still has the streams and consumers/);
    const repair = daemon.logs.find((line) => line.msg === 'NATS had lost streams or consumers of this daemon; made them again from its configuration')!;
    assert.equal(repair.why, 'reconnected to NATS');
    assert.deepEqual(repair.made, ['stream LOSS', 'stream LOSSDEAD', 'consumer hook__main (made again)']);

    // Every event the new server acknowledged arrives, those published between the stream and its consumer included.
    const acknowledged = publisher.state.after;
    await eventually(async () => acknowledged.every((id) => distinctInsertIds(sink).has(id)), 20_000, 'every acknowledged event at the sink');
    assert.equal(daemon.daemon.view().ready, true);
    const reader = await connect({ servers: server.url });
    try {
      const consumer = await (await jetstreamManager(reader)).consumers.info('LOSS', 'hook__main');
      assert.equal(consumer.config.deliver_policy, DeliverPolicy.All, 'made again at the first message of the stream made again');
    } finally {
      await reader.close();
    }
  });
});

describe('daemon when its consumer is deleted under it', () => {
  const nats = useNatsServer();

  it('makes it again where this daemon was, delivers what it held, what came meanwhile and what followed, and leaves nothing unacknowledged', async () => {
    process.env.LOSS_TOKEN = 'loss-secret';
    // The destination holds its answers, so the daemon has events in hand when the consumer goes.
    const sink = await startTestSink(() => 'hold');
    const folder = makeDestinationsDir();
    const { subject, ...stream } = nats.streams('gone');
    writeDestinationFolder(folder.dir, 'hook', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'LOSS_TOKEN' } } } } });
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const jsm = await jetstreamManager(nats.connection);
    try {
      for (let i = 0; i < 10; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { insert_id: `before-${i}` })));
      await sink.waitForRequests(10);
      // The consumer disappears (an operator's `nats consumer rm`, a cluster that lost it). nats-server
      // 2.9 may answer "directory not empty" when the consumer's store is written meanwhile; it is gone all the same.
      await jsm.consumers.delete(stream.name, 'hook__main').catch((error: Error) => assert.match(error.message, /directory not empty/));
      for (let i = 0; i < 5; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { insert_id: `meanwhile-${i}` })));
      await eventually(async () => daemon.logs.some((line) => line.msg === 'NATS had lost streams or consumers of this daemon; made them again from its configuration'), 20_000, 'the repair');
      const repair = daemon.logs.find((line) => line.msg === 'NATS had lost streams or consumers of this daemon; made them again from its configuration')!;
      assert.deepEqual(repair.made, ['consumer hook__main (made again)']);
      assert.match(String(repair.why), /consumer deleted|consumer not found/);
      const consumer = await jsm.consumers.info(stream.name, 'hook__main');
      assert.equal(consumer.config.opt_start_seq, 1, 'made again at the first event this daemon still held');
      sink.behave(() => ({ status: 200, body: '{}' }));
      sink.release();
      for (let i = 0; i < 5; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { insert_id: `after-${i}` })));
      await waitForDistinctInsertIds(sink, 20, 20_000);
      // What it held from the old consumer was never settled on the new one; the new one has every event acked.
      await eventually(async () => {
        const info = await jsm.consumers.info(stream.name, 'hook__main');
        return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === 20;
      }, 20_000, 'every event acknowledged on the consumer made again');
      assert.equal(daemon.daemon.view().ready, true);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
