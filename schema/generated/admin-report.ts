/* eslint-disable */
/**
 * Generated from schema/admin-report.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

/**
 * What a running daemon reports at GET /destinations on its admin port, and what `destinations status` reads: every loaded destination and sync with its state, counts, limiter and in-flight caps.
 */
export interface AdminReport {
  /**
   * ISO 8601 time.
   */
  startedAt: string;
  /**
   * Connected to NATS.
   */
  connected: boolean;
  /**
   * Connected, and every enabled sync is consuming (what /readyz answers).
   */
  ready: boolean;
  /**
   * Why the daemon is not ready, when it is not (NATS disconnected since when, a sync not consuming, starting, stopping).
   */
  notReady?: string;
  lastReload?: {
    at: string;
    ok: boolean;
    /**
     * Slugs of folders that kept their last good version.
     */
    rejected: string[];
  };
  gitops?: GitopsReport;
  destinations: DestinationReport[];
}
/**
 * The branch of the config repository the daemon follows (gitops in its config): the commit it runs, and the newest commit it refused and why.
 */
export interface GitopsReport {
  /**
   * The repository, any credentials in its URL replaced by [redacted].
   */
  repository: string;
  branch: string;
  /**
   * The repository's folder holding the destination folders.
   */
  path: string;
  intervalMs: number;
  /**
   * The commit running: validated, in place and reloaded (after a restart, the one this host applied last).
   */
  applied?: {
    commit: string;
    /**
     * When it was applied (ISO 8601).
     */
    at: string;
  };
  /**
   * The branch's head, when it failed validation and was not applied (cleared once a later commit is applied).
   */
  refused?: {
    commit: string;
    at: string;
    /**
     * One line per problem (file, place, fix).
     */
    why: string[];
  };
  /**
   * Commits refused since the daemon started.
   */
  refusedCount: number;
  /**
   * Why the last fetch failed, while it fails (the last good commit keeps running).
   */
  fetchError?: string;
  /**
   * When the last fetch ended, good or not (ISO 8601).
   */
  fetchedAt?: string;
}
export interface DestinationReport {
  slug: string;
  name: string;
  /**
   * Content hash of the loaded definition.
   */
  version: string;
  /**
   * Requests in flight for the destination, all its syncs together, and the cap (maxInFlightPerDestination).
   */
  requests: {
    inFlight: number;
    max: number;
  };
  syncs: SyncReport[];
}
export interface SyncReport {
  id: string;
  enabled: boolean;
  /**
   * A consumer runs this version of the sync.
   */
  running: boolean;
  /**
   * The durable consumer's name.
   */
  consumer?: string;
  /**
   * The hosts (host or host:port) the sync's requests go to, where its parameters fix them.
   */
  egressHosts?: string[];
  /**
   * Set while the consumer takes no message because a cap is full (sync: maxInFlightPerSync; destination: maxInFlightPerDestination; hand: stream.maxAckPending messages in hand), or its circuit breaker has a probe in flight.
   */
  parkedAt?: 'sync' | 'destination' | 'circuit' | 'hand';
  limiter?: LimiterReport;
  /**
   * The sync's circuit breaker: open while its destination keeps failing (the sync takes no messages), half_open while one request probes.
   */
  circuit?: {
    state: 'closed' | 'open' | 'half_open';
    /**
     * When the current state began (ISO 8601).
     */
    since: string;
    /**
     * While open or half-open: since when the sync has been held off (ISO 8601).
     */
    openedAt?: string;
    /**
     * Open longer than the destination's circuitBreaker.alertAfterSeconds.
     */
    openTooLong: boolean;
  };
  /**
   * While the sync's dead letters cannot be written (the dead-letter stream refuses them): since when (ISO 8601). Its messages wait in the stream meanwhile.
   */
  deadLettersFailingSince?: string;
  /**
   * How the sync is doing, decided by the one rule in daemon/telemetry/sync-health.ts (docs/operations.md): the console's tiles and `destinations status` show the same. Absent from daemons older than the rule.
   */
  health?: {
    state: 'healthy' | 'degraded' | 'failing' | 'circuit_open' | 'paused';
    /**
     * One line with the figures that decided it.
     */
    why: string;
  };
  counts?: SyncCounts;
}
export interface LimiterReport {
  name: string;
  state: 'running' | 'paused';
  /**
   * While paused by Retry-After: when the pause ends.
   */
  pausedUntil?: string;
  queued: number;
  running: number;
  rate: null | {
    requests: number;
    periodSeconds: number;
  };
  /**
   * Daemons sharing the rate; this one paces at rate / share.
   */
  share: number;
  maxConcurrency: number | null;
}
/**
 * Amplitude's delivery taxonomy, counted since the daemon started.
 */
export interface SyncCounts {
  received: number;
  deliveredFirstAttempt: number;
  deliveredAfterRetry: number;
  filtered: number;
  /**
   * Filtered for a reason other than the sync's filter (unchanged: an identify that changes nothing); included in filtered.
   */
  filteredByReason?: {
    [k: string]: number | undefined;
  };
  /**
   * Dead-lettered for a permanent failure, by reason.
   */
  discarded: {
    [k: string]: number | undefined;
  };
  /**
   * Dead-lettered because the retries were used up.
   */
  expired: number;
  /**
   * Handed back to JetStream to retry later.
   */
  deferred: number;
  requests: number;
  /**
   * HTTP answers by status class, and "error" for none.
   */
  responses: {
    [k: string]: number | undefined;
  };
  /**
   * Requests that failed, by reason (http_5xx, timeout, network, tls, ...).
   */
  failures: {
    [k: string]: number | undefined;
  };
  inFlight: number;
  waiting: number;
  retriedInProcess: number;
  /**
   * ordering "user": events held in hand behind an earlier event of their user.
   */
  heldByUserBarrier?: number;
  /**
   * ordering "user": users with events held.
   */
  usersHeldByBarrier?: number;
  /**
   * ordering "user": events handed back to the stream unsent because their user's barrier was full.
   */
  returnedByUserBarrier?: number;
}
