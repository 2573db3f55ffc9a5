// deploy/systemd/destinations.service: systemd-analyze verify accepts it, and the daemon does what
// the unit promises — readiness through systemd-notify only once consuming (a stand-in
// systemd-notify on the PATH reports what it was asked to send), a reload on the unit's own
// ExecReload command, and a drain then exit 0 on SIGTERM within TimeoutStopSec.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { settingsFrom } from '../../daemon/config/index.js';
import { DAEMON_NODE_FLAGS, DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS } from '../../daemon/defaults.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { spawnDaemon, writeConfig } from '../helpers/daemon-process.js';

const UNIT_FILE = join(PACKAGE_ROOT, 'deploy', 'systemd', 'destinations.service');

/** The unit's [Service] settings; a key given several times keeps every value. */
function serviceSettings(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(UNIT_FILE, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== '[Service]') continue;
    const at = line.indexOf('=');
    const name = line.slice(0, at);
    settings.set(name, [...(settings.get(name) ?? []), line.slice(at + 1)]);
  }
  return settings;
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** A stand-in for systemd-notify: reports its arguments and NOTIFY_SOCKET to a TCP listener, exits 0. */
async function fakeSystemdNotify(): Promise<{ bin: string; env: NodeJS.ProcessEnv; next(match: RegExp): Promise<string[]>; close(): Promise<void> }> {
  const bin = mkdtempSync(join(tmpdir(), 'fake-systemd-notify-'));
  const received: Array<{ argv: string[]; socket: string }> = [];
  const waiters: Array<{ match: RegExp; resolve: (argv: string[]) => void }> = [];
  const server = createTcpServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => {
      const message = JSON.parse(text) as { argv: string[]; socket: string };
      received.push(message);
      for (const waiter of [...waiters]) {
        if (message.argv.some((arg) => waiter.match.test(arg))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(message.argv);
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const script = join(bin, 'systemd-notify');
  writeFileSync(
    script,
    `#!${process.execPath}\nconst s = require('node:net').connect(${port}, '127.0.0.1', () => s.end(JSON.stringify({ argv: process.argv.slice(2), socket: process.env.NOTIFY_SOCKET })));\n`,
  );
  chmodSync(script, 0o755);
  return {
    bin,
    env: { PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/systemd/notify-test' },
    next(match) {
      const found = received.find((message) => message.argv.some((arg) => match.test(arg)));
      if (found) return Promise.resolve(found.argv);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(bin, { recursive: true, force: true });
    },
  };
}

/** A destination that holds every request until the test answers it. */
async function startHeldSink(): Promise<{ url: string; nextRequest(): Promise<ServerResponse>; close(): Promise<void> }> {
  const held: ServerResponse[] = [];
  const waiters: Array<(response: ServerResponse) => void> = [];
  const server = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const waiter = waiters.shift();
      if (waiter) waiter(response);
      else held.push(response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    nextRequest: () => {
      const response = held.shift();
      return response ? Promise.resolve(response) : new Promise((resolve) => waiters.push(resolve));
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('systemd unit', () => {
  it('is accepted by systemd-analyze verify', { skip: hasCommand('systemd-analyze') ? false : 'systemd-analyze is not installed (.ci/run installs it)' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unit-verify-'));
    try {
      // The node binary is the unit's one machine-specific path; verify checks that it exists.
      let unit = readFileSync(UNIT_FILE, 'utf8');
      if (!existsSync('/usr/bin/node')) unit = unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
      const copy = join(dir, 'destinations.service');
      writeFileSync(copy, unit);
      const result = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile('systemd-analyze', ['verify', copy], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` })),
      );
      const aboutUnit = result.output.split('\n').filter((line) => line.includes('destinations.service'));
      assert.deepEqual(aboutUnit, [], 'no warning about the unit (systemd-analyze exits 0 even when it ignores a bad line)');
      assert.equal(result.code, 0, result.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('declares notify readiness, reload by SIGHUP, restart on failure, credentials, hardening, and a stop timeout past the drain bound', () => {
    const unit = serviceSettings();
    const one = (name: string) => unit.get(name)?.at(-1);
    assert.equal(one('Type'), 'notify');
    assert.equal(one('NotifyAccess'), 'all', 'systemd-notify is a child process of the daemon');
    assert.match(one('ExecStart') ?? '', /dist\/tools\/cli\.js daemon --config \S+/);
    // The daemon's V8 flags, wherever it is started: the unit and `npm start`.
    const startScript = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    for (const flag of DAEMON_NODE_FLAGS) {
      assert.ok((one('ExecStart') ?? '').split(/\s+/).includes(flag), `ExecStart runs node with ${flag}`);
      assert.ok(startScript.split(/\s+/).includes(flag), `npm start runs node with ${flag}`);
    }
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('KillSignal'), 'SIGTERM');
    const stopSeconds = Number(/^(\d+)s?$/.exec(one('TimeoutStopSec') ?? '')?.[1]);
    assert.ok(stopSeconds * 1_000 > settingsFrom({}, undefined, PACKAGE_ROOT).drainTimeoutMs + DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS, `TimeoutStopSec=${stopSeconds} covers the drain bound and the trace flush`);
    assert.ok(unit.get('LoadCredential')?.length, 'secrets through systemd credentials');
    for (const [name, value] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', PrivateTmp: 'yes', DynamicUser: 'yes', ProtectHome: 'yes' })) {
      assert.equal(one(name), value, name);
    }
    assert.match(one('RestrictAddressFamilies') ?? '', /AF_UNIX/, 'systemd-notify needs a unix socket');
  });

  describe('the daemon under the unit', () => {
    let nats: NatsServerHandle;
    let connection: NatsConnection;
    let js: JetStreamClient;

    before(async () => {
      nats = await startNatsServer();
      connection = await connect({ servers: nats.url });
      js = jetstream(connection);
    });

    after(async () => {
      await connection.drain();
      await nats.stop();
    });

    it('reports READY=1 only once consuming, reloads on ExecReload, and on SIGTERM finishes the request in flight and exits 0', async () => {
      const notify = await fakeSystemdNotify();
      const sink = await startHeldSink();
      const folder = makeDestinationsDir();
      const adminPort = await freePort();
      writeDestinationFolder(folder.dir, 'first', { definition: testDefinition(), syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'UNIT_TOKEN' } } } } });
      const stream = { name: 'UNIT_1', subjects: ['unit1.>'], deadLetterStream: 'UNITDEAD_1', deadLetterSubjectPrefix: 'unitdead1', ackWaitMs: 10_000 };
      const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, destinationsDir: '.', stream, admin: { enabled: true, host: '127.0.0.1', port: adminPort }, drainTimeoutMs: 5_000, logLevel: 'info' });
      const daemon = spawnDaemon(config, { ...notify.env, UNIT_TOKEN: 'unit-secret' });
      try {
        const ready = await notify.next(/^READY=1$/);
        assert.ok(ready.some((arg) => /^STATUS=consuming 1 syncs$/.test(arg)), ready.join(' '));
        assert.ok(daemon.logs.some((line) => line.msg === 'daemon ready'), 'READY=1 came after the consumers were bound');
        const readyz = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
        assert.equal(readyz.status, 200);

        // Reload exactly as systemd would: the unit's ExecReload with $MAINPID filled in.
        writeDestinationFolder(folder.dir, 'second', { definition: testDefinition(), syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'UNIT_TOKEN' } } } } });
        const [command, ...args] = serviceSettings().get('ExecReload')![0].split(/\s+/).map((part) => part.replace('$MAINPID', String(daemon.child.pid)));
        assert.equal(spawnSync(command, args).status, 0);
        const reloaded = await daemon.waitForLog('reloaded destinations');
        assert.deepEqual(reloaded.started, ['second.main']);

        // A request in flight when systemd sends SIGTERM is finished, acked, and then the process exits 0.
        await js.publish('unit1.test', JSON.stringify(testEvent(1)));
        const responses = [await sink.nextRequest(), await sink.nextRequest()];
        daemon.child.kill('SIGTERM');
        await daemon.waitForLog('stopping: draining in-flight deliveries');
        await notify.next(/^STOPPING=1$/);
        for (const response of responses) response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        assert.deepEqual(await daemon.exited, { code: 0, signal: null });
        const jsm = await jetstreamManager(connection);
        for (const consumer of ['first__main', 'second__main']) {
          const info = await jsm.consumers.info(stream.name, consumer);
          assert.equal(info.num_ack_pending, 0, `${consumer}: the in-flight delivery was acked before exit`);
          assert.equal(info.num_pending, 0);
        }
        assert.ok(daemon.logs.some((line) => line.msg === 'stopped'));
      } finally {
        if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
        await sink.close();
        await notify.close();
        folder.remove();
      }
    });
  });
});
