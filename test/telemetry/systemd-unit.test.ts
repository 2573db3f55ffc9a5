// deploy/systemd/destinations.service and its template destinations@.service: systemd-analyze
// verify accepts both, the unit starts as copied (no credential it would need a file for), the
// template is the unit with the instance's admin port, and the daemon does what the unit promises —
// readiness through systemd-notify only once consuming (a stand-in systemd-notify on the PATH
// reports what it was asked to send), a reload on the unit's own ExecReload command, a drain then
// exit 0 on SIGTERM within TimeoutStopSec, and two instances of the template sharing a sync.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
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
import { startTestSink, waitForDistinctInsertIds } from '../helpers/http-sink.js';
import { CHECKOUT_COMMAND, spawnDaemonCommand, writeConfig } from '../helpers/daemon-process.js';
import { fakeSystemdNotify } from '../helpers/systemd-notify.js';

const UNIT_FILE = join(PACKAGE_ROOT, 'deploy', 'systemd', 'destinations.service');
const TEMPLATE_FILE = join(PACKAGE_ROOT, 'deploy', 'systemd', 'destinations@.service');
/** The configuration path the units name. */
const UNIT_CONFIG = '/etc/destinations/destinationsrc.json';

/** A unit's settings by section ("[Service]" by default); a key given several times keeps every value. */
function serviceSettings(file = UNIT_FILE, wanted = '[Service]'): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== wanted) continue;
    const at = line.indexOf('=');
    const name = line.slice(0, at);
    settings.set(name, [...(settings.get(name) ?? []), line.slice(at + 1)]);
  }
  return settings;
}

/** A unit's ExecStart as this test runs it: the installed command is this checkout's, the
 *  configuration and the instance name are the test's. */
function execStart(file: string, config: string, instance?: string): string[] {
  const [command, ...args] = serviceSettings(file).get('ExecStart')![0].split(/\s+/);
  assert.equal(command, 'destinations', 'ExecStart runs the installed command by name');
  return [...CHECKOUT_COMMAND, ...args.map((arg) => (arg === UNIT_CONFIG ? config : arg.replace('%i', instance ?? '%i')))];
}

/** The unit's Environment= assignments, as the service's environment. */
function unitEnvironment(file: string): NodeJS.ProcessEnv {
  return Object.fromEntries((serviceSettings(file).get('Environment') ?? []).map((assignment) => assignment.split(/=(.*)/s).slice(0, 2)));
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
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
  for (const [file, instance] of [[UNIT_FILE, undefined], [TEMPLATE_FILE, '9465']] as const) {
    const name = instance ? `destinations@${instance}.service` : 'destinations.service';
    it(`${name} is accepted by systemd-analyze verify`, { skip: hasCommand('systemd-analyze') ? false : 'systemd-analyze is not installed (.ci/run installs it)' }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'unit-verify-'));
      try {
        // The installed command is the unit's one machine-specific part; verify checks that it exists.
        const unit = readFileSync(file, 'utf8').replace(/^ExecStart=destinations /m, `ExecStart=${CHECKOUT_COMMAND.join(' ')} `);
        const copy = join(dir, name);
        writeFileSync(copy, unit);
        const result = await new Promise<{ code: number; output: string }>((resolve) =>
          execFile('systemd-analyze', ['verify', copy], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` })),
        );
        const aboutUnit = result.output.split('\n').filter((line) => line.includes(name));
        assert.deepEqual(aboutUnit, [], 'no warning about the unit (systemd-analyze exits 0 even when it ignores a bad line)');
        assert.equal(result.code, 0, result.output);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('starts as copied: it needs no credential file, and shows credentials as commented examples', () => {
    assert.equal(serviceSettings().get('LoadCredential'), undefined, 'a LoadCredential= line stops the unit when its file is missing');
    assert.match(readFileSync(UNIT_FILE, 'utf8'), /^#LoadCredential=\w+:\/etc\/destinations\/credentials\/\w+$/m);
    for (const line of serviceSettings().get('EnvironmentFile') ?? []) assert.ok(line.startsWith('-'), `${line}: optional`);
  });

  it('has a template that is the unit with the admin port from the instance name', () => {
    for (const section of ['[Unit]', '[Service]', '[Install]']) {
      const unit = serviceSettings(UNIT_FILE, section);
      const template = serviceSettings(TEMPLATE_FILE, section);
      assert.deepEqual([...template.keys()], [...unit.keys()], section);
      for (const [key, values] of unit) {
        if (key === 'ExecStart') assert.deepEqual(template.get(key), values.map((value) => `${value} --admin-port %i`));
        else if (key === 'Description') assert.deepEqual(template.get(key), values.map((value) => `${value} (admin port %i)`));
        else assert.deepEqual(template.get(key), values, `${section} ${key}`);
      }
    }
  });

  it('declares notify readiness, reload by SIGHUP, restart on failure, hardening, and a stop timeout past the drain bound', () => {
    const unit = serviceSettings();
    const one = (name: string) => unit.get(name)?.at(-1);
    assert.equal(one('Type'), 'notify');
    assert.equal(one('NotifyAccess'), 'all', 'systemd-notify is a child process of the daemon');
    assert.equal(one('ExecStart'), `destinations daemon --config ${UNIT_CONFIG}`);
    // The daemon's V8 flags, wherever it is started: the unit (through NODE_OPTIONS, as the command is
    // the installed script) and `npm start`.
    const startScript = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    for (const flag of DAEMON_NODE_FLAGS) {
      assert.ok((unitEnvironment(UNIT_FILE).NODE_OPTIONS ?? '').split(/\s+/).includes(flag), `the unit runs node with ${flag}`);
      assert.ok(startScript.split(/\s+/).includes(flag), `npm start runs node with ${flag}`);
    }
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('KillSignal'), 'SIGTERM');
    const stopSeconds = Number(/^(\d+)s?$/.exec(one('TimeoutStopSec') ?? '')?.[1]);
    assert.ok(stopSeconds * 1_000 > settingsFrom({}, undefined, PACKAGE_ROOT).drainTimeoutMs + DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS, `TimeoutStopSec=${stopSeconds} covers the drain bound and the trace flush`);
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
      // The unit's own command line and environment, with this checkout as the installed command.
      const daemon = spawnDaemonCommand(execStart(UNIT_FILE, config), { ...unitEnvironment(UNIT_FILE), ...notify.env, UNIT_TOKEN: 'unit-secret' });
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
    it('runs two instances of the template on one configuration, each on the admin port of its name, sharing the sync', async () => {
      const sink = await startTestSink();
      const folder = makeDestinationsDir();
      const ports = [await freePort(), await freePort()];
      writeDestinationFolder(folder.dir, 'shared', { definition: testDefinition(), syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'UNIT_TOKEN' } } } } });
      const stream = { name: 'UNIT_2', subjects: ['unit2.>'], deadLetterStream: 'UNITDEAD_2', deadLetterSubjectPrefix: 'unitdead2', ackWaitMs: 10_000 };
      // One configuration for both; its own admin.port is what --admin-port %i replaces.
      const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, destinationsDir: '.', stream, admin: { enabled: true, host: '127.0.0.1', port: 9 }, drainTimeoutMs: 2_000 });
      const daemons = ports.map((port) => spawnDaemonCommand(execStart(TEMPLATE_FILE, config, String(port)), { ...unitEnvironment(TEMPLATE_FILE), UNIT_TOKEN: 'unit-secret' }));
      try {
        for (const daemon of daemons) await daemon.waitForLog('daemon ready');
        for (const port of ports) assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, `an instance answers on ${port}`);
        const events = 20;
        await Promise.all(Array.from({ length: events }, (_, index) => js.publish('unit2.test', JSON.stringify(testEvent(index)))));
        await waitForDistinctInsertIds(sink, events);
        for (const daemon of daemons) daemon.child.kill('SIGTERM');
        for (const daemon of daemons) assert.deepEqual(await daemon.exited, { code: 0, signal: null });
        assert.equal(sink.requests.length, events, 'each event delivered once: both instances consume one durable consumer');
      } finally {
        for (const daemon of daemons) if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
        await sink.close();
        folder.remove();
      }
    });
  });
});
