// The release a team installs: `npm pack` of this checkout, installed with `npm install -g` into a
// temporary prefix, and the installed `destinations` run from outside the checkout (its own
// node_modules, schemas, console and catalog), as a team would run it; then a new team's whole path
// with that installed command. One pack and one install for the file: they are most of its time.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.js';
import { testEvent, TINY_PNG } from '../helpers/destination-folder.js';
import { writeFiles, type FolderFiles } from '../helpers/folders.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { workflowRunSteps } from '../helpers/workflow-steps.js';

const PACKAGE = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr: `${stderr}${error && typeof error.code !== 'number' ? `\n${error.message}` : ''}` });
    });
  });
}

const GIT_IDENTITY = { GIT_AUTHOR_NAME: 'Team', GIT_AUTHOR_EMAIL: 'team@example.com', GIT_COMMITTER_NAME: 'Team', GIT_COMMITTER_EMAIL: 'team@example.com' };
const SIGNING_SECRET = `whsec_${Buffer.from('a release test signing key, 32 b').toString('base64')}`;

async function adminReport(port: number): Promise<AdminReport> {
  const response = await fetch(`http://127.0.0.1:${port}/destinations`);
  assert.equal(response.status, 200);
  return (await response.json()) as AdminReport;
}

/** The folder a team writes for its new destination: definition, template, logo, README, a sync
 *  sending to `endpoint` with its key by reference, and an example of the request. */
function acmeCrmFolder(endpoint: string): FolderFiles {
  const event = { event_type: 'purchase', user_id: 'user-1234', time: 1641490144000, insert_id: 'example-1' };
  return {
    'destination.json': {
      $schema: '../../schema/destination.schema.json',
      name: 'Acme CRM',
      category: 'CRM',
      summary: 'Purchases to Acme CRM.',
      description: "Each event to Acme CRM's events endpoint, with the API key as a bearer token and the insert_id as the Idempotency-Key.",
      parameters: [
        { name: 'endpoint', displayName: 'Endpoint', description: "Acme CRM's API root." },
        { name: 'api_key', displayName: 'API key', description: 'An Acme CRM key that may write events.', secret: true },
      ],
      request: { method: 'POST', url: '{{ parameters.endpoint }}/events', headers: { Authorization: 'Bearer {{ parameters.api_key }}' }, body: 'body.njk', idempotencyHeader: 'Idempotency-Key' },
    },
    'body.njk': '{ "type": {{ input.event_type | json }}, "user": {{ (input.user_id or input.device_id) | json }} }\n',
    'logo.png': TINY_PNG,
    'README.md': "# Acme CRM\n\nEach event, as Acme CRM's events endpoint takes it.\n",
    'syncs/main.json': { $schema: '../../../schema/sync.schema.json', parameters: { endpoint, api_key: { env: 'ACME_CRM_API_KEY' } } },
    'examples/purchase.json': {
      $schema: '../../../schema/example.schema.json',
      description: 'A purchase: its type and user, and its insert_id as the Idempotency-Key.',
      event,
      expect: { method: 'POST', url: `${endpoint}/events`, headers: { authorization: 'Bearer <secret:api_key>', 'idempotency-key': 'example-1' }, body: { type: 'purchase', user: 'user-1234' } },
    },
  };
}

describe('installed package', () => {
  let work: string;
  let packed: Array<{ path: string }>;
  let bin: string;
  let installedRoot: string;
  const timings: Record<string, number> = {};

  before(
    async () => {
      work = mkdtempSync(join(tmpdir(), 'destinations-release-'));
      // dist/ is already built (npm test builds first); prepack builds it again for a real release.
      let started = performance.now();
      const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: PACKAGE_ROOT, timeoutMs: 120_000 });
      assert.equal(pack.code, 0, pack.stderr);
      const [tarball] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      packed = tarball.files;
      timings.pack = performance.now() - started;
      // The dependencies come from npm's cache when it has them (npm ci filled it), else the registry.
      started = performance.now();
      const prefix = join(work, 'prefix');
      const install = await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier', join(work, tarball.filename)], { cwd: work, timeoutMs: 180_000 });
      assert.equal(install.code, 0, install.stderr);
      timings.install = performance.now() - started;
      bin = join(prefix, 'bin', 'destinations');
      installedRoot = join(prefix, 'lib', 'node_modules', PACKAGE.name);
    },
    { timeout: 320_000 },
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the code, schemas, console, catalog, nats.conf, deploy files and docs, without tests, bench, sources or source maps', () => {
    const paths = packed.map((file) => file.path);
    for (const needed of [
      'dist/tools/cli.js',
      'dist/daemon/daemon.js',
      'schema/sync.schema.json',
      'schema/variables.schema.json',
      'daemon/admin/console/index.html',
      'destinations/variables.json',
      'destinations/webhook/destination.json',
      'nats.conf',
      'deploy/systemd/destinations.service',
      'deploy/systemd/destinations@.service',
      'docs/operations.md',
      'docs/events/purchase.json',
      'CHANGELOG.md',
      'README.md',
      'package.json',
    ]) {
      assert.ok(paths.includes(needed), `the tarball holds ${needed}`);
    }
    const unwanted = paths.filter((path) => /^dist\/(test|bench)\//.test(path) || path.endsWith('.map') || path.endsWith('.ts') || path.startsWith('test/') || path.startsWith('bench/'));
    assert.deepEqual(unwanted, []);
    assert.match(PACKAGE.scripts.prepack ?? '', /npm run build/, 'npm pack builds dist/ first');
    process.stderr.write(`# npm pack ${(timings.pack / 1_000).toFixed(1)} s, npm install -g ${(timings.install / 1_000).toFixed(1)} s, ${paths.length} files\n`);
  });

  it('puts destinations on the PATH, and --version prints the version of package.json', async () => {
    assert.notEqual(realpathSync(bin).indexOf(installedRoot), -1, 'the command is the installed package, not the checkout');
    const version = await run(bin, ['--version'], { cwd: work, timeoutMs: 30_000 });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `${PACKAGE.version}\n`);
    assert.match(PACKAGE.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'semver');
    const changelog = readFileSync(join(installedRoot, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, new RegExp(`^## \\[${PACKAGE.version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'), 'the CHANGELOG has an entry for this version');
  });

  it('validates the shipped catalog it carries', async () => {
    const validate = await run(bin, ['validate', join(installedRoot, 'destinations')], { cwd: work, timeoutMs: 120_000 });
    assert.equal(validate.code, 0, validate.stderr);
    const shipped = readdirSync(join(PACKAGE_ROOT, 'destinations'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).length;
    assert.match(validate.stdout, new RegExp(`^${shipped} destinations valid$`, 'm'));
  });

  // The issue's closing test: a new team's path, with the installed command for every step. init
  // makes a repository outside the checkout and it is pushed to a bare remote; a pull-request branch
  // adds a destination folder and passes the generated workflow's validate and plan steps; a daemon
  // whose config follows the remote's main branch starts on it; the merge is pushed, and the same
  // daemon process applies it and delivers a published event to the new destination.
  describe("a new team's path", () => {
    let nats: NatsServerHandle;
    let ownEndpoint: TestSink;
    let crm: TestSink;
    let team: string;
    let remote: string;
    let daemon: DaemonProcess;
    let adminPort: number;
    let merged: string;
    let hostConfig: string;
    const git = (...args: string[]) => execFileSync('git', args, { cwd: team, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } }).trim();
    const publish = async (event: Record<string, unknown>) => {
      const file = join(work, `${event.insert_id as string}.json`);
      writeFileSync(file, JSON.stringify(event));
      const published = await run(bin, ['publish', '--server', nats.url, file], { cwd: work, timeoutMs: 30_000 });
      assert.equal(published.code, 0, published.stderr);
      assert.match(published.stdout, /^published 1 event to events\.cli: 1 stored/);
    };

    before(async () => {
      [nats, ownEndpoint, crm, adminPort] = await Promise.all([startNatsServer(), startTestSink(), startTestSink(), freePort()]);
      team = join(work, 'team-destinations');
      remote = join(work, 'team-destinations.git');
    });

    after(async () => {
      if (daemon?.child.exitCode === null) daemon.child.kill('SIGKILL');
      await Promise.all([ownEndpoint?.close(), crm?.close()]);
      await nats?.stop();
    });

    it('init makes a config repository outside the checkout, pushed to the remote the daemons follow', async () => {
      const init = await run(bin, ['init', 'team-destinations'], { cwd: work, timeoutMs: 30_000 });
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, new RegExp(`wrote a config repository for destinations ${PACKAGE.version.replace(/\./g, '\\.')} in team-destinations`));
      assert.equal(JSON.parse(readFileSync(join(team, 'package.json'), 'utf8')).devDependencies.destinations, PACKAGE.version, 'its CI installs the version that wrote it');
      execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
      git('init', '-q', '-b', 'main');
      git('add', '.');
      git('commit', '-qm', 'destinations config');
      git('remote', 'add', 'origin', remote);
      git('push', '-q', '-u', 'origin', 'main');
    });

    it("a pull request adding a destination folder passes the generated workflow's validate step, and its plan names the new host and secret", async () => {
      git('checkout', '-qb', 'add-acme-crm');
      writeFiles(join(team, 'destinations', 'acme-crm'), acmeCrmFolder(crm.url));
      git('add', '.');
      git('commit', '-qm', 'Send purchases to Acme CRM');
      // The workflow's first step, `npm install`, installs the pinned version from the registry into
      // node_modules; here that version is the package this file installed, linked where npm puts it.
      const steps = workflowRunSteps(readFileSync(join(team, '.github', 'workflows', 'destinations.yml'), 'utf8'));
      assert.equal(steps[0], 'npm install --no-audit --no-fund');
      mkdirSync(join(team, 'node_modules', '.bin'), { recursive: true });
      symlinkSync(installedRoot, join(team, 'node_modules', PACKAGE.name), 'dir');
      symlinkSync(join('..', PACKAGE.name, 'dist', 'tools', 'cli.js'), join(team, 'node_modules', '.bin', 'destinations'));
      const summary = join(work, 'step-summary.md');
      writeFileSync(summary, '');
      const env = { GITHUB_BASE_REF: 'main', GITHUB_STEP_SUMMARY: summary, npm_config_update_notifier: 'false' };
      // GitHub runs each step as `bash -e {0}`, in the checkout (fetch-depth 0: origin/main is there), one after the other.
      const step = (script: string) => run('bash', ['-e', '-c', script], { cwd: team, timeoutMs: 60_000, env });
      const validate = await step(steps[1]);
      const plan = await step(steps[2]);
      assert.equal(validate.code, 0, `${validate.stdout}${validate.stderr}`);
      assert.doesNotMatch(validate.stdout, /^::(error|warning)/m);
      assert.match(validate.stdout, /^ok {2}acme-crm {2}version [0-9a-f]+ {2}syncs: main$/m);
      assert.equal(plan.code, 0, plan.stderr);
      const written = readFileSync(summary, 'utf8');
      assert.match(written, /destinations plan: destinations against git ref origin\/main/);
      assert.match(written, /^\| acme-crm \| valid \|/m, "validate's table");
      assert.match(written, /^ {2}\+ acme-crm {2}new, version/m);
      assert.match(written, /^ {2}\+ acme-crm\.main {2}new: starts with events published from when it starts/m);
      assert.match(written, new RegExp(`^ {2}> acme-crm\\.main {2}127\\.0\\.0\\.1:${crm.port} {2}\\(new\\)`, 'm'));
      assert.match(written, /^ {2}! acme-crm\.main {2}api_key \{"env":"ACME_CRM_API_KEY"\}: environment variable ACME_CRM_API_KEY is not set$/m, 'the new secret to create on the hosts before merging');
    });

    it("a daemon whose config follows the branch, started while the pull request is open, runs the branch's commit and delivers to the repository's example destination", async () => {
      // The host's own config (operations.md: /etc/destinations/destinationsrc.json): its NATS and
      // admin port, the shipped example's endpoint as this host's value of its variable, the branch.
      const host = join(work, 'host');
      mkdirSync(host);
      hostConfig = join(host, 'destinationsrc.json');
      writeFileSync(
        hostConfig,
        JSON.stringify({
          nats: { servers: [nats.url] },
          destinationsDir: 'destinations',
          variables: { quickstart_sink: ownEndpoint.url },
          admin: { host: '127.0.0.1', port: adminPort },
          gitops: { repository: remote, branch: 'main', intervalMs: 500 },
        }),
      );
      // Secrets are on the host before the merge that needs them (the plan lists the new ones).
      daemon = spawnDaemon(hostConfig, { WEBHOOK_SIGNING_SECRET: SIGNING_SECRET, ACME_CRM_API_KEY: 'crm-secret-key' }, bin);
      await daemon.waitForLog('daemon ready', 60_000);
      const started = await adminReport(adminPort);
      assert.equal(started.gitops?.applied?.commit, git('rev-parse', 'origin/main'));
      assert.deepEqual(started.destinations.map((destination) => destination.slug), ['webhook']);
      await publish(testEvent(1));
      const [request] = await ownEndpoint.waitForRequests(1, 30_000);
      assert.equal(request.url, '/webhook');
      assert.equal(JSON.parse(request.body).insert_id, 'insert-1');
      assert.match(String(request.headers['webhook-signature']), /^v1,/);
    });

    it('merged, the running daemon applies the commit without a restart and delivers a published event to the new destination', async () => {
      git('checkout', '-q', 'main');
      git('merge', '-q', '--no-ff', '-m', 'Merge pull request #1: add Acme CRM', 'add-acme-crm');
      git('push', '-q', 'origin', 'main');
      merged = git('rev-parse', 'HEAD');
      await daemon.waitForLog((line) => line.msg === 'applied config commit' && line.commit === merged, 30_000);
      const report = await adminReport(adminPort);
      assert.equal(report.gitops?.applied?.commit, merged, '/destinations shows the merged commit');
      const status = await run(bin, ['status', '--config', hostConfig], { cwd: work, timeoutMs: 30_000 });
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`^config ${remote.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} main: running ${merged} `, 'm'));
      assert.deepEqual(report.destinations.map((destination) => destination.slug).sort(), ['acme-crm', 'webhook']);
      // A new sync starts with events published from when it starts: publish after it applied.
      await publish(testEvent(2));
      const [request] = await crm.waitForRequests(1, 30_000);
      assert.equal(request.url, '/events');
      assert.equal(request.headers.authorization, 'Bearer crm-secret-key');
      assert.equal(request.headers['idempotency-key'], 'insert-2');
      assert.deepEqual(JSON.parse(request.body), { type: 'purchase', user: 'user-2' });
      await ownEndpoint.waitForRequests(2, 30_000);
      assert.equal(daemon.child.exitCode, null, 'the same process');
      assert.equal(daemon.logs.filter((line) => line.msg === 'daemon ready').length, 1, 'started once');
    });

    it('serves the console and the metrics with the applied commit from the installed package, and stops on SIGTERM', async () => {
      const page = await fetch(`http://127.0.0.1:${adminPort}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      assert.match(metrics, new RegExp(`^destinations_config_commit_info\\{branch="main",commit="${merged}"\\} 1$`, 'm'));
      daemon.child.kill('SIGTERM');
      assert.deepEqual(await daemon.exited, { code: 0, signal: null });
    });
  });
});
