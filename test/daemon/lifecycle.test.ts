// The daemon as a process: killed and restarted, reloaded with SIGHUP, drained with SIGTERM.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, distinctInsertIds, startTestSink, waitForDistinctInsertIds, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { spawnDaemon, writeConfig } from '../helpers/daemon-process.js';

const nats = useNatsServer();

function setup(sink: TestSink, options: { body?: string; settings?: Record<string, unknown> } = {}) {
  const folder = makeDestinationsDir();
  writeDestinationFolder(folder.dir, 'testsink', {
    definition: testDefinition(),
    body: options.body,
    syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'LIFECYCLE_TOKEN' } } } },
  });
  const { subject, ...stream } = nats.streams('life', 4_000);
  const config = writeConfig(folder.dir, {
    nats: { servers: [nats.url] },
    destinationsDir: '.',
    stream,
    admin: { enabled: false },
    drainTimeoutMs: 1_000,
    requestTimeoutMs: 5_000,
    logLevel: 'info',
    ...options.settings,
  });
  return { dir: folder.dir, config, subject, streamName: stream.name, remove: folder.remove };
}

const ENV = { LIFECYCLE_TOKEN: 'lifecycle-secret' };

async function publishMany(subject: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - start) }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(start + i)))));
  }
}

describe('daemon lifecycle', () => {
  it('loses nothing when killed with SIGKILL in the middle of 5,000 events and started again', async () => {
    const sink = await startTestSink();
    const s = setup(sink);
    try {
      const first = spawnDaemon(s.config, ENV);
      await first.waitForLog('daemon ready');
      await publishMany(s.subject, 5_000);
      await sink.waitForRequests(1_000, 30_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const delivered = distinctInsertIds(sink).size;
      assert.ok(delivered < 5_000, `the kill came mid-stream (${delivered} delivered)`);
      const second = spawnDaemon(s.config, ENV);
      await waitForDistinctInsertIds(sink, 5_000);
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
      assert.equal(distinctInsertIds(sink).size, 5_000, 'every event reached the sink at least once');
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('on SIGHUP rejects a broken template and keeps delivering with the old one, then takes a fixed one', async () => {
    const sink = await startTestSink();
    const body = (version: string) => `{ "v": ${version}, "insert_id": {{ input.insert_id | json }} }\n`;
    const s = setup(sink, { body: body('1') });
    try {
      const daemon = spawnDaemon(s.config, ENV);
      await daemon.waitForLog('daemon ready');
      await nats.js.publish(s.subject, JSON.stringify(testEvent(1)));
      await sink.waitForRequests(1);

      writeFileSync(join(s.dir, 'testsink', 'body.njk'), '{ "v": {{ 2 }, "insert_id": {{ input.insert_id | json }} }\n');
      daemon.child.kill('SIGHUP');
      const rejected = await daemon.waitForLog(/reload rejected/);
      assert.match(JSON.stringify(rejected.problems), /body\.njk:1:\d+/, 'the error names the template and place');
      await nats.js.publish(s.subject, JSON.stringify(testEvent(2)));
      await sink.waitForRequests(2);
      assert.equal(JSON.parse(sink.requests[1].body).v, 1, 'the last good version still delivers');

      writeFileSync(join(s.dir, 'testsink', 'body.njk'), body('2'));
      daemon.child.kill('SIGHUP');
      await daemon.waitForLog('reloaded destinations');
      await nats.js.publish(s.subject, JSON.stringify(testEvent(3)));
      await sink.waitForRequests(3);
      assert.deepEqual(JSON.parse(sink.requests[2].body), { v: 2, insert_id: 'insert-3' });

      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.exited).code, 0);
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('on SIGTERM drains within the bound, releases what is unfinished, and exits 0; nothing is lost', async () => {
    const sink = await startTestSink(() => 'hang');
    const s = setup(sink);
    try {
      const daemon = spawnDaemon(s.config, ENV);
      await daemon.waitForLog('daemon ready');
      await nats.js.publish(s.subject, JSON.stringify(testEvent(42)));
      await sink.waitForRequests(1);
      const signalledAt = Date.now();
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - signalledAt < 4_000, 'stopped within the drain bound');
      assert.ok(daemon.logs.some((line) => line.msg === 'stopped'));

      sink.behave(() => answer.ok());
      const restartedAt = Date.now();
      const again = spawnDaemon(s.config, ENV);
      await waitForDistinctInsertIds(sink, 1);
      await sink.waitForRequests(2);
      assert.equal(JSON.parse(sink.requests[1].body).insert_id, 'insert-42', 'the released event was delivered by the next daemon');
      console.log('redelivered after', Date.now() - restartedAt, 'ms');
      again.child.kill('SIGTERM');
      await again.exited;
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('on SIGTERM with a sync parked at its destination cap, releases the message in hand too; nothing is lost', async () => {
    const sink = await startTestSink(() => 'hang');
    const s = setup(sink, { settings: { maxInFlightPerDestination: 1 } });
    try {
      const daemon = spawnDaemon(s.config, ENV);
      await daemon.waitForLog('daemon ready');
      await publishMany(s.subject, 3);
      await sink.waitForRequests(1);
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      assert.equal(exit.code, 0);
      assert.equal(sink.requests.length, 1, 'the cap held until the end');

      sink.behave(() => answer.ok());
      const again = spawnDaemon(s.config, ENV);
      await waitForDistinctInsertIds(sink, 3);
      again.child.kill('SIGTERM');
      await again.exited;
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('after SIGTERM hands back what it had taken but not sent, so a restart gets the rest at once, not after ack_wait', async () => {
    // One request at a time to a destination that hangs: the client holds up to 100 more messages.
    const sink = await startTestSink(() => 'hang');
    const { subject, ...stream } = nats.streams('handback', 30_000);
    const s = setup(sink, { settings: { maxInFlightPerSync: 1, stream } });
    try {
      const daemon = spawnDaemon(s.config, ENV);
      await daemon.waitForLog('daemon ready');
      await publishMany(subject, 50);
      await sink.waitForRequests(1);
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.exited).code, 0);

      sink.behave(() => answer.ok());
      const restartedAt = Date.now();
      const again = spawnDaemon(s.config, ENV);
      await waitForDistinctInsertIds(sink, 50, 5_000);
      assert.ok(Date.now() - restartedAt < 5_000, 'the rest arrived within 5 s although ack_wait is 30 s');
      again.child.kill('SIGTERM');
      await again.exited;
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('refuses to start when its admin port is taken, before it takes any message', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const sink = await startTestSink();
    const s = setup(sink, { settings: { admin: { enabled: true, host: '127.0.0.1', port } } });
    try {
      const daemon = spawnDaemon(s.config, ENV);
      const exit = await daemon.exited;
      assert.equal(exit.code, 1);
      assert.match(daemon.stderr.join(''), new RegExp(`cannot listen on the admin port 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
      assert.ok(!daemon.logs.some((line) => line.msg === 'sync consuming'), 'no consumer ran');
      const jsm = await jetstreamManager(nats.connection);
      await assert.rejects(jsm.streams.info(s.streamName), 'it stopped before NATS: no stream, no consumer was even made');
    } finally {
      taken.close();
      await sink.close();
      s.remove();
    }
  });

  it('exits at once on a second signal', async () => {
    const sink = await startTestSink(() => 'hang');
    const s = setup(sink, { settings: { drainTimeoutMs: 60_000 } });
    try {
      const daemon = spawnDaemon(s.config, ENV);
      await daemon.waitForLog('daemon ready');
      await nats.js.publish(s.subject, JSON.stringify(testEvent(1)));
      await sink.waitForRequests(1);
      daemon.child.kill('SIGTERM');
      await daemon.waitForLog('stopping: draining in-flight deliveries');
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      assert.equal(exit.code, 130);
    } finally {
      await sink.close();
      s.remove();
    }
  });

  it('refuses to start on a bad destinations folder, naming the file and place', async () => {
    const sink = await startTestSink();
    const s = setup(sink);
    try {
      writeFileSync(join(s.dir, 'testsink', 'body.njk'), '{ "v": {% if %} }');
      const daemon = spawnDaemon(s.config, ENV);
      const exit = await daemon.exited;
      assert.equal(exit.code, 1);
      assert.match(daemon.stderr.join(''), /body\.njk:1:\d+: /);
    } finally {
      await sink.close();
      s.remove();
    }
  });
});
