// The ingest's Prometheus metrics, on its own /metrics: requests by protocol and status, events
// stored and rejected (by reason), bytes received, and the time from a request's arrival to
// JetStream's acknowledgement of all its events. Plain counters, so the per-request cost is a few
// map lookups.
import { DEFAULT_INGEST_ACK_LATENCY_BUCKETS_SECONDS } from '../defaults.js';
import { Exposition, Histogram } from '../telemetry/index.js';
import type { IngestRejection } from './ingest-rejections.js';

type Counter = Map<string, { labels: Record<string, string>; value: number }>;

function add(counter: Counter, labels: Record<string, string>, by = 1): void {
  const name = Object.values(labels).join('\u0000');
  const entry = counter.get(name);
  if (entry) entry.value += by;
  else counter.set(name, { labels, value: by });
}

export class IngestMetrics {
  readonly #requests: Counter = new Map();
  readonly #events: Counter = new Map();
  readonly #duplicates: Counter = new Map();
  readonly #rejectedRequests: Counter = new Map();
  readonly #rejectedEvents: Counter = new Map();
  readonly #bytes: Counter = new Map();
  readonly #ackLatency = new Map<string, Histogram>();

  request(protocol: string, status: number, wireBytes: number): void {
    add(this.#requests, { protocol, status: String(status) });
    if (wireBytes > 0) add(this.#bytes, { protocol }, wireBytes);
  }

  stored(protocol: string, key: string, events: number, duplicates: number, seconds: number): void {
    add(this.#events, { protocol, key }, events - duplicates);
    if (duplicates > 0) add(this.#duplicates, { protocol, key }, duplicates);
    let histogram = this.#ackLatency.get(protocol);
    if (!histogram) this.#ackLatency.set(protocol, (histogram = new Histogram(DEFAULT_INGEST_ACK_LATENCY_BUCKETS_SECONDS)));
    histogram.observe(seconds);
  }

  rejected(protocol: string, reason: IngestRejection, events: number): void {
    add(this.#rejectedRequests, { protocol, reason });
    if (events > 0) add(this.#rejectedEvents, { protocol, reason }, events);
  }

  /** A counter summed over its samples whose labels include `labels` (what tests and the bench read). */
  count(what: 'requests' | 'events' | 'rejectedRequests' | 'rejectedEvents', labels: Record<string, string>): number {
    const counter = { requests: this.#requests, events: this.#events, rejectedRequests: this.#rejectedRequests, rejectedEvents: this.#rejectedEvents }[what];
    let total = 0;
    for (const entry of counter.values()) if (Object.entries(labels).every(([name, value]) => entry.labels[name] === value)) total += entry.value;
    return total;
  }

  text(natsConnected: boolean): string {
    const exposition = new Exposition();
    const family = (counter: Counter, name: string, help: string) => {
      exposition.family(name, 'counter', help);
      for (const entry of counter.values()) exposition.sample(entry.labels, entry.value);
    };
    family(this.#requests, 'destinations_ingest_requests_total', 'Requests answered, by protocol and HTTP status.');
    family(this.#events, 'destinations_ingest_events_total', 'Events JetStream acknowledged as stored, by protocol and key name.');
    family(this.#duplicates, 'destinations_ingest_duplicate_events_total', 'Events JetStream acknowledged as duplicates of one stored within its duplicate window (an SDK retry), by protocol and key name.');
    family(this.#rejectedRequests, 'destinations_ingest_rejected_requests_total', 'Requests refused, by protocol and reason (too_large, invalid, unauthorized, throttled, unavailable, not_found).');
    family(this.#rejectedEvents, 'destinations_ingest_rejected_events_total', 'Events in refused requests, by protocol and reason.');
    family(this.#bytes, 'destinations_ingest_received_bytes_total', 'Request body bytes received as sent (gzip counted compressed), by protocol.');
    exposition.family('destinations_ingest_ack_latency_seconds', 'histogram', 'From a request’s arrival to JetStream’s acknowledgement of all its events, by protocol.');
    for (const [protocol, histogram] of this.#ackLatency) exposition.histogram({ protocol }, histogram);
    exposition.family('destinations_ingest_nats_connected', 'gauge', '1 while the ingest is connected to NATS (it is ready then), else 0.');
    exposition.sample({}, natsConnected ? 1 : 0);
    return exposition.text();
  }
}
