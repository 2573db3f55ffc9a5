// Health is true while NATS is down: a real nats-server is stopped under a running daemon and
// started again on the same port and store. Readiness, /destinations, the metric and the log say
// so within 2 s, and come back once the consumers run again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { formatStatus } from '../../tools/commands/status.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

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
