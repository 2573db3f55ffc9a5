// The console's JSON against a real daemon (real nats-server, real HTTP sink): the catalog, a
// sync's taxonomy, lag and latency, a delivery found by insert_id, a 400 as a dead letter with its
// reason and its request masked, the logos, and the page's Content-Security-Policy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_CSP, startAdminServer, type AdminServer, type ConsoleState } from '../../daemon/admin/index.js';
import { TINY_PNG, makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const SECRET = 'console-secret-7c1e';

describe('admin console', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };
  let subject: string;

  async function get<T = Record<string, unknown>>(path: string): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${admin.port}${path}`);
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  }

  before(async () => {
    process.env.CONSOLE_TEST_TOKEN = SECRET;
    // The sink refuses events whose insert_id starts with "bad".
    sink = await startTestSink((request) => (request.body.includes('"insert_id": "bad') ? { status: 400, body: '{"error":"bad event"}' } : answer.ok()));
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition({ category: 'Analytics', summary: 'Posts to the test sink.' }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'CONSOLE_TEST_TOKEN' } } } },
    });
    const { subject: streamSubject, ...stream } = nats.streams('console');
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

  it('shows the catalog: logo, name, category, summary, version and syncs', async () => {
    const state = await get<ConsoleState>('/console/state');
    const [destination] = state.destinations;
    assert.deepEqual(
      { slug: destination.slug, name: destination.name, category: destination.category, summary: destination.summary, logo: destination.logo },
      { slug: 'testsink', name: 'Test sink', category: 'Analytics', summary: 'Posts to the test sink.', logo: '/logos/testsink.png' },
    );
    assert.equal(destination.version, daemon.daemon.loadedDestinations[0].version);
    assert.deepEqual(
      destination.syncs.map((sync) => [sync.id, sync.enabled, sync.running]),
      [['testsink.main', true, true]],
    );
    const logo = await fetch(`http://127.0.0.1:${admin.port}${destination.logo}`);
    assert.equal(logo.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await logo.arrayBuffer()), TINY_PNG);
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/logos/..%2F..%2Fetc%2Fpasswd.png`)).status, 404);
  });

  it('finds a delivered event by insert_id, with its status, attempts and state path', async () => {
    await nats.js.publish(subject, JSON.stringify(testEvent(1, { insert_id: 'good-1' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(2, { insert_id: 'good-2' })));
    const stats = daemon.daemon.syncStats.get('testsink.main')!;
    await waitUntil(nats.connection, () => stats.deliveredFirstAttempt === 2);
    const { deliveries } = await get<{ deliveries: Array<Record<string, unknown>> }>('/console/deliveries?insert_id=good-2');
    assert.equal(deliveries.length, 1);
    const [delivery] = deliveries;
    assert.deepEqual(
      { sync: delivery.sync, insertId: delivery.insertId, outcome: delivery.outcome, status: delivery.status, attempts: delivery.attempts, statePath: delivery.statePath },
      { sync: 'testsink.main', insertId: 'good-2', outcome: 'delivered', status: 200, attempts: 1, statePath: ['rendering', 'sending', 'delivered'] },
    );
    assert.equal(typeof delivery.durationMs, 'number');
    const state = await get<ConsoleState>('/console/state');
    const sync = state.destinations[0].syncs[0];
    assert.equal((sync.counts as { deliveredFirstAttempt: number }).deliveredFirstAttempt, 2);
    assert.equal(sync.latencySeconds!.count, 2);
    assert.ok(sync.latencySeconds!.p50! > 0);
    assert.deepEqual(sync.lag, { pending: 0, ackPending: 0 });
    assert.equal(sync.inFlight.maxPerSync, daemon.settings.maxInFlightPerSync);
  });

  it('shows a 400 as a dead letter with its reason, and opens it with the request masked', async () => {
    await nats.js.publish(subject, JSON.stringify(testEvent(3, { insert_id: 'bad-3' })));
    const stats = daemon.daemon.syncStats.get('testsink.main')!;
    await waitUntil(nats.connection, () => (stats.discarded.get('http_4xx') ?? 0) === 1);
    await waitUntil(nats.connection, async () => (await get<{ total: number }>('/console/dead-letters')).total === 1);
    const page = await get<{ letters: Array<Record<string, unknown>>; total: number }>('/console/dead-letters');
    assert.equal(page.letters.length, 1);
    const [summary] = page.letters;
    assert.deepEqual(
      { sync: summary.sync, reason: summary.reason, lastStatus: summary.lastStatus, insertId: summary.insertId, eventType: summary.eventType },
      { sync: 'testsink.main', reason: 'http_4xx', lastStatus: 400, insertId: 'bad-3', eventType: 'purchase' },
    );
    const response = await fetch(`http://127.0.0.1:${admin.port}/console/dead-letters/${String(summary.seq)}`);
    const text = await response.text();
    assert.ok(!text.includes(SECRET), 'the opened letter never shows the secret');
    const opened = JSON.parse(text) as { letter: { request: { headers: Record<string, string> }; responseExcerpt: string; event: { insert_id: string } } };
    const authorization = Object.entries(opened.letter.request.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
    assert.equal(authorization, '[redacted]');
    assert.equal(opened.letter.responseExcerpt, '{"error":"bad event"}');
    assert.equal(opened.letter.event.insert_id, 'bad-3');
    const state = await get<ConsoleState>('/console/state');
    assert.deepEqual(
      state.destinations[0].syncs[0].recentFailures.map((row) => [row.insertId, row.outcome, row.reason]),
      [['bad-3', 'dead', 'http_4xx']],
    );
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/console/dead-letters/999999`)).status, 404);
  });

  it('serves the page and its script under a strict Content-Security-Policy, with no external asset', async () => {
    for (const path of ['/', '/console.js', '/console.css']) {
      const response = await fetch(`http://127.0.0.1:${admin.port}${path}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-security-policy'), CONSOLE_CSP);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      const body = await response.text();
      assert.doesNotMatch(body, /https?:\/\//, `${path} loads nothing from elsewhere`);
      if (path === '/console.js') assert.doesNotMatch(body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, 'the script never parses text as markup');
    }
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*/);
  });
});
