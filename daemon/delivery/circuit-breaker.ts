// A sync's circuit breaker. While a destination is down, JetStream already keeps the events: the
// right move is to stop spending attempts and wait in the stream, not to push every event through
// its whole retry schedule into the dead letters. Closed: requests flow and their results are
// counted; three rules open it (OPENED_BY). Open: the sync takes nothing; after a wait (doubling
// per failed probe, capped) it turns half-open. Half-open: one request probes; a success closes
// it, a retryable failure opens it again. A permanent failure (a 4xx) is the event's fault, not the
// destination's, and counts as an answer from a destination that is up.
import type { CircuitBreaker as CircuitBreakerSettings } from '../../schema/generated/destination.js';
import { DEFAULT_CIRCUIT_BREAKER } from '../defaults.js';
import { DEFAULT_RETRY_POLICY, retryScheduleSpanMs, type RetryPolicy } from './backoff.js';

export const CIRCUIT_STATES = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;
export type CircuitState = (typeof CIRCUIT_STATES)[keyof typeof CIRCUIT_STATES];

/**
 * What opened it. The failure rate over the window judges a destination that fails a share of its
 * requests; a window full of earlier successes makes it slow to see an outage, so a run of failures
 * in a row (no answer between) opens it too: `consecutiveFailures` of them, or, whatever that
 * setting, a run as long as an event's whole retry schedule (as many failures as an event has
 * attempts, over at least the schedule's shortest span), the last moment before a destination that
 * fails everything would dead-letter an event for running out of attempts. Half-open, a failed probe opens it again.
 */
export const OPENED_BY = { failureRate: 'failure_rate', consecutiveFailures: 'consecutive_failures', retrySchedule: 'retry_schedule', failedProbe: 'failed_probe' } as const;
export type OpenedBy = (typeof OPENED_BY)[keyof typeof OPENED_BY];

/** The settings with every field set, and the retry schedule the breaker must open within. */
export type CircuitBreakerPolicy = Required<CircuitBreakerSettings> & {
  retrySchedule: { maxAttempts: number; spanMs: number };
};

export function resolveCircuitBreaker(settings?: CircuitBreakerSettings, retry: RetryPolicy = DEFAULT_RETRY_POLICY): CircuitBreakerPolicy {
  const set = Object.fromEntries(Object.entries(settings ?? {}).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_CIRCUIT_BREAKER, ...set, retrySchedule: { maxAttempts: retry.maxAttempts, spanMs: retryScheduleSpanMs(retry) } };
}

/** Why it opened, for the listener's log line. */
export interface CircuitOpening {
  openedBy: OpenedBy;
  /** Share of the window's requests that failed. */
  failureRate: number;
  /** Requests in the window. */
  requests: number;
  /** Retryable failures in a row when it opened (0 for a failed probe). */
  failuresInARow: number;
  probeInMs: number;
  reopened: boolean;
}

export interface CircuitListener {
  /** The breaker opened (or a probe failed and it opened again): stop taking messages, hand back what is not on the wire. */
  opened(details: CircuitOpening): void;
  /** Time to probe: take one message. */
  halfOpened(): void;
  /** A probe succeeded: take messages again, at the paced rate. */
  closed(openForMs: number): void;
}

/** Outcomes per second of the window: a ring, so counting stays O(1) per request. */
class Window {
  readonly #ok: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #second: Float64Array;

  constructor(readonly seconds: number) {
    this.#ok = new Uint32Array(seconds);
    this.#failed = new Uint32Array(seconds);
    this.#second = new Float64Array(seconds).fill(-1);
  }

  add(now: number, failed: boolean): void {
    const second = Math.floor(now / 1_000);
    const slot = second % this.seconds;
    if (this.#second[slot] !== second) {
      this.#second[slot] = second;
      this.#ok[slot] = 0;
      this.#failed[slot] = 0;
    }
    if (failed) this.#failed[slot] += 1;
    else this.#ok[slot] += 1;
  }

  totals(now: number): { requests: number; failed: number } {
    const oldest = Math.floor(now / 1_000) - this.seconds + 1;
    let requests = 0;
    let failed = 0;
    for (let slot = 0; slot < this.seconds; slot++) {
      if (this.#second[slot] < oldest) continue;
      requests += this.#ok[slot] + this.#failed[slot];
      failed += this.#failed[slot];
    }
    return { requests, failed };
  }

  clear(): void {
    this.#second.fill(-1);
  }
}

export class CircuitBreaker {
  #state: CircuitState = CIRCUIT_STATES.closed;
  #since: number;
  #openedAt: number | undefined;
  #probeIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #probes = 0;
  readonly #window: Window;
  /** Retryable failures since the last answer, and when the first of them came (epoch ms). */
  #run = { failures: 0, since: 0 };

  constructor(
    readonly policy: CircuitBreakerPolicy,
    private readonly listener: CircuitListener,
    private readonly clock: () => number = Date.now,
  ) {
    this.#window = new Window(policy.windowSeconds);
    this.#probeIntervalMs = policy.probeIntervalMs;
    this.#since = clock();
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** When the current state began (epoch ms). */
  get since(): number {
    return this.#since;
  }

  /** While open or half-open: since when the destination has been held off (epoch ms). */
  get openedAt(): number | undefined {
    return this.#openedAt;
  }

  /** While it holds the sync off: how long until the next probe (what goes back to the stream waits that long); else undefined. */
  get holdMs(): number | undefined {
    if (this.#state === CIRCUIT_STATES.closed) return undefined;
    if (this.#state === CIRCUIT_STATES.halfOpen) return this.#probeIntervalMs;
    return Math.max(0, this.#since + this.#probeIntervalMs - this.clock());
  }

  /** Probes sent since it last opened. */
  get probes(): number {
    return this.#probes;
  }

  /** Requests may start: closed, or half-open with its one probe not yet sent. */
  get admits(): boolean {
    return this.#state === CIRCUIT_STATES.closed || (this.#state === CIRCUIT_STATES.halfOpen && this.#probes === 0);
  }

  /** A request goes out (counted as the probe while half-open). */
  sending(): void {
    if (this.#state === CIRCUIT_STATES.halfOpen) this.#probes += 1;
  }

  /** The destination answered, or a permanent failure (the event's fault): it is up. */
  succeeded(): void {
    if (!this.policy.enabled) return;
    const now = this.clock();
    if (this.#state === CIRCUIT_STATES.closed) {
      this.#run.failures = 0;
      return this.#window.add(now, false);
    }
    if (this.#state === CIRCUIT_STATES.halfOpen) this.#close(now);
  }

  /** A retryable failure: the destination is down, slow or refusing. */
  failed(): void {
    if (!this.policy.enabled) return;
    const now = this.clock();
    if (this.#state === CIRCUIT_STATES.halfOpen) return this.#open(now, false, OPENED_BY.failedProbe);
    if (this.#state !== CIRCUIT_STATES.closed) return;
    this.#window.add(now, true);
    if (this.#run.failures === 0) this.#run.since = now;
    this.#run.failures += 1;
    const openedBy = this.#tripped(now);
    if (openedBy !== undefined) this.#open(now, true, openedBy);
  }

  /** Which rule, if any, says the destination is down now. */
  #tripped(now: number): OpenedBy | undefined {
    const { consecutiveFailures, retrySchedule, minimumRequests, failureRate } = this.policy;
    const run = this.#run;
    if (run.failures >= consecutiveFailures) return OPENED_BY.consecutiveFailures;
    // With one attempt there are no retries to save, and one failure says nothing of the destination.
    if (retrySchedule.maxAttempts > 1 && run.failures >= retrySchedule.maxAttempts && now - run.since >= retrySchedule.spanMs) return OPENED_BY.retrySchedule;
    const { requests, failed } = this.#window.totals(now);
    if (requests >= minimumRequests && failed / requests >= failureRate) return OPENED_BY.failureRate;
    return undefined;
  }

  /** Open longer than the policy's alertAfterSeconds (a metric raises an alert). */
  openTooLong(now = this.clock()): boolean {
    return this.#openedAt !== undefined && now - this.#openedAt > this.policy.alertAfterSeconds * 1_000;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(now: number, first: boolean, openedBy: OpenedBy): void {
    const { requests, failed } = first ? this.#window.totals(now) : { requests: 0, failed: 0 };
    const failuresInARow = first ? this.#run.failures : 0;
    if (first) {
      this.#openedAt = now;
      this.#probeIntervalMs = this.policy.probeIntervalMs;
    } else {
      this.#probeIntervalMs = Math.min(this.policy.maxProbeIntervalMs, this.#probeIntervalMs * 2);
    }
    this.#state = CIRCUIT_STATES.open;
    this.#since = now;
    this.#probes = 0;
    this.#run.failures = 0;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#halfOpen, this.#probeIntervalMs);
    this.#timer.unref();
    const failureRate = requests === 0 ? 1 : failed / requests;
    this.listener.opened({ openedBy, failureRate, requests, failuresInARow, probeInMs: this.#probeIntervalMs, reopened: !first });
  }

  readonly #halfOpen = (): void => {
    this.#timer = undefined;
    this.#state = CIRCUIT_STATES.halfOpen;
    this.#since = this.clock();
    this.#probes = 0;
    this.listener.halfOpened();
  };

  #close(now: number): void {
    const openFor = now - (this.#openedAt ?? now);
    this.#state = CIRCUIT_STATES.closed;
    this.#since = now;
    this.#openedAt = undefined;
    this.#probes = 0;
    this.#window.clear();
    this.listener.closed(openFor);
  }
}
