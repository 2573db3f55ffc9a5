// The daemon following a branch of the config repository: fetch it (git as a child process with a
// timeout, into a clone of the follower's own), extract the new commit's destinations folder next to
// the live one, validate it as a reload would (secrets resolved in this environment), and only when
// every folder passes swap it in and reload. A commit that fails is never applied: the last good one
// keeps running, and the reason is reported with the commit.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { formatProblem, loadDestinations, type LoadProblem } from '../registry/index.js';
import { redact } from '../secrets/index.js';
import { redactRepository } from './redact-repository.js';

const run = promisify(execFile);

export interface FollowOptions {
  /** Where to fetch from: any git URL or path. */
  repo: string;
  branch: string;
  /** The folder of the repository holding destination folders. */
  path: string;
  /** The daemon's destinationsDir: replaced as a whole by each good commit. */
  destinationsDir: string;
  /** The follower's own clone and the commit it last applied, kept between fetches and restarts. */
  stateDir: string;
  /** Each git command's limit. */
  gitTimeoutMs: number;
  /** An HTTPS token: sent as Basic credentials through git's environment, never on its command line. */
  token?: { username: string; value: string };
  env?: NodeJS.ProcessEnv;
  /** The errors that would keep a folder from running (the daemon's own start-up checks); without
   *  it, the registry's load errors. */
  problemsOf?: (dir: string) => Promise<LoadProblem[]>;
  /** The daemon's reload, called after a good commit is in place. */
  reload: () => Promise<unknown>;
}

export interface FollowState {
  /** The commit running (applied and reloaded), once one is. */
  applied?: { commit: string; at: string };
  /** The newest commit refused, and why (one line per problem, at most 20). */
  refused?: { commit: string; at: string; why: string[] };
  /** The last fetch that failed (network, unknown branch), cleared by a good one. */
  fetchError?: string;
  /** When the last fetch finished, good or not. */
  fetchedAt?: string;
}

/** Problems listed per refused commit; the rest are counted. */
const MAX_REASONS = 20;

export class BranchFollower {
  readonly state: FollowState = {};
  /** Commits refused since the process started (each counted once). */
  refusedCount = 0;
  private polling: Promise<FollowState> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: FollowOptions) {
    // After a restart the folder on disk is the commit last applied: say so before the first fetch.
    try {
      const marker = JSON.parse(readFileSync(this.markerFile, 'utf8')) as FollowState['applied'];
      if (marker && /^[0-9a-f]{40,64}$/.test(marker.commit) && existsSync(options.destinationsDir)) this.state.applied = { commit: marker.commit, at: String(marker.at) };
    } catch {
      // None yet.
    }
  }

  /** One fetch, validate and apply; concurrent calls share one run. */
  poll(): Promise<FollowState> {
    this.polling ??= this.doPoll().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Stops any git command running and applies nothing more; resolves when the poll under way has ended. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.polling?.catch(() => undefined);
  }

  private get gitDir(): string {
    return join(this.options.stateDir, 'repo.git');
  }

  private get markerFile(): string {
    return join(this.options.stateDir, 'applied.json');
  }

  private exec(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    return run(command, args, { timeout: this.options.gitTimeoutMs, signal: this.abort.signal, encoding: 'utf8', env }).then(
      ({ stdout }) => stdout.trim(),
      (error: { killed?: boolean; name?: string }) => {
        // Its message would be the whole command line: say what happened instead.
        if (error.name === 'AbortError') throw new Error(`${command} ${args.find((arg) => !arg.startsWith('-') && arg !== this.gitDir)} stopped: the daemon is stopping`);
        if (error.killed) throw new Error(`${command} ${args.find((arg) => !arg.startsWith('-') && arg !== this.gitDir)} did not finish within ${this.options.gitTimeoutMs} ms (gitops.timeoutMs)`);
        throw error;
      },
    );
  }

  private git(...args: string[]): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    const token = this.options.token;
    if (token) {
      // git ≥ 2.31 reads configuration from the environment: the header never shows in `ps`.
      const credentials = Buffer.from(`${token.username}:${token.value}`).toString('base64');
      Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${credentials}` });
    }
    return this.exec('git', ['--git-dir', this.gitDir, ...args], env);
  }

  private async doPoll(): Promise<FollowState> {
    const { branch } = this.options;
    let commit: string;
    try {
      if (!existsSync(this.gitDir)) {
        mkdirSync(this.options.stateDir, { recursive: true });
        await this.exec('git', ['init', '--bare', '--quiet', this.gitDir]);
      }
      if (branch.startsWith('-')) throw new Error(`not a branch: ${branch}`);
      await this.git('fetch', '--quiet', '--no-tags', '--', this.options.repo, `+refs/heads/${branch}:refs/follow/${branch}`);
      commit = await this.git('rev-parse', '--verify', `refs/follow/${branch}^{commit}`);
      delete this.state.fetchError;
    } catch (error) {
      this.state.fetchError = this.oneLine(error);
      return this.state;
    } finally {
      this.state.fetchedAt = new Date().toISOString();
    }
    if (commit === this.state.applied?.commit || commit === this.state.refused?.commit || this.abort.signal.aborted) return this.state;
    const live = resolve(this.options.destinationsDir);
    const staging = join(dirname(live), `.${basename(live)}.incoming`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      try {
        await this.extract(commit, staging);
      } catch (error) {
        if (this.abort.signal.aborted) return this.state;
        return this.refuse(commit, [this.oneLine(error)]);
      }
      const errors = this.options.problemsOf
        ? await this.options.problemsOf(staging)
        : (await loadDestinations(staging, { resolveSecrets: true, env: this.options.env })).problems.filter((problem) => problem.severity === 'error');
      if (errors.length) {
        const why = errors.slice(0, MAX_REASONS).map((problem) => formatProblem({ ...problem, file: problem.file.replace(staging, this.options.path) }));
        if (errors.length > MAX_REASONS) why.push(`… and ${errors.length - MAX_REASONS} more`);
        return this.refuse(commit, why);
      }
      // Stopping: the daemon is draining, and a reload now would start runners.
      if (this.abort.signal.aborted) return this.state;
      const old = join(dirname(live), `.${basename(live)}.previous`);
      rmSync(old, { recursive: true, force: true });
      if (existsSync(live)) renameSync(live, old);
      renameSync(staging, live);
      rmSync(old, { recursive: true, force: true });
      await this.options.reload();
      this.state.applied = { commit, at: new Date().toISOString() };
      delete this.state.refused;
      writeFileSync(this.markerFile, `${JSON.stringify(this.state.applied)}\n`);
      return this.state;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  private refuse(commit: string, why: string[]): FollowState {
    this.state.refused = { commit, at: new Date().toISOString(), why };
    this.refusedCount += 1;
    return this.state;
  }

  /** The commit's `path` folder into `into`, with git archive (no work tree of the clone is touched). */
  private async extract(commit: string, into: string): Promise<void> {
    const archive = `${into}.tar`;
    try {
      await this.git('archive', '--format=tar', `--output=${archive}`, commit, '--', this.options.path);
    } catch (error) {
      throw new Error(`commit ${commit.slice(0, 12)} has no folder ${this.options.path}: ${this.oneLine(error)}`);
    }
    try {
      const depth = this.options.path.split('/').filter(Boolean).length;
      await this.exec('tar', ['-xf', archive, '-C', into, `--strip-components=${depth}`]);
    } finally {
      rmSync(archive, { force: true });
    }
  }

  /** git's first line of complaint, without credentials (it may echo the URL, userinfo and all). */
  private oneLine(error: unknown): string {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    const line = (stderr || (error as Error).message).split('\n')[0];
    return redactRepository(redact(line, this.options.token ? [this.options.token.value] : []));
  }
}
