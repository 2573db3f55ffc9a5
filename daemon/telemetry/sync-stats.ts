// Counters of one sync, in Amplitude's delivery taxonomy. The consumer writes them; metrics and the admin report read them.
// The daemon keeps one per sync id, so they outlive a runner replaced on reload (and its tail).
import { DEFAULT_LATENCY_BUCKETS_SECONDS, DEFAULT_LIMITER_WAIT_BUCKETS_SECONDS } from '../defaults.js';
import type { DeadLetterReason, FailureReason, FilterReason } from '../reasons.js';
import { Histogram } from './histogram.js';

export class SyncStats {
  received = 0;
  deliveredFirstAttempt = 0;
  deliveredAfterRetry = 0;
  filtered = 0;
  /** Filtered for a reason other than the sync's filter (so far: "unchanged", an identify that changes nothing); also in `filtered`. */
  filteredByReason = new Map<FilterReason, number>();
  /** Permanent failures, dead-lettered (http_4xx, render_failed, invalid_event, …) by reason. */
  discarded = new Map<DeadLetterReason, number>();
  /** Retries used up, dead-lettered as retries_exhausted. */
  expired = 0;
  /** Handed back to JetStream to retry later. */
  deferred = 0;
  requests = 0;
  responsesByClass = new Map<string, number>();
  /** Requests that failed (no 2xx), by classification: http_5xx, http_429, timeout, network, tls, http_4xx, … */
  failuresByReason = new Map<FailureReason, number>();
  /** Requests (deliveries) started and not yet settled: read from where they are counted (the destination's in-flight gate). */
  get inFlight(): number {
    return this.#inFlight();
  }
  #inFlight: () => number = () => 0;
  /** Requests waiting in process for their retry (a gauge). */
  waiting = 0;
  /** Events whose request was retried in process (counted at each retry). */
  retriedInProcess = 0;
  deadLetterFailures = 0;
  /** ordering "user": events held in hand behind an earlier event of their user (a gauge). */
  heldByUserBarrier = 0;
  /** ordering "user": users with events held (a gauge). */
  usersHeldByBarrier = 0;
  /** ordering "user": events handed back to the stream unsent because their user's barrier was full. */
  returnedByUserBarrier = 0;
  /** Times a consumer parked at a full cap for a heartbeat handed back its parked and buffered messages (no attempt counted) and pulled afresh. */
  bufferRefreshes = 0;
  /** Events the stream dropped (max_age, max_bytes, max_msgs) before the sync settled them, as seen at a metrics scrape (see SyncRunner.countAgedOut). */
  agedOut = 0;
  /** Seconds from publish (JetStream's timestamp) to delivered, per event. */
  readonly latency = new Histogram(DEFAULT_LATENCY_BUCKETS_SECONDS);
  /** Seconds a request waited in the limiter's queue before it was admitted. */
  readonly limiterWait = new Histogram(DEFAULT_LIMITER_WAIT_BUCKETS_SECONDS);

  /** Where the sync's requests in flight are counted (each runner of the sync tells; they count at the same place). */
  readInFlightFrom(count: () => number): void {
    this.#inFlight = count;
  }

  countFiltered(reason: FilterReason): void {
    this.filtered += 1;
    this.filteredByReason.set(reason, (this.filteredByReason.get(reason) ?? 0) + 1);
  }

  countDiscarded(reason: DeadLetterReason, events: number): void {
    this.discarded.set(reason, (this.discarded.get(reason) ?? 0) + events);
  }

  countFailure(reason: FailureReason): void {
    this.failuresByReason.set(reason, (this.failuresByReason.get(reason) ?? 0) + 1);
  }

  countResponse(status: number | undefined): void {
    const key = status === undefined ? 'error' : `${Math.floor(status / 100)}xx`;
    this.responsesByClass.set(key, (this.responsesByClass.get(key) ?? 0) + 1);
  }

  toJSON() {
    return {
      received: this.received,
      deliveredFirstAttempt: this.deliveredFirstAttempt,
      deliveredAfterRetry: this.deliveredAfterRetry,
      filtered: this.filtered,
      filteredByReason: Object.fromEntries(this.filteredByReason),
      discarded: Object.fromEntries(this.discarded),
      expired: this.expired,
      deferred: this.deferred,
      requests: this.requests,
      responses: Object.fromEntries(this.responsesByClass),
      failures: Object.fromEntries(this.failuresByReason),
      inFlight: this.inFlight,
      waiting: this.waiting,
      retriedInProcess: this.retriedInProcess,
      heldByUserBarrier: this.heldByUserBarrier,
      usersHeldByBarrier: this.usersHeldByBarrier,
      returnedByUserBarrier: this.returnedByUserBarrier,
    };
  }
}
