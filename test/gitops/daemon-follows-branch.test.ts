// The daemon run with a gitops section in its config: it starts on the branch's last good commit,
// its interval poll applies a merge, refuses a broken one (logged once, with why) and applies the
// fix; /destinations, /metrics, `destinations status` and the console's state show the commit. A
// restart with the remote unreachable starts on the folder on disk and says which commit that is.
// Waits are on the daemon's own log lines and on its admin port's answers, bounded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { settingsFrom, ConfigError } from '../../daemon/config/index.js';
import { BranchFollower, redactRepository } from '../../daemon/gitops/index.js';
import { validateAdminReport } from '../../daemon/registry/index.js';
import { runDaemon, type RunningDaemon } from '../../daemon/run-daemon.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { run as status } from '../../tools/commands/status.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();

/** Log lines, and a way to wait (bounded) for one that matches. */
function logBook() {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: () => void }> = [];
  return {
    lines,
    write: (text: string) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of [...waiters]) if (waiter.match(line)) waiter.resolve();
    },
    until(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
      if (lines.some(match)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line ${what} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

describe('gitops: the daemon follows the branch in its config', () => {
  const temp = tempDir();
  const remote = join(temp.dir, 'remote.git');
  const work = join(temp.dir, 'work');
  const host = join(temp.dir, 'host');
  const git = (...args: string[]) => execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
  const merge = (message: string) => {
    git('add', '-A');
    git('commit', '-qm', message);
    git('push', '-q', 'origin', 'main');
    return git('rev-parse', 'HEAD');
  };
  let running: RunningDaemon | undefined;
  const { subject: _subject, ...stream } = nats.streams('gitopsrun');

  const settingsFor = (repository: string) =>
    settingsFrom(
      {
        nats: { servers: [nats.url] },
        destinationsDir: 'destinations',
        admin: { port: 0 },
        stream,
        drainTimeoutMs: 2_000,
        gitops: { repository, branch: 'main', intervalMs: 150, timeoutMs: 10_000, stateDir: 'gitops' },
      },
      join(host, '.destinationsrc.json'),
      host,
    );
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${running!.admin!.port}${path}`);
    assert.equal(response.status, 200, path);
    return path === '/metrics' ? response.text() : response.json();
  };
  const report = async () => {
    const body = (await get('/destinations')) as unknown;
    assert.ok(validateAdminReport(body), JSON.stringify(validateAdminReport.errors));
    return body as AdminReport;
  };

  before(() => {
    process.env.WEBHOOK_SIGNING_SECRET = `whsec_${Buffer.from('a gitops test signing key, 32 b').toString('base64')}`;
    mkdirSync(host, { recursive: true });
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    execFileSync('git', ['clone', '-q', remote, work], { stdio: 'ignore' });
    git('checkout', '-qb', 'main');
  });

  after(async () => {
    await running?.stop();
    temp.remove();
  });

  it('starts on the branch, applies a merge on its interval, refuses a broken one once with why, applies the fix, and shows the commit everywhere', async () => {
    cpSync('destinations/webhook', join(work, 'destinations', 'webhook'), { recursive: true });
    cpSync('destinations/variables.json', join(work, 'destinations', 'variables.json'));
    const good = merge('add webhook');
    const logs = logBook();
    // A path is relative to the config file.
    running = await runDaemon({ settings: settingsFor('../remote.git'), logWrite: logs.write });
    // Started on the branch's commit: the folder came from it before the daemon loaded it.
    assert.deepEqual(running.daemon.view().destinations.map((destination) => destination.slug), ['webhook']);
    assert.equal(running.daemon.view().gitops?.applied?.commit, good);

    writeFileSync(join(work, 'destinations', 'webhook', 'body.njk'), '{"event": {{ input | json }\n');
    const broken = merge('break the body');
    await logs.until((line) => line.msg === 'refused config commit: the last good one keeps running' && line.commit === broken, 'refusing the broken commit');
    const refusedReport = await report();
    assert.equal(refusedReport.gitops?.applied?.commit, good);
    assert.equal(refusedReport.gitops?.refused?.commit, broken);
    assert.match(refusedReport.gitops!.refused!.why.join('\n'), /destinations\/webhook\/body\.njk/);
    const metrics = (await get('/metrics')) as string;
    assert.match(metrics, new RegExp(`^destinations_config_commit_info\\{branch="main",commit="${good}"\\} 1$`, 'm'));
    assert.match(metrics, /^destinations_config_commit_refused\{branch="main"\} 1$/m);
    assert.match(metrics, /^destinations_config_commits_refused_total\{branch="main"\} 1$/m);
    const printed: string[] = [];
    const log = mock.method(console, 'log', (text: string) => printed.push(text));
    try {
      assert.equal(await status(['--url', `http://127.0.0.1:${running.admin!.port}`]), 0);
    } finally {
      log.mock.restore();
    }
    assert.match(printed.join('\n'), new RegExp(`config \\.\\./remote\\.git main: running ${good}`));
    assert.match(printed.join('\n'), new RegExp(`REFUSED ${broken} .*\\n\\s+destinations/webhook/body\\.njk`));
    const consoleState = (await get('/console/state')) as { gitops?: { applied?: { commit: string }; refused?: { commit: string } } };
    assert.equal(consoleState.gitops?.applied?.commit, good);
    assert.equal(consoleState.gitops?.refused?.commit, broken);

    // Later polls of the same broken head say nothing more.
    const refusedAt = refusedReport.gitops!.refused!.at;
    const deadline = Date.now() + 10_000;
    while (!((await report()).gitops!.fetchedAt! > refusedAt)) assert.ok(Date.now() < deadline, 'another poll within 10 s');

    cpSync('destinations/webhook/body.njk', join(work, 'destinations', 'webhook', 'body.njk'));
    writeFiles(join(work, 'destinations', 'webhook', 'syncs'), { 'second.json': { parameters: { url: 'http://127.0.0.1:9/second' } } });
    const fixed = merge('fix the body');
    await logs.until((line) => line.msg === 'applied config commit' && line.commit === fixed, 'applying the fix');
    const fixedReport = await report();
    assert.equal(fixedReport.gitops?.applied?.commit, fixed);
    assert.equal(fixedReport.gitops?.refused, undefined);
    assert.deepEqual(fixedReport.destinations[0].syncs.map((sync) => sync.id).sort(), ['webhook.default', 'webhook.second']);
    assert.match((await get('/metrics')) as string, new RegExp(`^destinations_config_commit_info\\{branch="main",commit="${fixed}"\\} 1$`, 'm'));
    assert.equal(logs.lines.filter((line) => String(line.msg).startsWith('refused config commit')).length, 1, 'the refusal is logged once');
    assert.equal(logs.lines.filter((line) => line.msg === 'applied config commit').length, 2);
    await running.stop();
    running = undefined;
  });

  it('restarted while the remote cannot be reached, starts on the commit on disk and says the fetch fails', async () => {
    const logs = logBook();
    running = await runDaemon({ settings: settingsFor(join(temp.dir, 'gone.git')), logWrite: logs.write });
    const started = await report();
    assert.match(started.gitops?.applied?.commit ?? '', /^[0-9a-f]{40}$/, 'the commit this host applied last');
    assert.ok(started.gitops?.fetchError, 'the fetch error is reported');
    assert.deepEqual(started.destinations[0].syncs.map((sync) => sync.id).sort(), ['webhook.default', 'webhook.second']);
    assert.ok(logs.lines.some((line) => line.msg === 'starting on the destinations folder on disk'));
    await running.stop();
    running = undefined;
  });

  it('fills the gitops defaults once: main, the destinations folder, every 30 s, a state folder next to the config', () => {
    const { gitops } = settingsFrom({ gitops: { repository: 'git@git.example.com:team/config.git' } }, undefined, temp.dir);
    assert.deepEqual(gitops, { repository: 'git@git.example.com:team/config.git', branch: 'main', path: 'destinations', intervalMs: 30_000, timeoutMs: 20_000, stateDir: join(temp.dir, '.destinations-gitops'), username: 'x-access-token' });
    assert.equal(settingsFrom({}, undefined, temp.dir).gitops, undefined);
  });

  it('never shows credentials: a password in the URL is refused at load, userinfo is redacted, a token stays out of errors', async () => {
    assert.throws(
      () => settingsFrom({ gitops: { repository: 'https://bot:hunter2-secret@git.example.com/team/config.git' } }, undefined, temp.dir),
      (error: unknown) => error instanceof ConfigError && /gitops\.token/.test(error.message) && !error.message.includes('hunter2'),
    );
    assert.equal(redactRepository("fatal: unable to access 'https://bot@git.example.com/x.git/': refused"), "fatal: unable to access 'https://[redacted]@git.example.com/x.git/': refused");
    const follower = new BranchFollower({
      repo: 'http://bot@127.0.0.1:9/config.git',
      branch: 'main',
      path: 'destinations',
      destinationsDir: join(temp.dir, 'unreachable', 'destinations'),
      stateDir: join(temp.dir, 'unreachable', 'gitops'),
      gitTimeoutMs: 10_000,
      token: { username: 'x-access-token', value: 'tok-very-secret-value' },
      reload: () => Promise.resolve(),
    });
    const state = await follower.poll();
    assert.ok(state.fetchError);
    assert.doesNotMatch(state.fetchError, /bot@|tok-very-secret-value/);
  });
});
