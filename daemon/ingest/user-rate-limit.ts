// Per key, events per second for each user_id and each device_id, averaged over 30 s as Amplitude
// measures them (EPUS, EPDS): a token bucket per (key, user) and (key, device) holding 30 s of the
// rate, refilled continuously. A request whose users or devices lack the tokens for their events
// is refused whole (429) and takes none; one that passes takes them all. The buckets are bounded:
// past DEFAULT_INGEST_RATE_BUCKETS the least recently touched are forgotten (which only forgives).
import { DEFAULT_INGEST_RATE_BUCKETS, DEFAULT_INGEST_RATE_WINDOW_SECONDS } from '../defaults.js';
import type { InboundEvent, Throttled } from './inbound-protocol.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class UserRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #maxBuckets: number;

  constructor(options: { now?: () => number; maxBuckets?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxBuckets = options.maxBuckets ?? DEFAULT_INGEST_RATE_BUCKETS;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** undefined: admitted, and the events' tokens are taken; else who is over the rate, and nothing is taken. */
  admit(keyName: string, eventsPerSecond: number, events: readonly InboundEvent[]): Throttled | undefined {
    const now = this.#now();
    const capacity = eventsPerSecond * DEFAULT_INGEST_RATE_WINDOW_SECONDS;
    const demand = new Map<string, { kind: 'user' | 'device'; id: string; count: number; indexes: number[] }>();
    events.forEach(({ event }, index) => {
      for (const [kind, id] of [['user', event.user_id], ['device', event.device_id]] as const) {
        if (id === undefined) continue;
        const name = `${keyName}\u0000${kind}\u0000${id}`;
        const entry = demand.get(name) ?? { kind, id, count: 0, indexes: [] };
        entry.count += 1;
        entry.indexes.push(index);
        demand.set(name, entry);
      }
    });
    const throttled: Throttled = { epsThreshold: eventsPerSecond, users: {}, devices: {}, events: [] };
    const throttledEvents = new Set<number>();
    const buckets = new Map<string, Bucket>();
    for (const [name, wanted] of demand) {
      const bucket = this.#refilled(name, now, capacity, eventsPerSecond);
      buckets.set(name, bucket);
      if (bucket.tokens >= wanted.count) continue;
      // What its rate would be with this request: the window's use plus these events, over the window.
      const rate = Math.ceil((capacity - bucket.tokens + wanted.count) / DEFAULT_INGEST_RATE_WINDOW_SECONDS);
      (wanted.kind === 'user' ? throttled.users : throttled.devices)[wanted.id] = rate;
      for (const index of wanted.indexes) throttledEvents.add(index);
    }
    if (throttledEvents.size > 0) {
      throttled.events = [...throttledEvents].sort((a, b) => a - b);
      return throttled;
    }
    for (const [name, wanted] of demand) {
      const bucket = buckets.get(name)!;
      bucket.tokens -= wanted.count;
      this.#buckets.delete(name);
      this.#buckets.set(name, bucket);
    }
    this.#evict();
    return undefined;
  }

  #refilled(name: string, now: number, capacity: number, perSecond: number): Bucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) return { tokens: capacity, at: now };
    return { tokens: Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond), at: now };
  }

  #evict(): void {
    for (const name of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxBuckets) return;
      this.#buckets.delete(name);
    }
  }
}
