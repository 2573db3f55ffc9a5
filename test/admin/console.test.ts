// The console's JSON against a real daemon (real nats-server, real HTTP sink): the catalog, a
// sync's taxonomy, lag and latency, a delivery found by insert_id, a 400 as a dead letter with its
// reason and its request masked, the logos, and the page's Content-Security-Policy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_CSP, startAdminServer, type AdminServer, type ConsoleState } from '../../daemon/admin/index.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { catalogFacts, limitsText } from '../../daemon/registry/index.js';
import { formatStatus } from '../../tools/commands/status.js';
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
    // The sink refuses events whose insert_id starts with "bad", and everything sent to /broken.
    sink = await startTestSink((request) =>
      request.url.startsWith('/broken') ? { status: 400, body: '{"error":"broken, and the key was console-secret-7c1e"}' } : request.body.includes('"insert_id": "bad') ? { status: 400, body: '{"error":"bad event"}' } : answer.ok(),
    );
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition({ category: 'Analytics', summary: 'Posts to the test sink.' }),
      syncs: {
        main: { parameters: { endpoint: sink.url, token: { env: 'CONSOLE_TEST_TOKEN' } } },
        // Takes signups only, and dead-letters every one (the sink refuses them all).
        broken: { parameters: { endpoint: `${sink.url}/broken`, token: { env: 'CONSOLE_TEST_TOKEN' } }, filter: { eventTypes: ['signup'] } },
      },
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
    // The catalog's facts come from the function `destinations catalog` uses: one owner.
    const facts = catalogFacts(daemon.daemon.loadedDestinations[0]);
    assert.deepEqual(destination.facts, JSON.parse(JSON.stringify({ limits: limitsText(facts.limits), auth: facts.auth, hashing: facts.hashing, identify: facts.identify, vendor: facts.vendor })));
    assert.notDeepEqual(destination.facts.auth, [], 'an auth kind is derived');
    assert.deepEqual(
      destination.syncs.map((sync) => [sync.id, sync.enabled, sync.running, sync.health.state]),
      [
        ['testsink.broken', true, true, 'healthy'],
        ['testsink.main', true, true, 'healthy'],
      ],
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
    const sync = state.destinations[0].syncs.find((candidate) => candidate.id === 'testsink.main')!;
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
      state.destinations[0].syncs.find((candidate) => candidate.id === 'testsink.main')!.recentFailures.map((row) => [row.insertId, row.outcome, row.reason]),
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
      // The SVG namespace is a name the DOM needs for document.createElementNS, never fetched.
      assert.doesNotMatch(body.replaceAll("'http://www.w3.org/2000/svg'", ''), /https?:\/\//, `${path} loads nothing from elsewhere`);
      if (path === '/console.js') assert.doesNotMatch(body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, 'the script never parses text as markup');
    }
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*/);
  });

  it('searches recent deliveries by insert_id prefix, user_id, device_id, event type, outcome, status and time, and opens each with its request redacted', async () => {
    const before = new Date().toISOString();
    await nats.js.publish(subject, JSON.stringify(testEvent(10, { insert_id: 'find-10', user_id: 'alice', device_id: 'dev-a', event_type: 'signup' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(11, { insert_id: 'find-11', user_id: 'bob' })));
    const main = daemon.daemon.syncStats.get('testsink.main')!;
    const broken = daemon.daemon.syncStats.get('testsink.broken')!;
    await waitUntil(nats.connection, () => main.deliveredFirstAttempt === 4 && (broken.discarded.get('http_4xx') ?? 0) === 1);
    type Row = { sync: string; serial: number; insertId: string; outcome: string; status: number; userId: string };
    const search = async (query: string) => (await get<{ deliveries: Row[] }>(`/console/deliveries?${query}`)).deliveries.map((row) => `${row.sync} ${row.insertId} ${row.outcome} ${row.status}`);
    assert.deepEqual(await search('insert_id_prefix=find-&sync=testsink.main'), ['testsink.main find-11 delivered 200', 'testsink.main find-10 delivered 200']);
    assert.deepEqual((await search('user_id=alice')).sort(), ['testsink.broken find-10 dead 400', 'testsink.main find-10 delivered 200']);
    assert.deepEqual(await search('device_id=dev-a&outcome=dead'), ['testsink.broken find-10 dead 400']);
    assert.deepEqual(await search('event_type=signup&status=200'), ['testsink.main find-10 delivered 200']);
    assert.deepEqual(await search(`insert_id_prefix=find-&from=${encodeURIComponent(before)}&sync=testsink.main`), ['testsink.main find-11 delivered 200', 'testsink.main find-10 delivered 200']);
    assert.deepEqual(await search(`insert_id_prefix=find-&to=${encodeURIComponent(before)}`), []);
    const refused = await fetch(`http://127.0.0.1:${admin.port}/console/deliveries?outcome=lost`);
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /^outcome: one of delivered, deferred, dead/);

    const [delivered] = (await get<{ deliveries: Row[] }>('/console/deliveries?insert_id=find-11&sync=testsink.main')).deliveries;
    const opened = await fetch(`http://127.0.0.1:${admin.port}/console/deliveries/testsink.main/${delivered.serial}`);
    const text = await opened.text();
    assert.ok(!text.includes(SECRET), 'a delivered request, opened, never shows the secret');
    const detail = JSON.parse(text) as { insertId: string; request: { method: string; url: string; headers: Record<string, string>; body: string }; response: { status: number; excerpt: string } };
    assert.equal(detail.insertId, 'find-11');
    const authorization = Object.entries(detail.request.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
    assert.deepEqual([detail.request.method, detail.request.url, authorization], ['POST', `${sink.url}/track`, '[redacted]']);
    assert.match(detail.request.body, /"insert_id": "find-11"/);
    assert.equal(detail.response.status, 200);
    const [dead] = (await get<{ deliveries: Row[] }>('/console/deliveries?insert_id=find-10&sync=testsink.broken')).deliveries;
    const deadText = await (await fetch(`http://127.0.0.1:${admin.port}/console/deliveries/testsink.broken/${dead.serial}`)).text();
    assert.ok(!deadText.includes(SECRET), 'nor does a response that echoes it');
    assert.equal((JSON.parse(deadText) as { response: { excerpt: string } }).response.excerpt, '{"error":"broken, and the key was [redacted]"}');
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/console/deliveries/testsink.main/999999`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/console/deliveries/%E0%A4%A/1`)).status, 404, 'a malformed path is refused');
  });

  it('decides health by one rule: a sync that dead-letters every event is failing on /destinations, in the console and in `status`', async () => {
    const report = await get<AdminReport>('/destinations');
    const syncs = report.destinations[0].syncs;
    const broken = syncs.find((sync) => sync.id === 'testsink.broken')!;
    const main = syncs.find((sync) => sync.id === 'testsink.main')!;
    assert.equal(broken.health?.state, 'failing');
    assert.match(broken.health!.why, /0 delivered, 1 requests failed, 1 dead-lettered; last reason http_4xx/);
    assert.equal(main.health?.state, 'degraded', main.health?.why);
    const state = await get<ConsoleState>('/console/state');
    assert.deepEqual(
      state.destinations[0].syncs.map((sync) => [sync.id, sync.health.state]),
      [
        ['testsink.broken', 'failing'],
        ['testsink.main', 'degraded'],
      ],
    );
    const history = state.destinations[0].syncs.find((sync) => sync.id === 'testsink.main')!.history;
    assert.equal(history.length, 61, 'the last hour and the current minute');
    assert.equal(history.reduce((sum, minute) => sum + minute.delivered, 0), 4);
    assert.equal(history.reduce((sum, minute) => sum + minute.deadLettered, 0), 1);
    assert.match(state.daemonTimeZone, /./);
    const text = formatStatus(report);
    assert.match(text, /testsink\.broken +running .*\n    health failing: in the last 5 min: 0 delivered/);
    assert.match(text, /requests failed 1 \(http_4xx 1\)/);
    assert.match(text, /discarded 1 \(http_4xx 1\)/);
  });

  it('keeps an invalid event\'s insert_id, filters dead letters by sync and reason, and pages through all of them', async () => {
    // No user_id or device_id: invalid, dead-lettered by both syncs before their filters.
    await nats.js.publish(subject, JSON.stringify({ event_type: 'signup', insert_id: 'invalid-1', time: 1 }));
    await waitUntil(nats.connection, async () => (await get<{ total: number }>('/console/dead-letters')).total === 4);
    const { deliveries } = await get<{ deliveries: Array<{ sync: string; reason: string }> }>('/console/deliveries?insert_id=invalid-1');
    assert.deepEqual(deliveries.map((row) => `${row.sync} ${row.reason}`).sort(), ['testsink.broken invalid_event', 'testsink.main invalid_event']);

    type Page = { letters: Array<{ seq: number; sync: string; reason: string; insertId?: string }>; next?: number; total: number };
    const letters = async (query: string) => (await get<Page>(`/console/dead-letters?${query}`)).letters.map((letter) => `${letter.sync} ${letter.reason} ${letter.insertId}`);
    assert.deepEqual(await letters('sync=testsink.broken'), ['testsink.broken invalid_event invalid-1', 'testsink.broken http_4xx find-10']);
    assert.deepEqual((await letters('reason=invalid_event')).sort(), ['testsink.broken invalid_event invalid-1', 'testsink.main invalid_event invalid-1']);
    assert.deepEqual(await letters('sync=testsink.main&reason=http_4xx'), ['testsink.main http_4xx bad-3']);

    // One letter a page, newest first, to the start of the stream; and the same with a filter.
    const walk = async (query: string) => {
      const seen: number[] = [];
      let before: number | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await get<Page>(`/console/dead-letters?limit=1${query}${before ? `&before=${before}` : ''}`);
        seen.push(...page.letters.map((letter) => letter.seq));
        if (page.next === undefined) return seen;
        before = page.next;
      }
      throw new Error('paging did not end');
    };
    const all = await walk('');
    assert.equal(all.length, 4);
    assert.deepEqual(all, [...all].sort((a, b) => b - a));
    assert.equal((await walk('&sync=testsink.broken')).length, 2);
  });
});
