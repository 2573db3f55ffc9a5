// The shipped Grafana dashboard and Prometheus alert rules: promtool checks the rules and runs
// their unit tests (one for every rule); every metric they name is one a real daemon serves at
// /metrics, and every family it serves is on a panel or in a rule, or listed below with the reason
// it is not; the stat panels show a value on a fresh daemon, not "No data".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { renderMetrics } from '../../daemon/telemetry/index.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const PROMETHEUS_DIR = join(PACKAGE_ROOT, 'deploy', 'prometheus');
const DASHBOARD = join(PACKAGE_ROOT, 'deploy', 'grafana', 'destinations.json');
const nats = useNatsServer();

/** Families /metrics serves that no panel or rule uses, on purpose. */
const NOT_SHOWN: Record<string, string> = {
  destinations_events_filtered_by_reason_total: 'a breakdown of destinations_events_filtered_total (reason "unchanged"), which the throughput panel shows; leaving an event out on purpose needs no alert',
  destinations_limiter_paused_until_timestamp_seconds: 'when a Retry-After pause ends: the limiter panel shows the pause (destinations_limiter_paused); the end time is for `destinations status`',
  destinations_shared_decodes_total: 'a cost diagnostic (events decoded once for several syncs) that asks nothing of an operator; read it ad hoc',
};

/** What each stat panel shows on a fresh daemon (no event, no reload yet), by title. */
const FRESH_STATS: Record<string, number | 'gitops only'> = {
  'NATS connected': 1,
  'Last reload': -1,
  'Events behind (all syncs)': 0,
  'Dead-lettered (1h)': 0,
  'Config commit (gitops)': 'gitops only',
};

interface Dashboard {
  __inputs?: Array<{ name: string }>;
  panels: Array<{ title: string; type: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string }> };
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`promtool is needed (Debian's prometheus package; .ci/run installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The metric names a PromQL text uses (ours start destinations_; the process ones process_ or nodejs_). */
function metricNames(text: string): string[] {
  return [...new Set(text.match(/\b(?:destinations|process|nodejs)_[a-z0-9_]+/g) ?? [])];
}

/** A histogram's series are its family name plus _bucket, _sum or _count. */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

function familiesIn(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

/** One gauge's samples in an exposition, by its label text. */
function samplesOf(exposition: string, name: string): Map<string, number> {
  return new Map([...exposition.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((match) => [match[1] ?? '', Number(match[2])]));
}

const alertRules = () => [...readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8').matchAll(/^\s+- alert: (\S+)$/gm)].map((match) => match[1]!);
const dashboard = () => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

describe('monitoring (deploy/grafana, deploy/prometheus)', () => {
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };
  let subject: string;
  /** /metrics of the daemon before any event or reload. */
  let fresh: string;
  const scrape = async () => (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();

  before(async () => {
    process.env.MONITORING_TEST_TOKEN = 'monitoring-secret';
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition({ limits: { rate: { requests: 10, periodSeconds: 1 } } }),
      // Port 9 refuses connections: an event published stays unacknowledged, waiting for its retry.
      syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'MONITORING_TEST_TOKEN' } } } },
    });
    const { subject: streamSubject, ...stream } = nats.streams('monitoring');
    subject = streamSubject;
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    admin = await startAdminServer(daemon.daemon);
    fresh = await scrape();
  });

  after(async () => {
    await daemon.stop();
    await admin.close();
    folder.remove();
  });

  it('has alert rules promtool accepts', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    assert.equal(status, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  });

  it('has a promtool unit test in which each alert rule fires', () => {
    const tests = readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8');
    const untested = alertRules().filter((rule) => !new RegExp(`alertname: ${rule}\\s+exp_alerts:\\s+- exp_labels`).test(tests));
    assert.deepEqual(untested, []);
  });

  it('has alert rules that fire as their unit tests say', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(status, 0, output);
  });

  it('uses only metrics a running daemon serves at /metrics', () => {
    // A daemon following a config branch (gitops) serves its families too: rendered from this
    // daemon's view with a branch added, by the same code.
    const gitops = { repository: 'https://git.example/config.git', branch: 'main', path: '.', intervalMs: 60_000, refusedCount: 0, applied: { commit: 'abc', at: new Date().toISOString() } };
    const families = familiesIn(`${fresh}\n${renderMetrics({ ...daemon.daemon.view(), gitops }, new Map(), Date.now())}`);
    const used = {
      'deploy/grafana/destinations.json': metricNames(JSON.stringify(dashboard())),
      'deploy/prometheus/alerts.yml': metricNames(readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')),
    };
    for (const [file, names] of Object.entries(used)) {
      assert.ok(names.length > 5, `${file} uses metrics`);
      const unknown = names.filter((name) => !familyOf(name, families));
      assert.deepEqual(unknown, [], `${file} names metrics /metrics does not serve`);
    }
  });

  it('uses every metric family a running daemon serves on a panel or in a rule, or says why not', () => {
    const families = familiesIn(fresh);
    const usedNames = metricNames(`${JSON.stringify(dashboard())}\n${readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')}`);
    const used = new Set(usedNames.map((name) => familyOf(name, families)).filter((family) => family !== undefined));
    const unused = [...families.keys()].filter((family) => !used.has(family) && !(family in NOT_SHOWN));
    assert.deepEqual(unused, [], 'families on /metrics that no panel or rule uses: add them to one, or to NOT_SHOWN with the reason');
    const stale = Object.keys(NOT_SHOWN).filter((family) => !families.has(family) || used.has(family));
    assert.deepEqual(stale, [], 'NOT_SHOWN lists families that are used, or no longer served');
  });

  it('asks for no input and no data source that nothing uses', () => {
    const board = dashboard();
    const text = JSON.stringify(board);
    for (const input of board.__inputs ?? []) assert.ok(text.includes(`\${${input.name}}`), `input ${input.name} is used`);
    const datasources = new Set([...text.matchAll(/"uid":"\$\{(\w+)\}"/g)].map((match) => match[1]));
    assert.deepEqual([...datasources], ['datasource'], 'every query goes to the datasource variable');
    assert.ok(board.templating.list.some((variable) => variable.name === 'datasource'));
  });

  it('shows a value, not "No data", on every stat panel of a fresh daemon', () => {
    const stats = dashboard().panels.filter((panel) => panel.type === 'stat');
    assert.deepEqual(stats.map((panel) => panel.title).sort(), Object.keys(FRESH_STATS).sort(), 'FRESH_STATS names every stat panel');
    // promtool evaluates each panel's query over 15 minutes of what the fresh daemon serves.
    const inputSeries = [...fresh.matchAll(/^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/gm)].map(([, name, labels, value]) => ({
      series: `${name}{${labels ? `${labels},` : ''}instance="d1"}`,
      values: `${value}x15`,
    }));
    const exprTests = stats.flatMap((panel) => {
      const expected = FRESH_STATS[panel.title];
      if (typeof expected !== 'number') return [];
      const expr = panel.targets[0]!.expr.replaceAll('$sync', '.*').replaceAll('$__rate_interval', '5m');
      return [{ expr, eval_time: '15m', exp_samples: [{ labels: '{}', value: expected }] }];
    });
    const dir = mkdtempSync(join(tmpdir(), 'destinations-stats-'));
    try {
      const file = join(dir, 'stats.test.yml');
      // YAML is a superset of JSON.
      writeFileSync(file, JSON.stringify({ rule_files: [], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: inputSeries, promql_expr_test: exprTests }] }));
      const { status, output } = promtool('test', 'rules', file);
      assert.equal(status, 0, output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("serves the stream's limits and the age of each sync's oldest unacknowledged event", async () => {
    assert.deepEqual([...samplesOf(fresh, 'destinations_consumer_oldest_unacked_age_seconds').values()], [0], 'nothing unacknowledged: 0, not absent');
    assert.deepEqual([...samplesOf(fresh, 'destinations_stream_max_age_seconds').values()], [7 * 24 * 3600]);
    assert.deepEqual([...samplesOf(fresh, 'destinations_stream_max_bytes').values()], [0], 'no size limit');
    const publishedAt = Date.now();
    await nats.js.publish(subject, JSON.stringify(testEvent(1)));
    let metrics = '';
    await waitUntil(nats.connection, async () => {
      metrics = await scrape();
      return [...samplesOf(metrics, 'destinations_consumer_oldest_unacked_age_seconds').values()][0]! > 0;
    }, 10_000, 'the event unacknowledged (its destination refuses connections)');
    const age = [...samplesOf(metrics, 'destinations_consumer_oldest_unacked_age_seconds').values()][0]!;
    assert.ok(age <= (Date.now() - publishedAt) / 1_000 + 1, `${age} s is the event's age`);
    assert.deepEqual([...samplesOf(metrics, 'destinations_stream_messages').values()], [1]);
    assert.ok([...samplesOf(metrics, 'destinations_stream_bytes').values()][0]! > 0);
  });
});
