// The shipped Grafana dashboard and Prometheus alert rules: promtool checks the rules and runs
// their unit tests, and every metric they name is one a real daemon serves at /metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { useNatsServer } from '../helpers/nats-server.js';

const PROMETHEUS_DIR = join(PACKAGE_ROOT, 'deploy', 'prometheus');
const DASHBOARD = join(PACKAGE_ROOT, 'deploy', 'grafana', 'destinations.json');
const nats = useNatsServer();

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`promtool is needed (Debian's prometheus package; .ci/run installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The metric names a PromQL text uses (ours all start destinations_). */
function metricNames(text: string): string[] {
  return [...new Set(text.match(/\bdestinations_[a-z0-9_]+/g) ?? [])];
}

/** A histogram's series are its family name plus _bucket, _sum or _count. */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

describe('monitoring (deploy/grafana, deploy/prometheus)', () => {
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };

  before(async () => {
    process.env.MONITORING_TEST_TOKEN = 'monitoring-secret';
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition({ limits: { rate: { requests: 10, periodSeconds: 1 } } }),
      syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'MONITORING_TEST_TOKEN' } } } },
    });
    const { subject: _subject, ...stream } = nats.streams('monitoring');
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    admin = await startAdminServer(daemon.daemon);
  });

  after(async () => {
    await daemon.stop();
    await admin.close();
    folder.remove();
  });

  it('has alert rules promtool accepts', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS: 8 rules found/);
  });

  it('has alert rules that fire as their unit tests say', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(status, 0, output);
  });

  it('uses only metrics a running daemon serves at /metrics', async () => {
    const response = await fetch(`http://127.0.0.1:${admin.port}/metrics`);
    const exposition = await response.text();
    const families = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]));
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }>; templating: { list: Array<{ definition?: string }> } };
    const used = {
      'deploy/grafana/destinations.json': metricNames(JSON.stringify(dashboard)),
      'deploy/prometheus/alerts.yml': metricNames(readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')),
    };
    for (const [file, names] of Object.entries(used)) {
      assert.ok(names.length > 5, `${file} uses metrics`);
      const unknown = names.filter((name) => !familyOf(name, families));
      assert.deepEqual(unknown, [], `${file} names metrics /metrics does not serve`);
    }
    // The dashboard covers what an operator asks first.
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join('\n');
    for (const family of ['destinations_events_delivered_total', 'destinations_consumer_pending_messages', 'destinations_delivery_latency_seconds_bucket', 'destinations_limiter_paused', 'destinations_events_discarded_total', 'destinations_reloads_total']) {
      assert.ok(exprs.includes(family), `the dashboard shows ${family}`);
    }
  });
});
