// The README's quick start, as a newcomer runs it: a nats-server of its own, the daemon with the
// shipped destinations and the local sink, then the publish command it prints. It never writes into
// a server it did not start unless told to (--nats), its ports are flags or environment, and Ctrl-C
// leaves nothing behind that it made.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const QUICKSTART = join(PACKAGE_ROOT, 'dist/tools/quickstart.js');

interface QuickStart {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `pattern` has appeared in the stream; rejects if the quick start exits first. */
  seen(pattern: RegExp, stream: 'stdout' | 'stderr'): Promise<void>;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after a grace: for a failed assertion. */
  kill(): Promise<void>;
}

function startQuickStart(args: string[], env: NodeJS.ProcessEnv = {}): QuickStart {
  const child = spawn(process.execPath, [QUICKSTART, ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (text.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    seen: (pattern, stream) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(text[stream])) {
            child[stream]!.off('data', check);
            resolve();
          }
        };
        child[stream]!.on('data', check);
        check();
        void exited.then((code) => reject(new Error(`quick start exited (${code}) before ${pattern}:\n${text.stdout.slice(-3000)}\n${text.stderr}`)));
      }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const grace = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(grace);
    },
  };
}

async function streamNames(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names.sort();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('quick start', () => {
  // A server the quick start must leave alone: the shipped config's address is moved onto it.
  let decoy: NatsServerHandle;
  let decoyConnection: NatsConnection;
  let scratch: string;

  before(async () => {
    decoy = await startNatsServer();
    decoyConnection = await connect({ servers: decoy.url });
    scratch = mkdtempSync(join(tmpdir(), 'destinations-quickstart-test-'));
  });

  after(async () => {
    await decoyConnection.drain();
    await decoy.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('starts a nats-server of its own, the daemon and the sink on the ports it is given, shows a published event arriving, and Ctrl-C removes all it made', async () => {
    // The shipped configuration pointed at the decoy, with the embedded default on: the quick start
    // must use neither.
    const shipped = JSON.parse(readFileSync(join(PACKAGE_ROOT, '.destinationsrc.json'), 'utf8'));
    const config = join(scratch, 'config.json');
    writeFileSync(config, JSON.stringify({ ...shipped, $schema: undefined, nats: { ...shipped.nats, servers: [decoy.url] }, destinationsDir: join(PACKAGE_ROOT, 'destinations') }));
    // Its temporary folder goes under a TMPDIR of this test's, which must be empty again afterwards.
    const temporary = mkdtempSync(join(scratch, 'tmp-'));
    const quickStart = startQuickStart(['--sink-port', '0', '--config', config], { DESTINATIONS_ADMIN_PORT: '0', TMPDIR: temporary });
    try {
      await quickStart.seen(/publish an event from another terminal/, 'stderr');
      const banner = quickStart.stderr();
      const natsUrl = /NATS at (nats:\/\/127\.0\.0\.1:(\d+)) \(its own/.exec(banner)?.[1];
      assert.ok(natsUrl && natsUrl !== decoy.url, banner);
      const sinkPort = Number(/sink on http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
      assert.ok(sinkPort > 0 && sinkPort !== 3000, '--sink-port 0: a free port, not the default');
      const adminPort = Number(/admin on http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
      assert.ok(adminPort > 0 && adminPort !== 9464, 'DESTINATIONS_ADMIN_PORT=0: a free port, not the config\'s');
      const server = JSON.parse(quickStart.stdout().split('\n').find((line) => line.includes('started embedded nats-server'))!) as { pid: number };
      assert.equal(readdirSync(temporary).length, 1, 'its store is in a temporary folder');

      // The command it prints, as printed.
      const command = /node (dist\/tools\/cli\.js publish --server \S+ \S+)/.exec(banner)![1].split(' ');
      const published = spawnSync(process.execPath, command, { cwd: PACKAGE_ROOT, encoding: 'utf8' });
      assert.equal(published.status, 0, published.stderr);
      // Every shipped sync sends to the sink it started, through ${vars.quickstart_sink}.
      await quickStart.seen(/sink: request #\d+ POST \/webhook/, 'stdout');
      await quickStart.seen(/sink: request #\d+ POST \/example/, 'stdout');
      await quickStart.seen(/sink: request #\d+ POST \/braze\/users\/track/, 'stdout');
      // The sfmc sync's token request goes to the sink too, which answers it with a demo token.
      await quickStart.seen(/sink: request #\d+ POST \/sfmc\/interaction\/v1\/events\n(?:  .*\n)*  authorization: Bearer demo-token-\d+\n/, 'stdout');
      assert.match(quickStart.stdout(), /sink: request #\d+ POST \/sfmc-auth\/v2\/token/);
      assert.match(quickStart.stdout(), /"external_id": "user-1234"/);
      const daemonLines = quickStart.stdout().split('\n').filter((line) => line.startsWith('{'));
      assert.ok(!daemonLines.some((line) => line.includes('demo-webhook-secret')), 'the daemon never logs a secret (the sink shows what it received)');

      quickStart.child.kill('SIGINT');
      assert.equal(await quickStart.exited, 0, quickStart.stderr());
      assert.equal(processAlive(server.pid), false, 'its nats-server stopped with it');
      assert.deepEqual(readdirSync(temporary), [], 'its store folder is gone');
      await assert.rejects(connect({ servers: natsUrl, reconnect: false }), 'nothing answers at its NATS address');
      assert.deepEqual(await streamNames(await jetstreamManager(decoyConnection)), [], 'the server in the config was never written to');
    } finally {
      await quickStart.kill();
    }
  });

  it('with --nats uses that server, and on Ctrl-C removes the streams and consumers it made there, nothing else', async () => {
    const shared = await startNatsServer();
    const connection = await connect({ servers: shared.url });
    const temporary = mkdtempSync(join(scratch, 'tmp-'));
    // Someone else's: the events stream already exists, with a consumer of theirs.
    const jsm = await jetstreamManager(connection);
    await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
    await jsm.consumers.add('EVENTS', { durable_name: 'theirs', ack_policy: AckPolicy.Explicit });
    const quickStart = startQuickStart(['--nats', shared.url, '--sink-port', '0', '--admin-port', '0'], { TMPDIR: temporary });
    try {
      await quickStart.seen(/publish an event from another terminal/, 'stderr');
      assert.match(quickStart.stderr(), new RegExp(`NATS at ${shared.url.replace(/[.]/g, '\\.')}\\n`));
      assert.doesNotMatch(quickStart.stdout(), /started embedded nats-server/);
      assert.deepEqual(readdirSync(temporary), [], 'no server of its own, so no store');
      const during = await streamNames(jsm);
      assert.ok(during.includes('DEAD'), `it made the dead-letter stream: ${during.join(', ')}`);
      let consumers = 0;
      for await (const info of jsm.consumers.list('EVENTS')) consumers += info.name === 'theirs' ? 0 : 1;
      assert.ok(consumers >= 6, 'a consumer per shipped sync');

      quickStart.child.kill('SIGINT');
      assert.equal(await quickStart.exited, 0, quickStart.stderr());
      assert.deepEqual(await streamNames(jsm), ['EVENTS'], 'the stream it made is gone, the one it found is kept');
      const left: string[] = [];
      for await (const info of jsm.consumers.list('EVENTS')) left.push(info.name);
      assert.deepEqual(left, ['theirs']);
    } finally {
      await quickStart.kill();
      await connection.drain();
      await shared.stop();
    }
  });

  it('prints its options with --help, and refuses a bad port or a taken one in one line', async () => {
    const help = spawnSync(process.execPath, [QUICKSTART, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const option of ['--sink-port', '--admin-port', '--nats-port', '--nats URL', 'DESTINATIONS_SINK_PORT', 'DESTINATIONS_NATS_URL']) assert.ok(help.stdout.includes(option), option);

    const bad = spawnSync(process.execPath, [QUICKSTART, '--nats-port', 'many'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.split('\n')[0], /^quick start: --nats-port \(or DESTINATIONS_NATS_PORT\) must be a port number/);

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const quickStart = startQuickStart(['--sink-port', String(port)]);
      assert.equal(await quickStart.exited, 1);
      assert.equal(quickStart.stderr().trim(), `quick start: cannot start the sink on 127.0.0.1:${port} (EADDRINUSE): give it another port with --sink-port PORT (0: any free port)`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
