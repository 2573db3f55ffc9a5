// Following the branch from the daemon's run path: one poll before the daemon starts (it starts on
// the branch's last good commit), then one every intervalMs (a timer chain, so never two at once,
// unref'd), stopped before the drain. Each change is logged once: a commit applied, a commit
// refused (with why), a fetch failing and recovering; a poll that changes nothing logs nothing.
import { resolve } from 'node:path';
import type { DaemonSettings } from '../config/index.js';
import type { Logger } from '../log.js';
import type { LoadProblem } from '../registry/index.js';
import { resolveSecretRef } from '../secrets/index.js';
import { BranchFollower, type FollowState } from './follow-branch.js';
import { redactRepository } from './redact-repository.js';

/** What the views show of the follower: the repository without credentials. */
export interface GitopsView extends FollowState {
  repository: string;
  branch: string;
  path: string;
  intervalMs: number;
  refusedCount: number;
}

export interface FollowingBranch {
  follower: BranchFollower;
  view(): GitopsView;
  /** One poll now, logged (the first, before the daemon loads the folder). */
  poll(): Promise<void>;
  /** Polls on the interval from now on (after the daemon has started). */
  start(): void;
  stop(): Promise<void>;
  /** The token's value, for the logger's redaction. */
  secretValues: string[];
}

export interface FollowTarget {
  reload(): Promise<unknown>;
  problemsOf(dir: string): Promise<LoadProblem[]>;
}

export function followBranch(gitops: NonNullable<DaemonSettings['gitops']>, settings: Pick<DaemonSettings, 'destinationsDir' | 'baseDir'>, target: FollowTarget, log: Logger): FollowingBranch {
  // A token that cannot be read is fatal at start, like the admin token (the message names the reference, never a value).
  const token = gitops.token && { username: gitops.username, value: resolveSecretRef(gitops.token, { baseDir: settings.baseDir }) };
  // A URL (scheme://…) or scp-like address (host:path) as given; anything else is a path, relative to the config file.
  const isAddress = /^[a-z][a-z0-9+.-]*:\/\//i.test(gitops.repository) || /^[^/]+:/.test(gitops.repository);
  const repository = isAddress ? gitops.repository : resolve(settings.baseDir, gitops.repository);
  let started = false;
  const follower = new BranchFollower({
    repo: repository,
    branch: gitops.branch,
    path: gitops.path,
    destinationsDir: settings.destinationsDir,
    stateDir: gitops.stateDir,
    gitTimeoutMs: gitops.timeoutMs,
    token,
    problemsOf: (dir) => target.problemsOf(dir),
    // Before the daemon starts, it loads the folder itself.
    reload: () => (started ? target.reload() : Promise.resolve()),
  });
  const shown = { repository: redactRepository(gitops.repository), branch: gitops.branch };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const pollAndLog = async () => {
    const before = { ...follower.state };
    const state = await follower.poll().catch((error: unknown) => {
      log.error('gitops poll failed', { ...shown, error: redactRepository((error as Error).message) });
      return follower.state;
    });
    if (state.applied && state.applied.commit !== before.applied?.commit) log.info('applied config commit', { ...shown, commit: state.applied.commit });
    if (state.refused && state.refused.commit !== before.refused?.commit) {
      log.error('refused config commit: the last good one keeps running', { ...shown, commit: state.refused.commit, running: state.applied?.commit ?? '(none)', why: state.refused.why });
    }
    if (state.fetchError && state.fetchError !== before.fetchError) log.warn('cannot fetch the config branch: the last good commit keeps running', { ...shown, error: state.fetchError });
    if (!state.fetchError && before.fetchError) log.info('fetching the config branch again', shown);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void pollAndLog().finally(schedule), gitops.intervalMs);
    timer.unref();
  };

  return {
    follower,
    secretValues: token ? [token.value] : [],
    view: () => ({ ...shown, path: gitops.path, intervalMs: gitops.intervalMs, refusedCount: follower.refusedCount, ...structuredClone(follower.state) }),
    async poll() {
      await pollAndLog();
    },
    start() {
      started = true;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await follower.stop();
    },
  };
}
