// One limiter per sync: shapes the requests a sync sends to its destination's rate, caps how many
// are in flight, pauses the whole sync on Retry-After, and pushes back when its queue is full.
//
// Why not Bottleneck (measured, see docs/decisions.md and bench/limiter-micro.ts): with its local
// datastore, Bottleneck refills the reservoir from a setInterval heartbeat and restarts the interval
// from the moment the tick ran, so every timer delay is lost for good. At a sub-second granularity
// that cost 3–23 % of the rate on this 2-core machine (more under load), and at one-second
// granularity it admits a whole second's quota at once (1,666 in one sliding second for an 833/s
// limit). Its per-job cost (≥ 1 ms timer, ~178 µs CPU) also forces grouping. So the rate is kept here
// instead, in O(1) pieces that read a clock rather than count timer ticks:
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
import type { Limits } from '../../schema/generated/destination.js';
import { DEFAULT_LIMITER_CATCH_UP_MS, DEFAULT_LIMITER_GROUP_INTERVAL_MS, DEFAULT_LIMITER_HIGH_WATER, DEFAULT_LIMITER_PACE_MARGIN } from '../defaults.js';

/** After a pause, once this many may run at once the ramp is over (the default in-flight cap per sync; see SyncLimiter #rampCap). */
const RAMP_OPEN = 256;

/** A destination's rate limit (limits.rate in destination.json). */
export type RateLimit = NonNullable<Limits['rate']>;

export interface SyncLimiterOptions {
  /** The sync's id, for errors and the admin page. */
  name: string;
  rate?: RateLimit;
  maxConcurrency?: number;
  /** Queued requests at which run() rejects with LimiterFullError. */
  highWater?: number;
  /** How often a rate-limited sync admits a group; the group size follows from the rate. */
  groupIntervalMs?: number;
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

/**
 * Requests counted within the last `windowMs`, at most `cap`. O(1) amortised per admission and per
 * answer. Records are kept in time order; `#base` is the absolute index of `#times[0]`, so a record
 * can be found again after the arrays are compacted.
 */
class SlidingWindow {
  readonly #times: number[] = [];
  readonly #counts: number[] = [];
  #base = 0;
  #head = 0;
  #inWindow = 0;
  /** Admissions closer than this share a record (stamped with the later time: errs on the safe side). */
  readonly #mergeMs: number;

  constructor(
    readonly windowMs: number,
    /** Changes with the daemons' share of the rate; what the window holds counts against the new cap. */
    public cap: number,
  ) {
    this.#mergeMs = windowMs / 1_000;
  }

  /** How long until `n` more fit; 0 if they fit now. */
  waitMs(n: number, now: number): number {
    const times = this.#times;
    const counts = this.#counts;
    const horizon = now - this.windowMs;
    while (this.#head < times.length && times[this.#head] <= horizon) {
      this.#inWindow -= counts[this.#head];
      this.#head++;
    }
    if (this.#head > 1_024 && this.#head * 2 > times.length) {
      times.splice(0, this.#head);
      counts.splice(0, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    let excess = this.#inWindow + n - this.cap;
    if (excess <= 0) return 0;
    for (let i = this.#head; i < times.length; i++) {
      excess -= counts[i];
      if (excess <= 0) return times[i] + this.windowMs - now;
    }
    return Infinity;
  }

  /** Counts `n` at `now` (never earlier than the last record); returns the record's absolute index. */
  record(n: number, now: number): number {
    const last = this.#times.length - 1;
    this.#inWindow += n;
    if (last >= this.#head && now - this.#times[last] < this.#mergeMs) {
      this.#times[last] = now;
      this.#counts[last] += n;
      return this.#base + last;
    }
    this.#times.push(now);
    this.#counts.push(n);
    return this.#base + last + 1;
  }

  /**
   * Moves one request from the record at absolute index `at` to `time` (≤ now; no earlier than the
   * last record, to keep the order), or counts it again if that record has already left the window.
   */
  move(at: number, time: number): void {
    const i = at - this.#base;
    if (i >= this.#head) {
      this.#counts[i]--;
      this.#inWindow--;
    }
    const last = this.#times.length - 1;
    this.record(1, last >= 0 && time < this.#times[last] ? this.#times[last] : time);
  }
}

/** Where a group of started requests is counted: its start stamp and its record in each window. */
export interface GroupMark {
  readonly startedBy: number;
  readonly records: readonly number[];
}

/**
 * Decides when a group of requests may start under a rate: pacing plus hard sliding windows.
 * - The period's window holds at most `requests` (the destination's own limit, exact).
 * - For periods over a second, each second holds at most requests/periodSeconds rounded down —
 *   unless rounding down would lose more than 1 % (slow rates such as 100/min), then rounded up.
 * - Pacing runs a margin (0.5 %) under that per-second cap, one request every `intervalMs`, in groups
 *   of `maxGroup`, so the one-second window has room for catching up and for answers that move.
 * - A request counts in the windows at its start while it runs. Once answered, it counts at its
 *   answer less the fastest answer of the previous second (at its answer when there was none):
 *   the destination saw it somewhere between start and answer, and a request held up on its way (a
 *   cold connection at start-up, a stalled process, a queue in the pool or at the destination)
 *   answers that much later than usual, so it keeps its place in "the last second" until about when
 *   it arrived. Latency every request has (a distant destination) moves nothing and costs no rate.
 */
export class RateShaper {
  /** Milliseconds per request at the paced rate. */
  intervalMs!: number;
  /** Largest group admitted at once: about one group interval's worth of requests. */
  maxGroup!: number;
  /** How many daemons share the rate (each paces at rate / share); 1 alone. */
  shareCount = 1;
  /**
   * Pacing credit, in milliseconds: how far behind its schedule pacing may fall and still make the
   * time up (the 1 ms rounding of setTimeout, a busy or descheduled process, a hard window holding a
   * group). Earned, never granted: only time between the schedule's slot and a later admission
   * counts, so a start or an idle spell brings one group, no burst. The hard windows still hold
   * whatever the credit, so lost time is made up as fast as their room allows (about 4 a second for
   * Braze) rather than at once.
   */
  readonly catchUpMs: number;
  readonly windows: readonly SlidingWindow[];
  /** Theoretical start time of the next request (GCRA). */
  #tat = -Infinity;
  /** Fastest answer (ms after its group's start stamp) in the current second of answers, and in the one before. */
  #fastest = Infinity;
  #fastestBefore = Infinity;
  #fastestSince = -Infinity;

  constructor(
    private readonly rate: RateLimit,
    private readonly groupIntervalMs: number = DEFAULT_LIMITER_GROUP_INTERVAL_MS,
    catchUpMs: number = DEFAULT_LIMITER_CATCH_UP_MS,
    private readonly paceMargin: number = DEFAULT_LIMITER_PACE_MARGIN,
  ) {
    const { requests, periodSeconds } = rate;
    if (!(Number.isFinite(requests) && requests >= 1)) throw new RangeError(`rate.requests must be at least 1, got ${requests}`);
    if (!(Number.isFinite(periodSeconds) && periodSeconds > 0)) throw new RangeError(`rate.periodSeconds must be above 0, got ${periodSeconds}`);
    const periodMs = periodSeconds * 1_000;
    const windows = [new SlidingWindow(periodMs, 0)];
    if (periodMs > 1_000 && (requests * 1_000) / periodMs >= 1) windows.push(new SlidingWindow(1_000, 0));
    this.windows = windows;
    this.catchUpMs = catchUpMs;
    this.share(1);
  }

  /**
   * Paces at rate / `count`: `count` daemons run this sync, each with its own limiter (see
   * RateShare). The caps shrink or grow in place, so what the windows already hold still counts.
   */
  share(count: number): void {
    this.shareCount = count;
    const requests = this.rate.requests / count;
    const periodMs = this.rate.periodSeconds * 1_000;
    const perSecond = (requests * 1_000) / periodMs;
    // At least one request a period, so a sync shared by more daemons than its rate still moves.
    this.windows[0].cap = Math.max(1, Math.floor(requests));
    // The margin is taken where a window of a second or less is what binds (not for 100/min, say,
    // whose per-second cap of 2 already leaves room).
    let paced = periodMs <= 1_000 ? perSecond * (1 - this.paceMargin) : perSecond;
    if (this.windows.length > 1) {
      const down = Math.floor(perSecond);
      const perSecondCap = down >= 1 && down / perSecond >= 0.99 ? down : Math.ceil(perSecond);
      this.windows[1].cap = perSecondCap;
      paced = Math.min(perSecond, perSecondCap * (1 - this.paceMargin));
    }
    this.intervalMs = 1_000 / paced;
    const smallestCap = Math.min(...this.windows.map((window) => window.cap));
    this.maxGroup = Math.max(1, Math.min(smallestCap, Math.floor(this.groupIntervalMs / this.intervalMs)));
  }

  /** When pacing lets the next request start (the schedule's next slot; -Infinity before the first). */
  get nextAt(): number {
    return this.#tat;
  }

  /** How long until a group of `n` (≤ maxGroup) may start; 0 if now. */
  waitMs(n: number, now: number): number {
    let wait = this.#tat - now;
    for (const window of this.windows) {
      const windowWait = window.waitMs(n, now);
      if (windowWait > wait) wait = windowWait;
    }
    return wait > 1e-6 ? wait : 0;
  }

  /**
   * Paces `n` requests admitted at `now` (after waitMs(n, now) answered 0). `dueAt` is the
   * schedule's slot when the limiter last had to wait (nextAt then); the schedule resumes from there
   * if that is at most catchUpMs ago, so the lost time is made up. Without `dueAt` (requests that
   * found the limiter idle) it resumes from now.
   */
  take(n: number, now: number, dueAt?: number): void {
    let from = now;
    if (dueAt !== undefined && dueAt < now) from = dueAt > now - this.catchUpMs ? dueAt : now - this.catchUpMs;
    this.#tat = (this.#tat > from ? this.#tat : from) + n * this.intervalMs;
  }

  /**
   * Counts `n` requests in the windows once they have started, at `startedBy` (a clock reading taken
   * after the last of them started). Stamping the latest start, not the admission time, keeps the
   * windows true for start times even if the process was descheduled while starting the group.
   * Returns the group's mark, for answered().
   */
  record(n: number, startedBy: number): GroupMark {
    const records = new Array<number>(this.windows.length);
    for (let w = 0; w < this.windows.length; w++) records[w] = this.windows[w].record(n, startedBy);
    return { startedBy, records };
  }

  /**
   * One request of the group `mark` was answered at `now` (a clock reading taken after it settled):
   * from now on it counts at now less the fastest answer of the previous second, if that is later
   * than its start (at now when there was no previous second of answers).
   */
  answered(mark: GroupMark, now: number): void {
    if (now - this.#fastestSince >= 1_000) {
      this.#fastestBefore = now - this.#fastestSince < 2_000 ? this.#fastest : Infinity;
      this.#fastest = Infinity;
      this.#fastestSince = now;
    }
    const latency = now - mark.startedBy;
    if (latency < this.#fastest) this.#fastest = latency;
    // No full second of answers to go by (the first second of answers, or after a quiet spell, when
    // connections are new and the process is busy starting up): the answer itself.
    const fastest = this.#fastestBefore;
    const reachedBy = fastest === Infinity ? now : now - fastest;
    if (reachedBy <= mark.startedBy) return;
    for (let w = 0; w < this.windows.length; w++) this.windows[w].move(mark.records[w], reachedBy);
  }
}

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
  /** FIFO: entries from #head on are waiting. */
  #queue: Array<Entry | undefined> = [];
  #head = 0;
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
   * RAMP_OPEN, when the cap is lifted. A destination that keeps answering 429 with Retry-After thus
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
      this.#head === this.#queue.length &&
      this.#pausedUntil === 0 &&
      this.#rampCap === undefined &&
      this.#shaper === undefined &&
      (this.#maxConcurrency === undefined || this.#running < this.#maxConcurrency)
    ) {
      return this.#runNow(task);
    }
    if (this.#queue.length - this.#head >= this.#highWater) return Promise.reject(new LimiterFullError(this.name, this.#highWater));
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
    if (this.#head < this.#queue.length) this.#wakeAt(until, until - ms);
  }

  /** Clock time until which nothing is admitted; 0 when not paused. */
  get pausedUntil(): number {
    if (this.#pausedUntil !== 0 && this.#clock() >= this.#pausedUntil) this.#pausedUntil = 0;
    return this.#pausedUntil;
  }

  state(): LimiterState {
    return {
      name: this.name,
      queued: this.#queue.length - this.#head,
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
    if (this.#head < this.#queue.length) this.#schedulePump();
  }

  /** Rejects the requests queued now with LimiterStoppedError (the circuit breaker opened); later ones queue as usual. */
  rejectQueued(): void {
    const waiting = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    const error = new LimiterStoppedError(this.name);
    for (let i = head; i < waiting.length; i++) waiting[i]!.reject(error);
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
      if (this.#rampCap! >= RAMP_OPEN) this.#rampCap = undefined;
    }
    if (this.#running === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if ((this.#maxConcurrency !== undefined || ramping) && this.#head < this.#queue.length && this.#timer === undefined) this.#schedulePump();
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
    while (!this.#stopped && this.#head < this.#queue.length) {
      const now = this.#clock();
      if (this.#pausedUntil !== 0) {
        this.#rateDueAt = undefined;
        if (now < this.#pausedUntil) return this.#wakeAt(this.#pausedUntil, now);
        this.#pausedUntil = 0;
      }
      let n = this.#queue.length - this.#head;
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
        const entry = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined;
        this.#start(entry, group);
        started++;
      }
      if (shaper !== undefined) group!.mark = shaper.record(started, this.#clock());
      if (this.#stopped) return;
      if (this.#head === this.#queue.length) {
        // Idle: the next request starts a fresh schedule, with no credit.
        this.#rateDueAt = undefined;
        this.#queue.length = 0;
        this.#head = 0;
      } else if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
  };
}
