// The daemon following a branch: a bare git remote on the local filesystem, two in-process daemons
// on one test nats-server, each with its own follower. A good merge is applied by both, a broken
// one by neither (both keep the last good and say why), a fix by both. Polls are triggered directly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BranchFollower } from '../../daemon/gitops/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();

describe('gitops: daemons follow a branch of the config repository', () => {
  const temp = tempDir();
  const remote = join(temp.dir, 'remote.git');
  const work = join(temp.dir, 'work');
  const git = (...args: string[]) => execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' }).trim();
  const daemons: Array<{ daemon: TestDaemon; follower: BranchFollower }> = [];

  /** Commits the work tree and pushes it to the remote's main: a merge. */
  const merge = (message: string) => {
    git('add', '-A');
    git('commit', '-qm', message);
    git('push', '-q', 'origin', 'main');
    return git('rev-parse', 'HEAD');
  };

  before(async () => {
    process.env.WEBHOOK_SIGNING_SECRET = `whsec_${Buffer.from('a gitops test signing key, 32 b').toString('base64')}`;
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    execFileSync('git', ['clone', '-q', remote, work], { stdio: 'ignore' });
    git('checkout', '-qb', 'main');
    const { subject: _subject, ...stream } = nats.streams('gitops');
    for (const name of ['a', 'b']) {
      const dir = join(temp.dir, name, 'destinations');
      mkdirSync(dir, { recursive: true });
      const daemon = await startTestDaemon(testSettings(nats.url, dir, { stream }));
      const follower = new BranchFollower({ repo: remote, branch: 'main', path: 'destinations', destinationsDir: dir, stateDir: join(temp.dir, name, 'gitops'), gitTimeoutMs: 20_000, reload: () => daemon.daemon.reload() });
      daemons.push({ daemon, follower });
    }
  });

  after(async () => {
    for (const { daemon } of daemons) await daemon.stop();
    temp.remove();
  });

  const pollAll = () => Promise.all(daemons.map(({ follower }) => follower.poll()));
  const versions = () => daemons.map(({ daemon }) => daemon.daemon.view().destinations.map((destination) => `${destination.slug}@${destination.version}`).join(','));

  it('a good merge is applied by both, a broken one by neither (the last good keeps running, with the reason), and the fix by both', async () => {
    cpSync('destinations/webhook', join(work, 'destinations', 'webhook'), { recursive: true });
    cpSync('destinations/variables.json', join(work, 'destinations', 'variables.json'));
    const good = merge('add webhook');
    for (const state of await pollAll()) {
      assert.equal(state.applied?.commit, good);
      assert.equal(state.refused, undefined);
    }
    const [first] = versions();
    assert.match(first, /^webhook@[0-9a-f]{12}$/);
    assert.deepEqual(versions(), [first, first]);

    writeFileSync(join(work, 'destinations', 'webhook', 'body.njk'), '{"event": {{ input | json }\n');
    const broken = merge('break the body');
    for (const state of await pollAll()) {
      assert.equal(state.applied?.commit, good, 'the last good commit keeps running');
      assert.equal(state.refused?.commit, broken);
      assert.match(state.refused!.why.join('\n'), /destinations\/webhook\/body\.njk/);
    }
    assert.deepEqual(versions(), [first, first]);

    cpSync('destinations/webhook/body.njk', join(work, 'destinations', 'webhook', 'body.njk'));
    writeFiles(join(work, 'destinations', 'webhook', 'syncs'), { 'second.json': { parameters: { url: 'http://127.0.0.1:9/second' } } });
    const fixed = merge('fix the body');
    for (const state of await pollAll()) {
      assert.equal(state.applied?.commit, fixed, JSON.stringify(state));
      assert.equal(state.refused, undefined);
    }
    assert.deepEqual(versions(), [first, first], 'the same templates as the last good: the same version');
    for (const { daemon } of daemons) assert.deepEqual(daemon.daemon.view().destinations[0].syncs.map((sync) => sync.id).sort(), ['webhook.default', 'webhook.second']);
  });
});
