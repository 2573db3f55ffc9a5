// A sync's circuit breaker. While a destination is down, JetStream already keeps the events: the
// right move is to stop spending attempts and wait in the stream, not to push every event through
// its whole retry schedule into the dead letters. Closed: requests flow and their results are
// counted over a sliding window; enough retryable failures open it. Open: the sync takes nothing;
// after a wait (doubling per failed probe, capped) it turns half-open. Half-open: one request
// probes; a success closes it, a retryable failure opens it again. A permanent failure (a 4xx) is
// the event's fault, not the destination's, and counts as an answer from a destination that is up.
import type { CircuitBreaker as CircuitBreakerSettings } from '../../schema/generated/destination.js';

export const CIRCUIT_STATES = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;
export type CircuitState = (typeof CIRCUIT_STATES)[keyof typeof CIRCUIT_STATES];

export type CircuitBreakerPolicy = Required<CircuitBreakerSettings>;

export const DEFAULT_CIRCUIT_BREAKER: Readonly<CircuitBreakerPolicy> = Object.freeze({
  enabled: true,
  failureRate: 0.7,
  minimumRequests: 20,
  windowSeconds: 60,
  probeIntervalMs: 5_000,
  maxProbeIntervalMs: 300_000,
  alertAfterSeconds: 3_600,
});

export function resolveCircuitBreaker(settings?: CircuitBreakerSettings): CircuitBreakerPolicy {
  return { ...DEFAULT_CIRCUIT_BREAKER, ...Object.fromEntries(Object.entries(settings ?? {}).filter(([, value]) => value !== undefined)) };
}

export interface CircuitListener {
  /** The breaker opened (or a probe failed and it opened again): stop taking messages, hand back what is not on the wire. */
  opened(details: { failureRate: number; requests: number; probeInMs: number; reopened: boolean }): void;
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
    if (this.#state === CIRCUIT_STATES.closed) return this.#window.add(now, false);
    if (this.#state === CIRCUIT_STATES.halfOpen) this.#close(now);
  }

  /** A retryable failure: the destination is down, slow or refusing. */
  failed(): void {
    if (!this.policy.enabled) return;
    const now = this.clock();
    if (this.#state === CIRCUIT_STATES.halfOpen) return this.#open(now, false);
    if (this.#state !== CIRCUIT_STATES.closed) return;
    this.#window.add(now, true);
    const { requests, failed } = this.#window.totals(now);
    if (requests >= this.policy.minimumRequests && failed / requests >= this.policy.failureRate) this.#open(now, true, failed / requests, requests);
  }

  /** Open longer than the policy's alertAfterSeconds (a metric raises an alert). */
  openTooLong(now = this.clock()): boolean {
    return this.#openedAt !== undefined && now - this.#openedAt > this.policy.alertAfterSeconds * 1_000;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(now: number, first: boolean, failureRate = 1, requests = 0): void {
    if (first) {
      this.#openedAt = now;
      this.#probeIntervalMs = this.policy.probeIntervalMs;
    } else {
      this.#probeIntervalMs = Math.min(this.policy.maxProbeIntervalMs, this.#probeIntervalMs * 2);
    }
    this.#state = CIRCUIT_STATES.open;
    this.#since = now;
    this.#probes = 0;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#halfOpen, this.#probeIntervalMs);
    this.#timer.unref();
    this.listener.opened({ failureRate, requests, probeInMs: this.#probeIntervalMs, reopened: !first });
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
