// destinations plan: a tree against another tree, against a git ref (extracted, the working tree
// untouched), and against a real daemon's admin report (real nats-server, in-process daemon).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { planChanges, type Plan } from '../../tools/plan/plan-diff.js';
import type { PlanSide } from '../../tools/plan/plan-state.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { useNatsServer } from '../helpers/nats-server.js';

const POSTHOG = 'test/fixtures/posthog/good';

/** A copy of the shipped webhook and PostHog folders (and the variables the shipped syncs use): the "before" side. */
function baseTree(root: string): string {
  const dir = join(root, 'destinations');
  cpSync('destinations/webhook', join(dir, 'webhook'), { recursive: true });
  cpSync('destinations/variables.json', join(dir, 'variables.json'));
  cpSync(POSTHOG, join(dir, 'posthog'), { recursive: true });
  return dir;
}

/** The proposed change: webhook's body edited, PostHog removed, a new sync, a disabled one. */
function propose(dir: string): void {
  writeFileSync(join(dir, 'webhook', 'body.njk'), '{"event": {{ input | json }}}\n');
  rmSync(join(dir, 'posthog'), { recursive: true });
  writeFiles(join(dir, 'webhook', 'syncs'), {
    'replay.json': { parameters: { url: 'http://127.0.0.1:9/replay', signing_secret: { env: 'PLAN_TEST_NEW_SECRET' } } },
  });
  const sync = JSON.parse(readFileSync(join(dir, 'webhook', 'syncs', 'default.json'), 'utf8'));
  writeFileSync(join(dir, 'webhook', 'syncs', 'default.json'), JSON.stringify({ ...sync, enabled: false }));
}

function planOf(stdout: string): Plan {
  return JSON.parse(stdout) as Plan;
}

describe('tools plan', () => {
  it('against another tree: destinations changed with their files, removed, new syncs with where they start, disabled ones, and unresolved new secrets by name only', async () => {
    const temp = tempDir();
    try {
      const before = baseTree(join(temp.dir, 'before'));
      const proposed = baseTree(join(temp.dir, 'after'));
      propose(proposed);
      const result = await runCli(['plan', proposed, '--against', before, '--format', 'json'], { env: { PLAN_TEST_NEW_SECRET: '' } });
      assert.equal(result.code, 0, result.stderr);
      const plan = planOf(result.stdout);
      assert.deepEqual(plan.destinations.changed.map((row) => [row.slug, row.files]), [['webhook', { added: ['syncs/replay.json'], changed: ['body.njk', 'syncs/default.json'], removed: [] }]]);
      assert.notEqual(plan.destinations.changed[0].versionBefore, plan.destinations.changed[0].versionAfter);
      assert.deepEqual(plan.destinations.removed.map((row) => row.slug), ['posthog']);
      assert.deepEqual(plan.syncs.added.map((row) => [row.id, row.startAt]), [['webhook.replay', 'new']]);
      assert.match(plan.syncs.added[0].starts, /events published from when it starts/);
      assert.deepEqual(plan.syncs.disabled, [{ id: 'webhook.default' }]);
      assert.deepEqual(plan.syncs.removed, [{ id: 'posthog.default' }]);
      assert.deepEqual(plan.unresolvedSecrets.map((row) => [row.sync, row.parameter, row.reference]), [['webhook.replay', 'signing_secret', '{"env":"PLAN_TEST_NEW_SECRET"}']]);
      const text = await runCli(['plan', proposed, '--against', before], { env: { PLAN_TEST_NEW_SECRET: 'plan-secret-value' } });
      assert.match(text.stdout, /~ webhook {2}version [0-9a-f]{12} -> [0-9a-f]{12}; files \+syncs\/replay\.json ~body\.njk ~syncs\/default\.json/);
      assert.match(text.stdout, /\+ webhook\.replay {2}new: starts with events published from when it starts \(startAt "new", the default\)/);
      assert.doesNotMatch(text.stdout, /plan-secret-value|secrets not resolved/, 'a resolved secret is neither listed nor shown');
    } finally {
      temp.remove();
    }
  });

  it('a folder that fails validation is named, and its syncs are not listed: a daemon keeps its last good version', async () => {
    const temp = tempDir();
    try {
      const before = baseTree(join(temp.dir, 'before'));
      const proposed = baseTree(join(temp.dir, 'after'));
      writeFileSync(join(proposed, 'webhook', 'destination.json'), '{');
      const result = await runCli(['plan', proposed, '--against', before]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /! webhook {2}fails validation \(1 error\): a daemon keeps its last good version; run destinations validate/);
      assert.doesNotMatch(result.stdout, /webhook\.default/);
    } finally {
      temp.remove();
    }
  });

  it('shows what leaves the network: the hosts of each new or changed sync (token URL included), and the examples\' requests before and after a template change, secrets as placeholders', async () => {
    const temp = tempDir();
    try {
      const before = baseTree(join(temp.dir, 'before'));
      const proposed = baseTree(join(temp.dir, 'after'));
      // A template change (the webhook body), and a new sync to a new host through a destination with an OAuth token URL.
      writeFileSync(join(proposed, 'webhook', 'body.njk'), '{"forwarded": {{ input | json }}}\n');
      writeFiles(join(proposed, 'webhook', 'syncs'), { 'partner.json': { parameters: { url: 'https://hooks.partner.example:8443/in?team={{x}}' } } });
      const result = await runCli(['plan', proposed, '--against', before, '--format', 'json'], { env: { WEBHOOK_SIGNING_SECRET: 'plan-secret-value' } });
      assert.equal(result.code, 0, result.stderr);
      const plan = planOf(result.stdout);
      assert.deepEqual(plan.egress, [
        { sync: 'webhook.default', hosts: ['127.0.0.1:3000'], hostsBefore: ['127.0.0.1:3000'], newHosts: [] },
        { sync: 'webhook.partner', hosts: ['hooks.partner.example:8443'], newHosts: ['hooks.partner.example:8443'] },
      ]);
      assert.deepEqual(plan.requests.map((row) => [row.slug, row.example, row.sync]), [['webhook', 'examples/identify.json', 'default'], ['webhook', 'examples/purchase.json', 'default']]);
      assert.doesNotMatch(plan.requests[1].before!, /"forwarded"/);
      assert.match(plan.requests[1].after!, /^POST http:\/\/127\.0\.0\.1:3000\/webhook$/m);
      assert.match(plan.requests[1].after!, /"forwarded": \{/);
      assert.equal(plan.changes, 2, 'egress and requests explain the changes; they are not counted again');
      const text = await runCli(['plan', proposed, '--against', before], { env: { WEBHOOK_SIGNING_SECRET: 'plan-secret-value' } });
      assert.match(text.stdout, /what leaves the network/);
      assert.match(text.stdout, /> webhook\.partner {2}hooks\.partner\.example:8443 {2}\(new\)/);
      assert.match(text.stdout, /> webhook\.default {2}127\.0\.0\.1:3000 {2}\(as before\)/);
      assert.match(text.stdout, /webhook\/examples\/purchase\.json \(sync default\)\n {6}POST http:\/\/127\.0\.0\.1:3000\/webhook\n[\s\S]*\n {4}- {3}"event_type": "purchase",\n[\s\S]*\n {4}\+ {3}"forwarded": \{\n/);
      assert.doesNotMatch(text.stdout + result.stdout, /plan-secret-value/, 'a secret is never shown');

      // The token URL of an OAuth destination is egress too.
      writeFiles(join(proposed, 'oauthed'), {
        'destination.json': {
          ...JSON.parse(readFileSync(join(proposed, 'webhook', 'destination.json'), 'utf8')),
          signing: undefined,
          // The webhook's contract holds its own envelope, not this body (and its file is not copied).
          contract: undefined,
          name: 'OAuthed',
          parameters: [{ name: 'url', displayName: 'URL' }, { name: 'signing_secret', displayName: 'Client secret', secret: true }],
          oauth: { tokenUrl: 'https://auth.partner.example/token', clientId: 'id', clientSecret: '{{ parameters.signing_secret }}' },
        },
        'body.njk': '{}',
        'logo.png': readFileSync(join(proposed, 'webhook', 'logo.png')),
        'syncs/default.json': { parameters: { url: 'https://api.partner.example/v1' , signing_secret: { env: 'PLAN_TEST_TOKEN_SECRET' } } },
      });
      const oauthed = planOf((await runCli(['plan', proposed, '--against', before, '--format', 'json'])).stdout);
      assert.deepEqual(oauthed.egress.find((row) => row.sync === 'oauthed.default')?.hosts, ['api.partner.example', 'auth.partner.example']);
    } finally {
      temp.remove();
    }
  });

  it('says "no changes" for the same tree', async () => {
    const result = await runCli(['plan', 'destinations', '--against', 'destinations']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /no changes$/m);
  });

  it('against a git ref, reading the ref without touching the working tree', async () => {
    const temp = tempDir();
    try {
      const dir = baseTree(temp.dir);
      const git = (...args: string[]) => execFileSync('git', ['-C', temp.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
      git('init', '-q');
      git('add', '.');
      git('commit', '-qm', 'base');
      propose(dir);
      const status = git('status', '--porcelain');
      const result = await runCli(['plan', dir, '--ref', 'HEAD', '--format', 'json'], { env: { PLAN_TEST_NEW_SECRET: 'x' } });
      assert.equal(result.code, 0, result.stderr);
      const plan = planOf(result.stdout);
      assert.equal(plan.before, 'git ref HEAD');
      assert.deepEqual(plan.destinations.removed.map((row) => row.slug), ['posthog']);
      assert.deepEqual(plan.syncs.added.map((row) => row.id), ['webhook.replay']);
      assert.equal(git('status', '--porcelain'), status, 'the working tree is as it was');
      assert.equal(git('worktree', 'list').trim().split('\n').length, 1, 'no worktree left behind');
      const bad = await runCli(['plan', dir, '--ref', 'no-such-ref']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /cannot read git ref no-such-ref/);
    } finally {
      temp.remove();
    }
  });

  it('refuses to guess what to compare with', async () => {
    const result = await runCli(['plan', 'destinations']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /give exactly one of --daemon URL, --against DIR, --ref REF/);
  });
});

describe('tools plan: where a new sync starts', () => {
  const side = (label: string, syncs: Record<string, { enabled: boolean; startAt?: string }>): PlanSide => ({
    label,
    rejected: {},
    destinations: { hook: { slug: 'hook', version: 'v1', syncs: Object.fromEntries(Object.entries(syncs).map(([id, sync]) => [id, { id, ...sync }])) } },
  });

  it('reads startAt when the sync has one: "new" by default, "all" replays history, an ISO time starts there', () => {
    const plan = planChanges(
      side('before', {}),
      side('after', { 'hook.a': { enabled: true }, 'hook.b': { enabled: true, startAt: 'all' }, 'hook.c': { enabled: true, startAt: '2026-01-01T00:00:00Z' }, 'hook.d': { enabled: false } }),
    );
    assert.deepEqual(
      plan.syncs.added.map((row) => `${row.id}: ${row.starts}`),
      [
        'hook.a: events published from when it starts (startAt "new", the default)',
        'hook.b: every event the stream still holds (startAt "all": replays history)',
        'hook.c: events published from 2026-01-01T00:00:00Z on (startAt)',
        'hook.d: nothing: it is disabled',
      ],
    );
  });
});

const nats = useNatsServer();

describe('tools plan against a running daemon', () => {
  const temp = tempDir();
  let daemon: TestDaemon;
  let admin: AdminServer;

  before(async () => {
    process.env.WEBHOOK_SIGNING_SECRET = `whsec_${Buffer.from('a plan test signing key, 32 bytes').toString('base64')}`;
    process.env.POSTHOG_API_KEY = 'plan-daemon-key';
    const dir = baseTree(temp.dir);
    const { subject: _subject, ...stream } = nats.streams('plan');
    daemon = await startTestDaemon(testSettings(nats.url, dir, { stream }));
    admin = await startAdminServer(daemon.daemon);
  });

  after(async () => {
    await daemon.stop();
    await admin.close();
    temp.remove();
  });

  it('compares the tree with the versions and syncs the daemon has loaded', async () => {
    const proposed = baseTree(join(temp.dir, 'proposed'));
    propose(proposed);
    const result = await runCli(['plan', proposed, '--daemon', `http://127.0.0.1:${admin.port}`, '--format', 'json'], { env: { PLAN_TEST_NEW_SECRET: 'x' } });
    assert.equal(result.code, 0, result.stderr);
    const plan = planOf(result.stdout);
    assert.match(plan.before, /^the daemon at http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(plan.destinations.changed.map((row) => [row.slug, row.files]), [['webhook', undefined]], 'a daemon report has versions, not files');
    assert.deepEqual(plan.destinations.removed.map((row) => row.slug), ['posthog']);
    assert.deepEqual(plan.syncs.disabled, [{ id: 'webhook.default' }]);
    assert.deepEqual(plan.syncs.added.map((row) => row.id), ['webhook.replay']);
  });
});
