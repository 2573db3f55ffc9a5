// What the console shows, as JSON: the catalog (every loaded destination with its syncs) and, per
// sync, Amplitude's taxonomy, lag, latency quantiles, limiter, in-flight caps and recent failures.
// Built from the daemon's read model only (DaemonView) and the consumers' info from the server.
// Event values pass through as data; the page writes them as text, never as markup.
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { GitopsView } from '../gitops/index.js';
import { recentDeliveriesOf, syncHealth, type DaemonView, type HistoryMinute, type Histogram, type RecentDelivery, type SyncHealth } from '../telemetry/index.js';
import { DEFAULT_CONSOLE_RECENT_FAILURES } from '../defaults.js';
import { limitsText } from '../registry/index.js';


export interface ConsoleState {
  generatedAt: string;
  /** The daemon's time zone (the page shows times in the browser's and says which). */
  daemonTimeZone: string;
  startedAt: string;
  connected: boolean;
  ready: boolean;
  notReady?: string;
  reloads: Readonly<Record<string, number>>;
  lastReload?: { at: string; ok: boolean; rejected: readonly string[] };
  /** The config branch followed: the commit running, the last refused and why. */
  gitops?: GitopsView;
  destinations: ConsoleDestination[];
}

export interface ConsoleDestination {
  slug: string;
  name: string;
  category: string;
  summary: string;
  version: string;
  logo: string;
  /** The catalog's facts, from the function `destinations catalog` uses (registry/catalog-facts.ts). */
  facts: { limits: string; auth: string[]; hashing: string[]; identify: boolean; vendor?: { reference: string; read: string } };
  requests: { inFlight: number; max: number };
  syncs: ConsoleSync[];
}

export interface ConsoleSync {
  id: string;
  enabled: boolean;
  running: boolean;
  consumer?: string;
  parkedAt?: string;
  limiter?: { state: 'running' | 'paused'; pausedUntil?: string; queued: number; running: number; rate: { requests: number; periodSeconds: number } | null; share: number; maxConcurrency: number | null };
  inFlight: { sync: number; maxPerSync: number };
  /** The one health rule's verdict (sync-health.ts), as /destinations and `status` show it. */
  health: SyncHealth;
  circuit?: { state: 'closed' | 'open' | 'half_open'; since: string; openTooLong: boolean };
  /** The last hour, minute by minute, oldest first (the charts). */
  history: HistoryMinute[];
  /** Messages the consumer has not been given yet (num_pending), and given but not acked. */
  lag?: { pending: number; ackPending: number };
  latencySeconds?: { p50: number | null; p99: number | null; count: number };
  counts?: Record<string, unknown>;
  recentFailures: RecentDelivery[];
}

export function consoleState(view: DaemonView, consumers: ReadonlyMap<string, ConsumerInfo>, options: { maxInFlightPerSync: number; now?: number }): ConsoleState {
  const now = options.now ?? Date.now();
  return {
    generatedAt: new Date(now).toISOString(),
    daemonTimeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    startedAt: view.startedAt.toISOString(),
    connected: view.connected,
    ready: view.ready,
    notReady: view.notReady,
    reloads: { ...view.reloads },
    lastReload: view.lastReload && { at: view.lastReload.at.toISOString(), ok: view.lastReload.ok, rejected: [...view.lastReload.rejected] },
    gitops: view.gitops,
    destinations: view.destinations.map((destination) => ({
      slug: destination.slug,
      name: destination.name,
      category: destination.category,
      summary: destination.summary,
      version: destination.version,
      logo: `/logos/${encodeURIComponent(destination.slug)}.png`,
      facts: {
        limits: limitsText(destination.catalog.limits),
        auth: destination.catalog.auth,
        hashing: destination.catalog.hashing,
        identify: destination.catalog.identify,
        vendor: destination.catalog.vendor,
      },
      requests: { ...destination.requests },
      syncs: destination.syncs.map((sync): ConsoleSync => {
        const consumer = consumers.get(sync.id);
        const limiter = sync.limiter;
        const paused = limiter !== undefined && limiter.pausedUntil > now;
        return {
          id: sync.id,
          enabled: sync.enabled,
          running: sync.running,
          consumer: sync.consumer,
          parkedAt: sync.parkedAt,
          limiter: limiter && {
            state: paused ? 'paused' : 'running',
            pausedUntil: paused ? new Date(limiter.pausedUntil).toISOString() : undefined,
            queued: limiter.queued,
            running: limiter.running,
            rate: limiter.rate,
            share: limiter.share,
            maxConcurrency: limiter.maxConcurrency,
          },
          inFlight: { sync: sync.stats?.inFlight ?? 0, maxPerSync: options.maxInFlightPerSync },
          health: syncHealth(sync, now),
          circuit: sync.circuit && { state: sync.circuit.state, since: new Date(sync.circuit.since).toISOString(), openTooLong: sync.circuit.openTooLong },
          history: sync.stats ? recentDeliveriesOf(sync.stats).history.read(now) : [],
          lag: consumer && { pending: consumer.num_pending, ackPending: consumer.num_ack_pending },
          latencySeconds: sync.stats && { p50: quantile(sync.stats.latency, 0.5), p99: quantile(sync.stats.latency, 0.99), count: sync.stats.latency.count },
          counts: sync.stats?.toJSON(),
          recentFailures: sync.stats ? recentDeliveriesOf(sync.stats).list({ limit: DEFAULT_CONSOLE_RECENT_FAILURES, failedOnly: true }) : [],
        };
      }),
    })),
  };
}

/** The q-quantile as Prometheus' histogram_quantile estimates it: linear within the bucket that holds it. */
export function quantile(histogram: Histogram, q: number): number | null {
  if (histogram.count === 0) return null;
  const rank = q * histogram.count;
  let below = 0;
  for (let i = 0; i < histogram.counts.length; i++) {
    const inBucket = histogram.counts[i];
    if (below + inBucket >= rank && inBucket > 0) {
      // The +Inf bucket has no upper bound: its lower bound is the best answer there is.
      if (i === histogram.bounds.length) return histogram.bounds[i - 1] ?? null;
      const lower = i === 0 ? 0 : histogram.bounds[i - 1];
      return lower + (histogram.bounds[i] - lower) * ((rank - below) / inBucket);
    }
    below += inBucket;
  }
  return null;
}
