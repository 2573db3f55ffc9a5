// Shaping a sync's requests to its destination's rate: pacing (GCRA) under hard sliding windows,
// kept in O(1) pieces that read a clock rather than count timer ticks (why, and why not Bottleneck:
// see sync-limiter.ts and docs/decisions.md). SyncLimiter asks it when a group may start.
import type { Limits } from '../../schema/generated/destination.js';
import { DEFAULT_LIMITER_CATCH_UP_MS, DEFAULT_LIMITER_GROUP_INTERVAL_MS, DEFAULT_LIMITER_PACE_MARGIN } from '../defaults.js';
import { Fifo } from './fifo.js';

/** A destination's rate limit (limits.rate in destination.json). */
export type RateLimit = NonNullable<Limits['rate']>;

/**
 * Requests counted within the last `windowMs`, at most `cap`. O(1) amortised per admission and per
 * answer. Records are kept in time order in a Fifo, whose absolute indexes find a record again after
 * the queue is compacted.
 */
class SlidingWindow {
  /** Records in time order: admissions closer than #mergeMs share one. */
  readonly #records = new Fifo<{ time: number; count: number }>();
  #inWindow = 0;
  /** The time of the newest record, also once it has left the window (a moved request is never counted before it). */
  #lastTime = -Infinity;
  /** Absolute index of the newest record. */
  #lastIndex = -1;
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
    const records = this.#records;
    const horizon = now - this.windowMs;
    for (let first = records.peek(); first !== undefined && first.time <= horizon; first = records.peek()) {
      this.#inWindow -= first.count;
      records.shift();
    }
    let excess = this.#inWindow + n - this.cap;
    if (excess <= 0) return 0;
    for (let i = 0, record = records.peek(0); record !== undefined; record = records.peek(++i)) {
      excess -= record.count;
      if (excess <= 0) return record.time + this.windowMs - now;
    }
    return Infinity;
  }

  /** Counts `n` at `now` (never earlier than the last record); returns the record's absolute index. */
  record(n: number, now: number): number {
    this.#inWindow += n;
    const last = this.#records.last();
    if (last !== undefined && now - last.time < this.#mergeMs) {
      last.time = now;
      last.count += n;
      this.#lastTime = now;
      return this.#lastIndex;
    }
    this.#lastTime = now;
    this.#lastIndex = this.#records.push({ time: now, count: n });
    return this.#lastIndex;
  }

  /**
   * Moves one request from the record at absolute index `at` to `time` (≤ now; no earlier than the
   * last record, to keep the order), or counts it again if that record has already left the window.
   */
  move(at: number, time: number): void {
    const record = this.#records.at(at);
    if (record !== undefined) {
      record.count--;
      this.#inWindow--;
    }
    this.record(1, time < this.#lastTime ? this.#lastTime : time);
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
