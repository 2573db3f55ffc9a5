// The embedded default: no NATS answers, so the daemon starts nats-server from its config file
// and stops it on exit.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../helpers/nats-server.js';
import { startTestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { spawnDaemon, writeConfig, type DaemonProcess } from '../helpers/daemon-process.js';

describe('embedded nats-server', () => {
  it('starts nats-server from the config file when none answers, delivers, and stops it on exit', async () => {
    const port = await freePort();
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    let daemon: DaemonProcess | undefined;
    try {
      writeDestinationFolder(folder.dir, 'testsink', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'EMBEDDED_TOKEN' } } } } });
      writeFileSync(join(folder.dir, 'nats.conf'), `listen: 127.0.0.1:${port}\njetstream { store_dir: "store" }\n`);
      const config = writeConfig(folder.dir, {
        nats: { servers: [`nats://127.0.0.1:${port}`], embedded: { enabled: true, config: 'nats.conf' } },
        destinationsDir: '.',
        admin: { enabled: false },
      });
      daemon = spawnDaemon(config, { EMBEDDED_TOKEN: 'embedded-secret' });
      await daemon.waitForLog('started embedded nats-server');
      await daemon.waitForLog('daemon ready');
      const connection = await connect({ servers: `nats://127.0.0.1:${port}` });
      await jetstream(connection).publish('events.test', JSON.stringify(testEvent(1)));
      await connection.drain();
      const [request] = await sink.waitForRequests(1);
      assert.equal(JSON.parse(request.body).insert_id, 'insert-1');
      daemon.child.kill('SIGTERM');
      assert.equal((await daemon.exited).code, 0);
      await assert.rejects(connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false }), 'the embedded server stopped with the daemon');
    } finally {
      // Even after a failed assertion the daemon stops gracefully, taking its nats-server along.
      if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
        daemon.child.kill('SIGTERM');
        await daemon.exited;
      }
      await sink.close();
      folder.remove();
    }
  });

  it('says what to install or configure when nothing answers and embedding is off', async () => {
    const port = await freePort();
    const folder = makeDestinationsDir();
    try {
      const config = writeConfig(folder.dir, { nats: { servers: [`nats://127.0.0.1:${port}`] }, destinationsDir: '.', admin: { enabled: false } });
      const daemon = spawnDaemon(config);
      const exit = await daemon.exited;
      assert.equal(exit.code, 5, 'the exit status of an unreachable server (tools/exit-codes.ts)');
      assert.match(daemon.stderr.join(''), /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ .*nats\.embedded\.enabled/);
    } finally {
      folder.remove();
    }
  });
});
