// The one read model of a running daemon: per destination and sync, its state, counts, limiter and
// in-flight caps, built by the daemon in one place. /destinations, /metrics and `destinations status`
// (through /destinations) all show this; none of them reaches into the consumers.
import type { ConsumerInfo, StreamInfo } from '@nats-io/jetstream';
import type { GitopsView } from '../gitops/index.js';
import type { LimiterState } from '../limit/index.js';
import type { CatalogFacts } from '../registry/index.js';
import type { SyncStats } from './sync-stats.js';

export interface DaemonView {
  startedAt: Date;
  /** Connected to NATS. */
  connected: boolean;
  /** Connected, and every enabled sync is consuming. */
  ready: boolean;
  /** Why not, when not ready. */
  notReady?: string;
  /** Reloads by result. */
  reloads: Readonly<Record<'ok' | 'rejected' | 'failed', number>>;
  lastReload?: { at: Date; ok: boolean; rejected: readonly string[] };
  /** Syncs on one stream share decoded events: lookups answered (hits) and decodes made (misses). */
  sharedDecodes?: Readonly<{ hits: number; misses: number }>;
  /** The config branch followed, when one is: the commit applied, the last refused and why. */
  gitops?: GitopsView;
  destinations: DestinationView[];
}

export interface DestinationView {
  slug: string;
  name: string;
  /** Catalog fields from the definition (the console's catalog). */
  category: string;
  summary: string;
  /** The logo's path (a PNG checked when the folder loaded). */
  logoFile: string;
  /** What the catalog says of it (registry/catalog-facts.ts, as `destinations catalog` prints it): limits, auth, hashing, vendor reference. */
  catalog: CatalogFacts;
  version: string;
  /** Requests in flight for the destination, all its syncs together, and its cap. */
  requests: { inFlight: number; max: number };
  syncs: SyncView[];
}

export interface SyncView {
  id: string;
  enabled: boolean;
  /** A consumer runs this version of the sync. */
  running: boolean;
  consumer?: string;
  /** The hosts (host or host:port) its requests go to, where its parameters fix them. */
  egressHosts: string[];
  /** Set while the consumer takes no message because a cap is full (hand: stream.maxAckPending messages in hand). */
  parkedAt?: 'sync' | 'destination' | 'circuit' | 'hand';
  limiter?: LimiterState;
  /** Its circuit breaker: closed, open or half_open, since when, and since when it holds the sync off. */
  circuit?: { state: 'closed' | 'open' | 'half_open'; since: number; openedAt?: number; openTooLong: boolean };
  /** Since when its dead letters cannot be written, while they cannot. */
  deadLettersFailingSince?: Date;
  /** The sync's counters (kept across reloads; absent before it first ran). */
  stats?: SyncStats;
}

/** What the views read from: the daemon. */
export interface DaemonViewSource {
  view(): DaemonView;
  /** The sync's durable consumer as the server sees it (its lag); undefined when it does not run. */
  consumerInfo(syncId: string): Promise<ConsumerInfo | undefined>;
  /** The events stream as the server sees it: its limits, size and first sequence. */
  eventStreamInfo?(): Promise<StreamInfo | undefined>;
  /** The stream's first sequence is `firstSeq` now: the sync counts what left the stream before it settled it. */
  countAgedOut?(syncId: string, consumer: ConsumerInfo, firstSeq: number): void;
  /** When the events stream's message `seq` was published; undefined when the stream no longer has it. */
  eventPublishedAt?(seq: number): Promise<Date | undefined>;
}
