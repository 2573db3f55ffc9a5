// NATS can lose what the daemon made: a server that comes back without its store, a stream or a
// consumer deleted. Reconnecting does not bring them back, and a daemon that only reconnects looks
// ready while every publish and pull fails. So the daemon checks whenever that may have happened (a
// reconnect, a pull that finds the stream or consumer gone, a dead letter the server refuses), is
// not ready while it checks, makes again from its configuration what is missing, and logs what it
// made. One check runs at a time; one asked for meanwhile runs after it. A check that fails (the
// server refuses, does not answer) is tried again, less and less often, until it succeeds.
import { DEFAULT_STATE_REPAIR_RETRY_MAX_MS, DEFAULT_STATE_REPAIR_RETRY_MS } from '../defaults.js';
import type { Logger } from '../log.js';
import { isJetStreamSettling } from './until-jetstream-answers.js';

export interface StateRepairOptions {
  /** Checks the streams and consumers and makes again what is missing; returns what it made. */
  repair: () => Promise<string[]>;
  /** Whether the connection is up (a check waits for the reconnect, which asks for one). */
  connected: () => boolean;
  log: Logger;
}

/** Errors repeat (a dead letter refused per message): checks they ask for run at most this often. */
const ERROR_CHECK_INTERVAL_MS = 1_000;

export class StateRepair {
  #running: Promise<void> | undefined;
  /** Why another check was asked for while one ran. */
  #again: string | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = DEFAULT_STATE_REPAIR_RETRY_MS;
  #lastCheck = 0;
  #failing: string | undefined;
  #stopped = false;

  constructor(private readonly options: StateRepairOptions) {}

  /** Why the daemon cannot work, as far as its streams and consumers go: the last check failed (undefined: it did not). */
  get failing(): string | undefined {
    return this.#failing;
  }

  /** While a check runs: not ready (a stream may be missing), for want of a better reason. */
  get checking(): string | undefined {
    return this.#running === undefined ? undefined : 'checking that NATS still has the streams and consumers (and making again what it lost)';
  }

  /**
   * The streams or consumers may be gone. `urgent` (a reconnect) checks at once; other reasons (a
   * pull, a refused write: they come in numbers) at most once a second.
   */
  check(why: string, urgent = false): void {
    if (this.#stopped || !this.options.connected()) return;
    if (this.#running !== undefined) {
      this.#again ??= why;
      return;
    }
    // A scheduled retry will check; otherwise at most one check a second for errors.
    if (!urgent && (this.#retry !== undefined || Date.now() - this.#lastCheck < ERROR_CHECK_INTERVAL_MS)) return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#lastCheck = Date.now();
    this.#running = this.#run(why).finally(() => {
      this.#running = undefined;
      const again = this.#again;
      this.#again = undefined;
      if (again !== undefined && this.#retry === undefined) this.check(again, true);
    });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
  }

  async #run(why: string): Promise<void> {
    const { log } = this.options;
    try {
      const made = await this.options.repair();
      if (made.length > 0) log.warn('NATS had lost streams or consumers of this daemon; made them again from its configuration', { why, made });
      else if (this.#failing !== undefined) log.info('the streams and consumers are in place again', { why });
      this.#failing = undefined;
      this.#retryMs = DEFAULT_STATE_REPAIR_RETRY_MS;
    } catch (error) {
      // Stopping: the connection closing under a check is no failure to report.
      if (this.#stopped) return;
      this.#failing = isJetStreamSettling(error)
        ? `JetStream does not answer (a server out of disk, or a cluster electing a leader?): ${(error as Error).message}`
        : `NATS lacks streams or consumers of this daemon and it cannot make them again: ${(error as Error).message}`;
      log.error('cannot make the streams and consumers again; trying again', { why, error, retryInMs: this.#retryMs });
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.check(why, true);
      }, this.#retryMs);
      this.#retry.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, DEFAULT_STATE_REPAIR_RETRY_MAX_MS);
    }
  }
}
