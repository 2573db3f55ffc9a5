// The dead-letter stream's reservation fits the server's JetStream store: measured (or read from the
// account's limits) at start and kept to an eighth of it, so the events stream is never stranded;
// a store too small, or a reservation the server refuses, stops the start with one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { settingsFrom } from '../../daemon/config/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { STORAGE_PROBE_STREAM, StorageBudgetError } from '../../daemon/nats/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, distinctInsertIds, startTestSink } from '../helpers/http-sink.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const MiB = 1_048_576;
process.env.BUDGET_NATS_PASSWORD = 'budget-password';

/** A nats-server configuration file with this jetstream block (the test helper points its store_dir at the test's folder). */
function serverConfig(jetstream: string, rest = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'destinations-budget-conf-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'nats-server.conf');
  writeFileSync(file, `jetstream {\n  store_dir: "set-by-the-test"\n  ${jetstream}\n}\n${rest}\n`);
  return file;
}

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function server(config: string, env?: NodeJS.ProcessEnv): Promise<NatsServerHandle> {
  const handle = await startNatsServer({ config, env });
  cleanups.push(() => handle.stop());
  return handle;
}

function folder(endpoint = 'http://127.0.0.1:9/', definition?: Record<string, unknown>): string {
  process.env.BUDGET_TOKEN = 'budget-secret';
  const made = makeDestinationsDir();
  cleanups.push(() => made.remove());
  writeDestinationFolder(made.dir, 'hook', { definition, syncs: { main: { parameters: { endpoint, token: { env: 'BUDGET_TOKEN' } } } } });
  return made.dir;
}

async function daemonOn(url: string, overrides: Record<string, unknown> = {}, endpoint?: string, definition?: Record<string, unknown>): Promise<TestDaemon> {
  const daemon = await startTestDaemon(testSettings(url, folder(endpoint, definition), overrides));
  cleanups.push(() => daemon.stop());
  return daemon;
}

/** A bounded wait on a condition, polled after each event-loop turn's I/O (the NATS server may be the thing that is down). */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

async function deadLetterMaxBytes(url: string, overrides: Record<string, unknown> = {}): Promise<number> {
  const connection = await connect({ servers: url, ...overrides });
  try {
    return (await (await jetstreamManager(connection)).streams.info('DEAD')).config.max_bytes;
  } finally {
    await connection.close();
  }
}

describe('daemon storage budget', () => {
  it('agrees with the shipped server configurations: each has room for the default dead-letter stream eight times over, and the quick start keeps it whole', async () => {
    const defaults = settingsFrom({}, undefined, '/').stream.deadLetterMaxBytes;
    const units: Record<string, number> = { MB: MiB, GB: 1024 * MiB, TB: 1024 * 1024 * MiB };
    for (const file of ['nats.conf', 'deploy/nats/nats-server.conf', 'deploy/nats-cluster/nats-1.conf', 'deploy/nats-cluster/nats-2.conf', 'deploy/nats-cluster/nats-3.conf']) {
      const [, amount, unit] = /^\s*max_file_store:\s*(\d+)(MB|GB|TB)\s*$/m.exec(readFileSync(join(PACKAGE_ROOT, file), 'utf8')) ?? [];
      assert.ok(amount, `${file} sets max_file_store`);
      assert.ok(Number(amount) * units[unit] >= 8 * defaults, `${file}: max_file_store ${amount}${unit} holds 8 × stream.deadLetterMaxBytes`);
    }
    const nats = await server(join(PACKAGE_ROOT, 'nats.conf'));
    const daemon = await daemonOn(nats.url);
    assert.equal(await deadLetterMaxBytes(nats.url), defaults);
    assert.ok(!daemon.logs.some((line) => /reserves an eighth/.test(String(line.msg))), 'nothing to shrink');
  });

  it('keeps the dead-letter stream to an eighth of a small store, leaves no probe behind, and says which number to change', async () => {
    const nats = await server(serverConfig('max_file_store: 64MB'));
    const daemon = await daemonOn(nats.url);
    assert.equal(await deadLetterMaxBytes(nats.url), 8 * MiB);
    const line = daemon.logs.find((entry) => entry.msg === 'the dead-letter stream reserves an eighth of the JetStream store the server allows, less than stream.deadLetterMaxBytes');
    assert.ok(line, 'the shrink is logged');
    assert.equal(line.source, 'measured');
    assert.match(String(line.change), /raise max_file_store .* to 8 GiB to reserve 1 GiB, or set stream\.deadLetterMaxBytes to 8388608/);
    const connection = await connect({ servers: nats.url });
    try {
      await assert.rejects((await jetstreamManager(connection)).streams.info(STORAGE_PROBE_STREAM), /stream not found/);
    } finally {
      await connection.close();
    }
    assert.equal(daemon.daemon.view().ready, true);
  });

  it("reads the account's JetStream limits when the server sets them", async () => {
    const nats = await server(
      serverConfig('max_file_store: 1GB', 'accounts { APP: { jetstream: { max_file: 80MB, max_mem: 16MB }, users: [{ user: app, password: $BUDGET_PASSWORD }] } }'),
      { BUDGET_PASSWORD: 'budget-password' },
    );
    const auth = { user: 'app', pass: 'budget-password' };
    const daemon = await daemonOn(nats.url, { nats: { servers: [nats.url], user: 'app', password: { env: 'BUDGET_NATS_PASSWORD' } } });
    assert.equal(await deadLetterMaxBytes(nats.url, auth), 10 * MiB);
    assert.equal(daemon.logs.find((entry) => /reserves an eighth/.test(String(entry.msg)))?.source, 'account limits');
  });

  it('starts with the configured size when the server refuses the probe for another reason (more replicas than a single server has)', async () => {
    const nats = await server(serverConfig('max_file_store: 1GB'));
    const connection = await connect({ servers: nats.url });
    try {
      // A dead-letter stream made earlier with one replica; the config now asks for three, which a single server refuses to make.
      await (await jetstreamManager(connection)).streams.add({ name: 'DEAD', subjects: ['dead.>'], max_bytes: 64 * MiB });
    } finally {
      await connection.close();
    }
    const daemon = await daemonOn(nats.url, { stream: { deadLetterReplicas: 3, deadLetterMaxBytes: 64 * MiB } });
    assert.equal(await deadLetterMaxBytes(nats.url), 64 * MiB);
    assert.match(String(daemon.logs.find((line) => /cannot measure the JetStream store/.test(String(line.msg)))?.why), /replicas/);
  });

  it('refuses to start with one line naming max_file_store when the store is too small for both streams', async () => {
    const nats = await server(serverConfig('max_file_store: 4MB'));
    const error = await startTestDaemon(testSettings(nats.url, folder())).then(
      () => assert.fail('the daemon started'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof StorageBudgetError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /lets this daemon reserve 4 MiB of JetStream file store .*raise max_file_store in the server's jetstream block to 8 MiB or more/);
  });

  it('without the permission to measure, keeps the configured size and turns a refusal into one line naming stream.deadLetterMaxBytes', async () => {
    const nats = await server(
      serverConfig(
        'max_file_store: 64MB',
        `authorization { users: [{ user: daemon, password: $BUDGET_PASSWORD, permissions: { publish: { allow: [">"], deny: ["$JS.API.STREAM.CREATE.${STORAGE_PROBE_STREAM}"] } } }] }`,
      ),
      { BUDGET_PASSWORD: 'budget-password' },
    );
    const logs: Array<Record<string, unknown>> = [];
    const error = await startTestDaemon(testSettings(nats.url, folder(), { nats: { servers: [nats.url], user: 'daemon', password: { env: 'BUDGET_NATS_PASSWORD' } } }), (line) => logs.push(line)).then(
      () => assert.fail('the daemon started'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof StorageBudgetError, String(error));
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /NATS refused to reserve 1 GiB for the dead-letter stream DEAD .*set stream\.deadLetterMaxBytes to at most an eighth of the server's jetstream max_file_store, or raise max_file_store/);
    assert.ok(logs.some((line) => /cannot measure the JetStream store/.test(String(line.msg))));
    assert.ok(!logs.some((line) => line.msg === 'NATS server error'), 'the refused probe is not a server error');
  });
});

/** Mounts a tmpfs of `megabytes` (root only); undefined where mounting is not allowed. */
function mountTmpfs(megabytes: number): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'destinations-tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
  cleanups.push(() => {
    if (mounted) spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  return mounted ? dir : undefined;
}

/** SIGTERM, and SIGKILL when the server has not gone within `graceMs` (a server out of disk ignores SIGTERM). */
async function stopServer(nats: NatsServerHandle, graceMs: number): Promise<'SIGTERM' | 'SIGKILL'> {
  const exited = new Promise<void>((resolve) => (nats.process.exitCode !== null || nats.process.signalCode !== null ? resolve() : nats.process.once('exit', () => resolve())));
  nats.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stoppedBy = await Promise.race([exited.then(() => 'SIGTERM' as const), new Promise<'SIGKILL'>((resolve) => (timer = setTimeout(() => resolve('SIGKILL'), graceMs)))]);
  clearTimeout(timer);
  if (stoppedBy === 'SIGKILL') await nats.stop('SIGKILL');
  await exited;
  return stoppedBy;
}

describe('daemon on a 64 MB store that fills', () => {
  it('starts, says why it is not ready while the store is full, and once space is freed and the server restarted delivers or dead-letters every acknowledged event', async (t) => {
    const store = mountTmpfs(64);
    if (store === undefined) return t.skip('mounting a 64 MB tmpfs needs root (mount -t tmpfs); the disk-full scenario runs where that is allowed');
    // The setup: a server told it has 1 GB, on a 64 MB filesystem.
    const config = serverConfig('max_file_store: 1GB\n  max_memory_store: 64MB');
    let nats = await startNatsServer({ config, storeDir: store });
    // Every tenth event is refused by the destination: it must end as a dead letter. The destination
    // holds its answers until the store is full, so the daemon has work in hand then (as a daemon
    // behind its publishers has).
    const refused = (id: string) => Number(id.slice('full-'.length)) % 10 === 0;
    const reply = (request: { body: string }) => (refused(JSON.parse(request.body).insert_id as string) ? answer.status(400) : answer.ok()) as { status: number };
    let holding = true;
    const sink = await startTestSink((request) => (holding ? 'hold' : reply(request)));
    cleanups.push(() => sink.close());
    // A dead letter the full store refused comes back for another try in half a second (not the default minute).
    const daemon = await daemonOn(nats.url, {}, sink.url, testDefinition({ retry: { initialDelayMs: 500, multiplier: 1, jitter: 0 } }));
    // Cleanups run last first: the server goes before the daemon stops (a server stuck on a full disk would hold the stop).
    cleanups.push(() => nats.stop('SIGKILL'));
    assert.equal(await deadLetterMaxBytes(nats.url), 128 * MiB, 'an eighth of the 1 GiB the server says it has');

    // Fill the filesystem but for ~2 MB, then publish until the server stops acknowledging.
    const free = () => {
      const stats = statfsSync(store);
      return stats.bavail * stats.bsize;
    };
    writeFileSync(join(store, 'filler'), Buffer.alloc(Math.max(0, free() - 2 * MiB)));
    const publisher = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    cleanups.push(() => publisher.close());
    const js = jetstream(publisher);
    const acknowledged: string[] = [];
    const padding = 'p'.repeat(400);
    let full = false;
    for (let i = 0; !full; i++) {
      const id = `full-${i}`;
      try {
        await js.publish('events.full', JSON.stringify(testEvent(i, { insert_id: id, event_properties: { padding } })), { timeout: 2_000 });
        acknowledged.push(id);
      } catch {
        full = true;
      }
      assert.ok(i < 20_000, 'the store never filled');
    }
    assert.ok(acknowledged.length > 500, `${acknowledged.length} events acknowledged before the store filled`);
    holding = false;
    sink.release(reply);
    // The daemon says why it is not ready (it cannot settle or write dead letters on a server out of disk).
    const notReadyAfterMs = await waitFor(() => daemon.daemon.view().ready === false, 15_000, 'not ready while the store is full');
    const reason = String(daemon.daemon.view().notReady);
    assert.match(reason, /dead letters cannot be written|JetStream does not answer/);

    // Space is freed; the server, stuck on its full disk, is restarted.
    rmSync(join(store, 'filler'));
    const stoppedBy = await stopServer(nats, 2_000);
    nats = await startNatsServer({ config, storeDir: store, port: nats.port });
    await waitFor(() => acknowledged.every((id) => distinctInsertIds(sink).has(id)), 60_000, 'every acknowledged event sent to the destination');
    const rejected = acknowledged.filter(refused).length;
    const connection = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(connection);
      await waitFor(async () => (await jsm.streams.info('DEAD')).state.messages >= rejected, 30_000, `${rejected} dead letters`);
      assert.ok((await jsm.streams.info('EVENTS')).state.messages >= acknowledged.length, 'the events stream was restored, not stranded');
    } finally {
      await connection.close();
    }
    await waitFor(() => daemon.daemon.view().ready, 30_000, 'ready again');
    t.diagnostic(`${acknowledged.length} acknowledged (${rejected} refused by the destination); not ready ${notReadyAfterMs} ms after the destination answered: ${reason}; old server stopped by ${stoppedBy}`);
  });
});
