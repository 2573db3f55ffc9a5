// One sync's last hour, minute by minute: events delivered, requests failed, events dead-lettered
// and deferred, and a latency histogram per minute (so each minute has its own p50 and p99). A fixed
// ring of minute slots written in place: recording allocates nothing, and the memory is fixed when
// the sync's stats are made (DEFAULT_HISTORY_MINUTES + 1 slots of 4 counters and one histogram row:
// with the 20 latency buckets, 61 × 24 × 4 bytes ≈ 5.9 KB per sync). A slot whose minute has
// passed out of the window is cleared when its minute comes round again, so a quiet sync shows zeros.
import { DEFAULT_HISTORY_MINUTES, DEFAULT_LATENCY_BUCKETS_SECONDS } from '../defaults.js';

const MINUTE_MS = 60_000;

/** One minute as read (made only when read). */
export interface HistoryMinute {
  /** ISO time of the minute's start. */
  at: string;
  delivered: number;
  /** Requests that got no 2xx (each in-process retry's failure counts). */
  failed: number;
  deadLettered: number;
  deferred: number;
  /** Publish to delivered, estimated from the minute's histogram; null when nothing was delivered. */
  latencyP50Seconds: number | null;
  latencyP99Seconds: number | null;
}

export interface HistoryTotals {
  delivered: number;
  failed: number;
  deadLettered: number;
  deferred: number;
}

export class SyncHistory {
  readonly minutes: number;
  readonly bounds: readonly number[];
  readonly #slots: number;
  readonly #minuteOf: Float64Array;
  readonly #delivered: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #dead: Uint32Array;
  readonly #deferred: Uint32Array;
  /** Row-major: slot × (bounds + 1), the last column being +Inf. */
  readonly #latency: Uint32Array;

  constructor(minutes = DEFAULT_HISTORY_MINUTES, bounds: readonly number[] = DEFAULT_LATENCY_BUCKETS_SECONDS) {
    this.minutes = minutes;
    this.bounds = bounds;
    // The current minute and the whole `minutes` before it.
    this.#slots = minutes + 1;
    this.#minuteOf = new Float64Array(this.#slots).fill(-1);
    this.#delivered = new Uint32Array(this.#slots);
    this.#failed = new Uint32Array(this.#slots);
    this.#dead = new Uint32Array(this.#slots);
    this.#deferred = new Uint32Array(this.#slots);
    this.#latency = new Uint32Array(this.#slots * (bounds.length + 1));
  }

  /** An event delivered `latencySeconds` after it was published. */
  delivered(latencySeconds: number, now = Date.now()): void {
    const slot = this.#slot(now);
    this.#delivered[slot] += 1;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && latencySeconds > bounds[i]) i++;
    this.#latency[slot * (bounds.length + 1) + i] += 1;
  }

  failedRequests(count: number, now = Date.now()): void {
    if (count > 0) this.#failed[this.#slot(now)] += count;
  }

  deadLettered(events: number, now = Date.now()): void {
    this.#dead[this.#slot(now)] += events;
  }

  deferred(events: number, now = Date.now()): void {
    this.#deferred[this.#slot(now)] += events;
  }

  /** The last `minutes` minutes up to now's, oldest first; minutes with nothing are zeros. */
  read(now = Date.now(), minutes = this.minutes): HistoryMinute[] {
    const current = Math.floor(now / MINUTE_MS);
    const result: HistoryMinute[] = [];
    for (let minute = current - Math.min(minutes, this.minutes); minute <= current; minute++) {
      const slot = minute % this.#slots;
      const held = this.#minuteOf[slot] === minute;
      result.push({
        at: new Date(minute * MINUTE_MS).toISOString(),
        delivered: held ? this.#delivered[slot] : 0,
        failed: held ? this.#failed[slot] : 0,
        deadLettered: held ? this.#dead[slot] : 0,
        deferred: held ? this.#deferred[slot] : 0,
        latencyP50Seconds: held ? this.#quantile(slot, 0.5) : null,
        latencyP99Seconds: held ? this.#quantile(slot, 0.99) : null,
      });
    }
    return result;
  }

  /** Sums over the last `minutes` minutes and now's. */
  totals(now = Date.now(), minutes: number): HistoryTotals {
    const current = Math.floor(now / MINUTE_MS);
    const totals = { delivered: 0, failed: 0, deadLettered: 0, deferred: 0 };
    for (let minute = current - Math.min(minutes, this.minutes); minute <= current; minute++) {
      const slot = minute % this.#slots;
      if (this.#minuteOf[slot] !== minute) continue;
      totals.delivered += this.#delivered[slot];
      totals.failed += this.#failed[slot];
      totals.deadLettered += this.#dead[slot];
      totals.deferred += this.#deferred[slot];
    }
    return totals;
  }

  /** The slot of now's minute, cleared first if it still holds a minute that has left the window. */
  #slot(now: number): number {
    const minute = Math.floor(now / MINUTE_MS);
    const slot = minute % this.#slots;
    if (this.#minuteOf[slot] !== minute) {
      this.#minuteOf[slot] = minute;
      this.#delivered[slot] = 0;
      this.#failed[slot] = 0;
      this.#dead[slot] = 0;
      this.#deferred[slot] = 0;
      const width = this.bounds.length + 1;
      this.#latency.fill(0, slot * width, slot * width + width);
    }
    return slot;
  }

  /** As Prometheus' histogram_quantile estimates it: linear within the bucket that holds the rank. */
  #quantile(slot: number, q: number): number | null {
    const width = this.bounds.length + 1;
    const start = slot * width;
    let count = 0;
    for (let i = 0; i < width; i++) count += this.#latency[start + i];
    if (count === 0) return null;
    const rank = q * count;
    let below = 0;
    for (let i = 0; i < width; i++) {
      const inBucket = this.#latency[start + i];
      if (below + inBucket >= rank && inBucket > 0) {
        if (i === this.bounds.length) return this.bounds[i - 1] ?? null;
        const lower = i === 0 ? 0 : this.bounds[i - 1];
        return lower + (this.bounds[i] - lower) * ((rank - below) / inBucket);
      }
      below += inBucket;
    }
    return null;
  }
}
