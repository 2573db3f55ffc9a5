// One limiter per sync: shapes the requests a sync sends to its destination's rate, caps how many
// are in flight, pauses the whole sync on Retry-After, and pushes back when its queue is full.
//
// Why not Bottleneck (measured, see docs/decisions.md and bench/limiter-micro.ts): with its local
// datastore, Bottleneck refills the reservoir from a setInterval heartbeat and restarts the interval
// from the moment the tick ran, so every timer delay is lost for good. At a sub-second granularity
// that cost 3–23 % of the rate on this 2-core machine (more under load), and at one-second
// granularity it admits a whole second's quota at once (1,666 in one sliding second for an 833/s
// limit). Its per-job cost (≥ 1 ms timer, ~178 µs CPU) also forces grouping. So the rate is kept here
// instead (rate-shaper.ts), in O(1) pieces that read a clock rather than count timer ticks:
//   - pacing (GCRA, "virtual scheduling"): request k may start no earlier than k × interval, at 0.5 %
//     under the per-second cap; this spreads requests evenly and is exact over any period. Its credit
//     is earned, not granted: time lost to a late timer or to a hard window (up to 250 ms) is made up,
//     as fast as the one-second window allows, but a start or an idle spell brings one group, no burst;
//   - hard windows: a request starts only if the requests counted in the sliding window before it
//     (one second, and the whole period) stay within the cap. A request counts at its start while it
//     runs and, once answered, no earlier than its answer less the fastest answer of the previous
//     second: the destination saw it somewhere in between, so one held up on its way (cold
//     connections at start-up, a stalled process, a queue) keeps its place until about when it
//     arrived. That makes "never more than the rate in any second" hold where the destination counts.
// Requests still travel in groups (all that arrive in one event-loop turn, or while the previous
// group waits), so the shaping work is paid once per group, as it would be with Bottleneck `weight`;
// an answer costs a clock reading and one record per window.
// Concurrency is a plain per-request counter: a group never holds a slot for a slower sibling.
// When several daemons run the sync, each paces at rate / daemons (share(), told by RateShare).
import { DEFAULT_LIMITER_HIGH_WATER, DEFAULT_RAMP_OPEN } from '../defaults.js';
import { Fifo } from './fifo.js';
import { RateShaper, type GroupMark, type RateLimit } from './rate-shaper.js';

export interface SyncLimiterOptions {
  /** The sync's id, for errors and the admin page. */
  name: string;
  rate?: RateLimit;
  maxConcurrency?: number;
  /** Queued requests at which run() rejects with LimiterFullError. */
  highWater?: number;
  /** How often a rate-limited sync admits a group; the group size follows from the rate. */
  groupIntervalMs?: number;
  /** After a pause, once this many may run at once the ramp is over (see #rampCap; the sync's caps are listed in consumer/concurrency-caps.ts). Default DEFAULT_RAMP_OPEN. */
  rampOpen?: number;
  /** Milliseconds clock. Default: monotonic, in epoch milliseconds. Tests pass a mocked Date.now. */
  clock?: () => number;
}

export interface LimiterState {
  name: string;
  queued: number;
  running: number;
  /** Clock time (epoch ms by default) until which nothing is admitted; 0 when not paused. */
  pausedUntil: number;
  rate: RateLimit | null;
  /** Daemons sharing the rate (each paces at rate / share); 1 when alone or without a rate. */
  share: number;
  maxConcurrency: number | null;
}

export const LIMITER_ERROR_CODES = {
  full: 'limiter_full',
  stopped: 'limiter_stopped',
} as const;
export type LimiterErrorCode = (typeof LIMITER_ERROR_CODES)[keyof typeof LIMITER_ERROR_CODES];

/** The queue reached highWater: the capacity gate should have held this request back. */
export class LimiterFullError extends Error {
  override readonly name = 'LimiterFullError';
  readonly code = LIMITER_ERROR_CODES.full;

  constructor(limiter: string, highWater: number) {
    super(`limiter ${limiter} is full (${highWater} requests queued)`);
  }
}

/** The limiter was stopped before this request was admitted: it was never sent. */
export class LimiterStoppedError extends Error {
  override readonly name = 'LimiterStoppedError';
  readonly code = LIMITER_ERROR_CODES.stopped;

  constructor(limiter: string) {
    super(`limiter ${limiter} is stopped`);
  }
}

const monotonicEpochMs = (): number => performance.timeOrigin + performance.now();

interface Entry {
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The requests a rate-limited pump started together; `mark` is set once they are counted. */
interface Group {
  mark: GroupMark | undefined;
}

export class SyncLimiter {
  readonly name: string;
  readonly #rate: RateLimit | undefined;
  readonly #shaper: RateShaper | undefined;
  readonly #maxConcurrency: number | undefined;
  readonly #highWater: number;
  readonly #clock: () => number;
  readonly #rampOpen: number;
  /** Requests waiting to be admitted, oldest first. */
  readonly #queue = new Fifo<Entry>();
  #running = 0;
  #pausedUntil = 0;
  #pumpScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** The schedule's slot when the limiter last had to wait for the rate: what pacing credit runs from. */
  #rateDueAt: number | undefined;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  /**
   * After a pause (Retry-After) the queue does not go at once: one request probes, and each answer
   * lets one more run at once (so twice as many per round trip, like TCP's slow start), up to
   * rampOpen, when the cap is lifted. A destination that keeps answering 429 with Retry-After thus
   * gets one request per pause it asks for.
   */
  #rampCap: number | undefined;

  constructor(options: SyncLimiterOptions) {
    const { name, rate, maxConcurrency, highWater = DEFAULT_LIMITER_HIGH_WATER } = options;
    if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) {
      throw new RangeError(`maxConcurrency must be an integer of at least 1, got ${maxConcurrency}`);
    }
    if (!(Number.isInteger(highWater) && highWater >= 1)) throw new RangeError(`highWater must be an integer of at least 1, got ${highWater}`);
    this.name = name;
    this.#rate = rate && { requests: rate.requests, periodSeconds: rate.periodSeconds };
    this.#shaper = rate && new RateShaper(rate, options.groupIntervalMs);
    this.#maxConcurrency = maxConcurrency;
    this.#highWater = highWater;
    this.#clock = options.clock ?? monotonicEpochMs;
    this.#rampOpen = options.rampOpen ?? DEFAULT_RAMP_OPEN;
  }

  /**
   * Runs `task` once the rate, the concurrency limit and any pause allow, and settles as it does.
   * Rejects at once with LimiterFullError when `highWater` requests are queued, and with
   * LimiterStoppedError after stop(). With no rate and no concurrency limit the task starts
   * synchronously and its own promise is returned.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#stopped) return Promise.reject(new LimiterStoppedError(this.name));
    if (this.#pausedUntil !== 0 && this.#clock() >= this.#pausedUntil) this.#pausedUntil = 0;
    if (
      this.#queue.size === 0 &&
      this.#pausedUntil === 0 &&
      this.#rampCap === undefined &&
      this.#shaper === undefined &&
      (this.#maxConcurrency === undefined || this.#running < this.#maxConcurrency)
    ) {
      return this.#runNow(task);
    }
    if (this.#queue.size >= this.#highWater) return Promise.reject(new LimiterFullError(this.name, this.#highWater));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ task, resolve: resolve as (value: unknown) => void, reject });
      // A pending timer (pause or rate wait) will pump; otherwise pump once this loop turn ends,
      // so everything that arrives in the turn travels as one group.
      if (this.#timer === undefined) this.#schedulePump();
    });
  }

  /**
   * Admits nothing for `ms` (Retry-After: the whole sync waits, not one request). A later pause that
   * ends sooner does not shorten the current one.
   */
  pause(ms: number): void {
    if (this.#stopped || !(ms > 0)) return;
    // Whatever the pause, it ends with one probe (see #rampCap).
    this.#rampCap = 1;
    const until = this.#clock() + ms;
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    if (this.#queue.size > 0) this.#wakeAt(until, until - ms);
  }

  /** Clock time until which nothing is admitted; 0 when not paused. */
  get pausedUntil(): number {
    if (this.#pausedUntil !== 0 && this.#clock() >= this.#pausedUntil) this.#pausedUntil = 0;
    return this.#pausedUntil;
  }

  state(): LimiterState {
    return {
      name: this.name,
      queued: this.#queue.size,
      running: this.#running,
      pausedUntil: this.pausedUntil,
      rate: this.#rate ?? null,
      share: this.#shaper?.shareCount ?? 1,
      maxConcurrency: this.#maxConcurrency ?? null,
    };
  }

  /**
   * `count` daemons run this sync (RateShare tells): pace at rate / count from now on. Requests
   * already counted in the windows count against the new caps, so a smaller share never lets a
   * burst through. Without a rate, nothing changes.
   */
  share(count: number): void {
    const shaper = this.#shaper;
    if (shaper === undefined || this.#stopped || !(Number.isInteger(count) && count >= 1) || count === shaper.shareCount) return;
    shaper.share(count);
    // A wait worked out at the old pace is stale: work it out again.
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
    if (this.#queue.size > 0) this.#schedulePump();
  }

  /** Rejects the requests queued now with LimiterStoppedError (the circuit breaker opened); later ones queue as usual. */
  rejectQueued(): void {
    const error = new LimiterStoppedError(this.name);
    for (const entry of this.#queue.takeAll()) entry.reject(error);
  }

  /** Starts again slowly: one request, then one more at once per answer (a circuit breaker closing, like the end of a pause). */
  rampUp(): void {
    if (!this.#stopped) this.#rampCap = 1;
  }

  /**
   * Rejects every queued request with LimiterStoppedError and every later run(); requests already
   * running finish. Resolves when none is running.
   */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.rejectQueued();
    }
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #runNow<T>(task: () => Promise<T>): Promise<T> {
    let promise: Promise<T>;
    try {
      promise = task();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#running++;
    promise.then(this.#release, this.#release);
    return promise;
  }

  #start(entry: Entry, group: Group | undefined): void {
    this.#running++;
    let promise: Promise<unknown>;
    try {
      promise = entry.task();
    } catch (error) {
      this.#release();
      entry.reject(error);
      return;
    }
    promise.then(
      (value) => {
        if (group?.mark !== undefined) this.#shaper!.answered(group.mark, this.#clock());
        this.#release();
        entry.resolve(value);
      },
      (error: unknown) => {
        if (group?.mark !== undefined) this.#shaper!.answered(group.mark, this.#clock());
        this.#release();
        entry.reject(error);
      },
    );
  }

  readonly #release = (): void => {
    this.#running--;
    const ramping = this.#rampCap !== undefined;
    // An answer after a pause (a pause it brings is set just after this, and starts the ramp again).
    if (ramping && this.#pausedUntil === 0) {
      this.#rampCap! += 1;
      if (this.#rampCap! >= this.#rampOpen) this.#rampCap = undefined;
    }
    if (this.#running === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if ((this.#maxConcurrency !== undefined || ramping) && this.#queue.size > 0 && this.#timer === undefined) this.#schedulePump();
  };

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pump);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#pump();
  };

  #wakeAt(at: number, now: number): void {
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(at - now)));
  }

  readonly #pump = (): void => {
    this.#pumpScheduled = false;
    while (!this.#stopped && this.#queue.size > 0) {
      const now = this.#clock();
      if (this.#pausedUntil !== 0) {
        this.#rateDueAt = undefined;
        if (now < this.#pausedUntil) return this.#wakeAt(this.#pausedUntil, now);
        this.#pausedUntil = 0;
      }
      let n = this.#queue.size;
      const cap = Math.min(this.#maxConcurrency ?? Infinity, this.#rampCap ?? Infinity);
      if (cap !== Infinity) {
        n = Math.min(n, cap - this.#running);
        if (n <= 0) {
          this.#rateDueAt = undefined;
          return;
        }
      }
      const shaper = this.#shaper;
      if (shaper !== undefined) {
        if (n > shaper.maxGroup) n = shaper.maxGroup;
        const wait = shaper.waitMs(n, now);
        if (wait > 0) {
          // The schedule's slot, even when a hard window holds the group longer: time a window or a
          // late timer takes is made up (up to the credit) as the windows allow.
          this.#rateDueAt = shaper.nextAt;
          return this.#wakeAt(now + wait, now);
        }
        shaper.take(n, now, this.#rateDueAt);
      }
      const group: Group | undefined = shaper && { mark: undefined };
      let started = 0;
      while (started < n && !this.#stopped) {
        // (A task may call stop() synchronously; stop() has then rejected the rest.)
        this.#start(this.#queue.shift()!, group);
        started++;
      }
      if (shaper !== undefined) group!.mark = shaper.record(started, this.#clock());
      if (this.#stopped) return;
      // Idle: the next request starts a fresh schedule, with no credit.
      if (this.#queue.size === 0) this.#rateDueAt = undefined;
    }
  };
}
