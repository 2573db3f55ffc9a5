// The admin port's health and state pages, and `destinations status`, against a real daemon
// (real nats-server, real HTTP sink, in-process daemon).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { validateAdminReport } from '../../daemon/registry/index.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { formatStatus } from '../../tools/commands/status.js';
import { freePort, useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';

const nats = useNatsServer();

before(() => {
  process.env.HEALTH_TEST_TOKEN = 'health-secret';
});

async function get(admin: AdminServer, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${admin.port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await nats.connection.flush();
  }
}

type Report = AdminReport;

describe('admin health and state', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };
  let subject: string;

  before(async () => {
    sink = await startTestSink();
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition(),
      syncs: {
        main: { parameters: { endpoint: sink.url, token: { env: 'HEALTH_TEST_TOKEN' } } },
        spare: { parameters: { endpoint: sink.url, token: { env: 'HEALTH_TEST_TOKEN' } }, enabled: false },
      },
    });
    const { subject: streamSubject, ...stream } = nats.streams('health');
    subject = streamSubject;
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    admin = await startAdminServer(daemon.daemon);
  });

  after(async () => {
    await daemon.stop();
    await admin.close();
    await sink.close();
    folder.remove();
  });

  it('answers /healthz, and /readyz once connected with every enabled sync consuming', async () => {
    assert.deepEqual(await get(admin, '/healthz'), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await get(admin, '/readyz'), { status: 200, body: { status: 'ready' } });
    const unknown = await get(admin, '/nope');
    assert.equal(unknown.status, 404);
    assert.deepEqual((unknown.body.routes as string[]).slice(0, 4), ['/healthz', '/readyz', '/destinations', '/metrics']);
  });

  it('shows each destination and sync on /destinations: version, enabled, limiter state and counts', async () => {
    await nats.js.publish(subject, JSON.stringify(testEvent(1)));
    const stats = daemon.daemon.syncStats.get('testsink.main')!;
    await waitUntil(() => stats.deliveredFirstAttempt === 1);
    const { status, body } = await get(admin, '/destinations');
    assert.equal(status, 200);
    assert.ok(validateAdminReport(body), 'the report has the shape of schema/admin-report.schema.json');
    const report = body as unknown as Report;
    assert.equal(report.connected, true);
    assert.equal(report.ready, true);
    const [destination] = report.destinations;
    assert.equal(destination.slug, 'testsink');
    assert.equal(destination.version, daemon.daemon.loadedDestinations[0].version);
    const main = destination.syncs.find((sync) => sync.id === 'testsink.main')!;
    const spare = destination.syncs.find((sync) => sync.id === 'testsink.spare')!;
    assert.equal(main.enabled, true);
    assert.equal(main.running, true);
    assert.equal(main.consumer, 'testsink__main');
    assert.equal(main.limiter?.state, 'running');
    assert.deepEqual(main.egressHosts, [new URL(sink.url).host], 'the host its requests go to');
    assert.equal(main.counts?.deliveredFirstAttempt, 1);
    assert.equal(main.counts?.received, 1);
    assert.equal(spare.enabled, false);
    assert.equal(spare.running, false);
    assert.equal(spare.limiter, undefined);
    assert.deepEqual([main.health?.state, spare.health?.state], ['healthy', 'paused']);
  });

  it('shows a sync paused by Retry-After, with the time it resumes, on /destinations and in `destinations status`', async () => {
    sink.behave(() => answer.status(429, { 'retry-after': '120' }));
    const before = Date.now();
    await nats.js.publish(subject, JSON.stringify(testEvent(2)));
    const runner = daemon.daemon.runners.get('testsink.main')!;
    await waitUntil(() => runner.limiterState.pausedUntil > 0 && runner.stats.deferred === 1);
    const report = (await get(admin, '/destinations')).body as unknown as Report;
    const main = report.destinations[0].syncs.find((sync) => sync.id === 'testsink.main')!;
    assert.equal(main.limiter?.state, 'paused');
    const until = Date.parse(main.limiter!.pausedUntil!);
    assert.ok(until >= before + 119_000 && until <= Date.now() + 121_000, `paused until ${main.limiter!.pausedUntil}`);

    const text = await runCli(['status', '--url', `http://127.0.0.1:${admin.port}`]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trimEnd(), formatStatus(report), 'the CLI prints the same report');
    assert.match(text.stdout, /NATS connected/);
    assert.match(text.stdout, new RegExp(`testsink \\(Test sink\\) version ${report.destinations[0].version}`));
    assert.match(text.stdout, new RegExp(`testsink\\.main +running +limiter paused until ${main.limiter!.pausedUntil!.replace(/\./g, '\\.')}`));
    assert.match(text.stdout, /testsink\.spare +disabled/);
    assert.equal(main.health?.state, 'paused');
    assert.match(text.stdout, /testsink\.main .*\n    health paused: the destination asked to wait \(Retry-After\) until /);
    assert.match(text.stdout, /requests failed 1 \(http_429 1\)/, 'the reasons requests failed');
    assert.match(text.stdout, /delivered 1 first try, 0 after retry; filtered 0; discarded 0; expired 0; in flight 0; retrying 1/);

    const json = await runCli(['status', '--json', '--url', `http://127.0.0.1:${admin.port}`]);
    assert.equal(json.code, 0);
    assert.equal((JSON.parse(json.stdout) as Report).destinations[0].slug, 'testsink');
  });

  it('says so when the admin port does not answer', async () => {
    const result = await runCli(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(result.code, 5, 'unreachable has its own exit status');
    assert.match(result.stderr, /cannot reach the daemon's admin port/);
  });

  it('turns /readyz to 503 once the daemon has stopped', async () => {
    await daemon.stop();
    assert.deepEqual(await get(admin, '/readyz'), { status: 503, body: { status: 'not ready', reason: 'stopping' } });
    assert.equal((await get(admin, '/healthz')).status, 200);
  });
});
