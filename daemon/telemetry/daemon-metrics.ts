// The daemon's metrics at scrape time, in Prometheus conventions: `destinations_` prefix, base
// units (seconds, bytes), `_total` counters, labels destination and sync. Counters come from each
// sync's SyncStats (Amplitude's taxonomy); gauges are read when scraped: limiter state, and from the
// server the consumers' pending counts, the events stream's size and limits, and the publish time of
// each sync's oldest unacknowledged event (requests in parallel, bounded in time together; concurrent
// scrapes share one round). Everything comes from the daemon's read model.
import type { ConsumerInfo, StreamInfo } from '@nats-io/jetstream';
import { DEFAULT_METRICS_CONSUMER_INFO_TIMEOUT_MS } from '../defaults.js';
import type { DaemonView, DaemonViewSource, SyncView } from './daemon-view.js';
import { Exposition, type Labels } from './prometheus.js';
import type { SyncStats } from './sync-stats.js';
import { FAILURE_REASONS } from '../reasons.js';

interface SyncRow {
  labels: Labels;
  view: SyncView;
  version: string;
  consumer?: ConsumerInfo;
}

export interface MetricsOptions {
  consumerInfoTimeoutMs?: number;
  /** Epoch milliseconds (tests). */
  now?: () => number;
}

/** What a scrape asks of the server besides the consumers: how close events are to leaving the stream. */
export interface EventStreamState {
  info: StreamInfo;
  /** Per sync id: when its oldest unacknowledged event (received or not) was published; absent when it has none. */
  oldestUnacked: ReadonlyMap<string, Date>;
}

/** Returns a function producing the exposition text; one per admin server. */
export function createMetricsCollector(source: DaemonViewSource, options: MetricsOptions = {}): () => Promise<string> {
  const timeoutMs = options.consumerInfoTimeoutMs ?? DEFAULT_METRICS_CONSUMER_INFO_TIMEOUT_MS;
  let round: Promise<{ consumers: Map<string, ConsumerInfo>; stream?: EventStreamState }> | undefined;
  return async () => {
    const view = source.view();
    round ??= fetchServerState(source, view, timeoutMs).finally(() => (round = undefined));
    const { consumers, stream } = await round;
    return renderMetrics(view, consumers, options.now?.() ?? Date.now(), stream);
  };
}

/** The promise's value, or undefined when it fails or does not settle by the deadline. */
function byDeadline<T>(promise: Promise<T | undefined> | undefined, deadline: Promise<undefined>): Promise<T | undefined> {
  return promise === undefined ? Promise.resolve(undefined) : Promise.race([promise.catch(() => undefined), deadline]);
}

function deadlineIn(timeoutMs: number): { deadline: Promise<undefined>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, undefined);
    timer.unref();
  });
  return { deadline, clear: () => clearTimeout(timer) };
}

/** The consumers' info from the server, bounded in time; a sync that does not answer has no lag shown (metrics, the console). */
export async function fetchConsumerInfo(source: DaemonViewSource, view: DaemonView, timeoutMs: number): Promise<Map<string, ConsumerInfo>> {
  const { deadline, clear } = deadlineIn(timeoutMs);
  try {
    return await consumersBy(source, view, deadline);
  } finally {
    clear();
  }
}

async function consumersBy(source: DaemonViewSource, view: DaemonView, deadline: Promise<undefined>): Promise<Map<string, ConsumerInfo>> {
  const result = new Map<string, ConsumerInfo>();
  if (!view.connected) return result;
  const running = view.destinations.flatMap((destination) => destination.syncs.filter((sync) => sync.consumer !== undefined));
  await Promise.all(
    running.map(async (sync) => {
      const info = await byDeadline(source.consumerInfo(sync.id), deadline);
      if (info) result.set(sync.id, info);
    }),
  );
  return result;
}

/**
 * One scrape's questions to the server, all within timeoutMs: the consumers and the events stream,
 * then the publish time of each sync's oldest unacknowledged event: the first message after its
 * consumer's ack floor (every consumer takes the whole stream), or the stream's first when the floor
 * is older than what the stream still holds.
 */
async function fetchServerState(source: DaemonViewSource, view: DaemonView, timeoutMs: number): Promise<{ consumers: Map<string, ConsumerInfo>; stream?: EventStreamState }> {
  if (!view.connected) return { consumers: new Map() };
  const { deadline, clear } = deadlineIn(timeoutMs);
  try {
    const [consumers, info] = await Promise.all([consumersBy(source, view, deadline), byDeadline(source.eventStreamInfo?.(), deadline)]);
    if (info === undefined) return { consumers };
    // Before the oldest is read: what the stream dropped unsettled is counted (destinations_events_aged_out_total).
    for (const [syncId, consumer] of consumers) source.countAgedOut?.(syncId, consumer, info.state.first_seq);
    const published = new Map<number, Promise<Date | undefined>>();
    const oldestUnacked = new Map<string, Date>();
    await Promise.all(
      [...consumers].map(async ([syncId, consumer]) => {
        if (consumer.num_pending + consumer.num_ack_pending === 0) return;
        const seq = Math.max(consumer.ack_floor.stream_seq + 1, info.state.first_seq);
        if (!published.has(seq)) published.set(seq, byDeadline(source.eventPublishedAt?.(seq), deadline));
        const at = await published.get(seq);
        if (at) oldestUnacked.set(syncId, at);
      }),
    );
    return { consumers, stream: { info, oldestUnacked } };
  } finally {
    clear();
  }
}

export function renderMetrics(view: DaemonView, consumers: ReadonlyMap<string, ConsumerInfo>, now: number, stream?: EventStreamState): string {
  const rows: SyncRow[] = view.destinations.flatMap((destination) =>
    destination.syncs.map((sync) => ({ labels: { destination: destination.slug, sync: sync.id }, view: sync, version: destination.version, consumer: consumers.get(sync.id) })),
  );
  const out = new Exposition();
  const withStats = rows.flatMap((row) => (row.view.stats ? [{ labels: row.labels, stats: row.view.stats }] : []));
  const withLimiter = rows.flatMap((row) => (row.view.limiter ? [{ labels: row.labels, limiter: row.view.limiter }] : []));
  const counter = (name: string, help: string, value: (stats: SyncStats) => number) => {
    out.family(name, 'counter', help);
    for (const row of withStats) out.sample(row.labels, value(row.stats));
  };
  const gauge = (name: string, help: string, value: (stats: SyncStats) => number) => {
    out.family(name, 'gauge', help);
    for (const row of withStats) out.sample(row.labels, value(row.stats));
  };

  out.family('destinations_sync_info', 'gauge', 'A loaded sync: its destination definition version, whether it is enabled and running.');
  for (const row of rows) {
    out.sample({ ...row.labels, version: row.version, enabled: String(row.view.enabled), running: String(row.view.running) }, 1);
  }

  counter('destinations_events_received_total', 'Messages the sync took from the stream, redeliveries included (before its filter).', (s) => s.received);
  out.family('destinations_events_delivered_total', 'counter', 'Events delivered (2xx): attempt="first" on the first attempt, attempt="retry" after one or more retries.');
  for (const row of withStats) {
    out.sample({ ...row.labels, attempt: 'first' }, row.stats.deliveredFirstAttempt);
    out.sample({ ...row.labels, attempt: 'retry' }, row.stats.deliveredAfterRetry);
  }
  counter('destinations_events_filtered_total', "Events the sync's filter left out (acked, not sent).", (s) => s.filtered);
  out.family('destinations_events_filtered_by_reason_total', 'counter', 'Events left out for a reason other than the sync\'s filter, by reason (unchanged: an identify that changes no property); included in destinations_events_filtered_total.');
  for (const row of withStats) for (const [reason, count] of row.stats.filteredByReason) out.sample({ ...row.labels, reason }, count);
  out.family('destinations_events_discarded_total', 'counter', 'Events dead-lettered for a permanent failure, by reason (http_4xx, invalid_event, render_failed, ...).');
  for (const row of withStats) for (const [reason, count] of row.stats.discarded) out.sample({ ...row.labels, reason }, count);
  counter('destinations_events_expired_total', 'Events dead-lettered because their retries were used up (retries_exhausted).', (s) => s.expired);
  counter('destinations_events_aged_out_total', "Events the stream dropped by its max_age, max_bytes or max_msgs before the sync settled them (never delivered to it, or waiting in the stream for a retry): lost, no dead letter. Counted when a scrape sees the stream's first sequence past them; each daemon of a sync counts what none delivered.", (s) => s.agedOut);
  counter('destinations_events_deferred_total', 'Events handed back to JetStream to retry later (nak with delay).', (s) => s.deferred);
  counter('destinations_events_retried_in_process_total', 'Events whose request was retried in process after a short wait.', (s) => s.retriedInProcess);
  counter('destinations_dead_letter_failures_total', 'Dead letters that could not be written (the message went back to the stream).', (s) => s.deadLetterFailures);
  counter('destinations_requests_total', 'HTTP requests started (one request carries one event, or a batch).', (s) => s.requests);
  out.family('destinations_http_responses_total', 'counter', 'HTTP answers by status class (1xx..5xx), and "error" for no answer (timeout, network).');
  for (const row of withStats) for (const [statusClass, count] of row.stats.responsesByClass) out.sample({ ...row.labels, status_class: statusClass }, count);
  out.family('destinations_request_failures_total', 'counter', `Requests that failed, by reason: ${Object.values(FAILURE_REASONS).join(', ')}.`);
  for (const row of withStats) for (const [reason, count] of row.stats.failuresByReason) out.sample({ ...row.labels, reason }, count);
  gauge('destinations_requests_in_flight', 'Requests (deliveries) started and not yet settled.', (s) => s.inFlight);
  gauge('destinations_requests_waiting_for_retry', 'Requests waiting in process for their next attempt.', (s) => s.waiting);
  gauge('destinations_events_held_by_user_barrier', 'ordering "user": events held in hand behind an earlier event of the same user (waiting for its retry).', (s) => s.heldByUserBarrier);
  gauge('destinations_users_held_by_barrier', 'ordering "user": users whose later events are held behind an earlier one.', (s) => s.usersHeldByBarrier);
  counter('destinations_events_returned_by_user_barrier_total', 'ordering "user": events handed back to the stream unsent (no attempt counted) because their user\'s barrier was full.', (s) => s.returnedByUserBarrier);
  counter('destinations_consumer_buffer_refreshes_total', "Times the sync's consumer, parked at a full cap for a heartbeat (ack_wait/3), handed back the message it held at the gate and its client buffer (nak at once, no attempt counted) and pulled afresh, so that JetStream does not redeliver them after ack_wait while the daemon holds them.", (s) => s.bufferRefreshes);
  out.family('destinations_consumer_parked', 'gauge', "1 while the sync's consumer takes no message because a cap is full: cap=\"sync\" (maxInFlightPerSync), cap=\"destination\" (maxInFlightPerDestination), cap=\"hand\" (stream.maxAckPending messages in hand) or cap=\"circuit\" (a circuit breaker probe in flight).");
  for (const row of rows) if (row.view.parkedAt) out.sample({ ...row.labels, cap: row.view.parkedAt }, 1);
  out.family('destinations_circuit_state', 'gauge', 'The sync\'s circuit breaker: 1 for its current state (closed, open: the sync takes no messages while its destination fails, half_open: one request probes).');
  for (const row of rows) if (row.view.circuit) out.sample({ ...row.labels, state: row.view.circuit.state }, 1);
  out.family('destinations_circuit_open_seconds', 'gauge', 'Seconds the circuit breaker has held the sync off (open or half-open), 0 when closed.');
  for (const row of rows) if (row.view.circuit) out.sample(row.labels, row.view.circuit.openedAt === undefined ? 0 : Math.max(0, (now - row.view.circuit.openedAt) / 1_000));
  out.family('destinations_circuit_open_too_long', 'gauge', '1 while the circuit has been open longer than the destination\'s circuitBreaker.alertAfterSeconds.');
  for (const row of rows) if (row.view.circuit) out.sample(row.labels, row.view.circuit.openTooLong ? 1 : 0);
  out.family('destinations_destination_requests_in_flight', 'gauge', "Requests in flight for the destination, all its syncs together (capped by maxInFlightPerDestination).");
  for (const destination of view.destinations) out.sample({ destination: destination.slug }, destination.requests.inFlight);

  out.family('destinations_delivery_latency_seconds', 'histogram', 'Seconds from publish (the JetStream timestamp) to delivered, per event.');
  for (const row of withStats) out.histogram(row.labels, row.stats.latency);
  out.family('destinations_limiter_wait_seconds', 'histogram', "Seconds a request waited in the sync's limiter queue before it was admitted.");
  for (const row of withStats) out.histogram(row.labels, row.stats.limiterWait);

  out.family('destinations_limiter_queued_requests', 'gauge', "Requests waiting in the sync's limiter queue.");
  for (const row of withLimiter) out.sample(row.labels, row.limiter.queued);
  out.family('destinations_limiter_running_requests', 'gauge', 'Requests the limiter has admitted that have not finished.');
  for (const row of withLimiter) out.sample(row.labels, row.limiter.running);
  out.family('destinations_limiter_rate_share', 'gauge', "Daemons running the sync, for a sync with a rate limit: this daemon paces at the rate divided by this.");
  for (const row of withLimiter) if (row.limiter.rate) out.sample(row.labels, row.limiter.share);
  out.family('destinations_limiter_paused', 'gauge', '1 while the sync is paused (Retry-After), else 0.');
  for (const row of withLimiter) out.sample(row.labels, row.limiter.pausedUntil > now ? 1 : 0);
  out.family('destinations_limiter_paused_until_timestamp_seconds', 'gauge', 'When the current pause ends (0 when not paused).');
  for (const row of withLimiter) out.sample(row.labels, row.limiter.pausedUntil > now ? row.limiter.pausedUntil / 1_000 : 0);

  out.family('destinations_consumer_pending_messages', 'gauge', "Messages in the stream the sync's consumer has not received yet (its lag), from the server at scrape time.");
  for (const row of rows) if (row.consumer) out.sample(row.labels, row.consumer.num_pending);
  out.family('destinations_consumer_ack_pending_messages', 'gauge', 'Messages delivered to the consumer and not yet acknowledged (in flight, or waiting for a delayed redelivery).');
  for (const row of rows) if (row.consumer) out.sample(row.labels, row.consumer.num_ack_pending);
  out.family('destinations_consumer_redelivered_messages', 'gauge', 'Messages the server has delivered more than once and that are not yet acknowledged.');
  for (const row of rows) if (row.consumer) out.sample(row.labels, row.consumer.num_redelivered);
  out.family('destinations_consumer_oldest_unacked_age_seconds', 'gauge', "Age of the oldest event in the stream the sync has not acknowledged (received or not), 0 when it has none; compare with destinations_stream_max_age_seconds: the stream drops events by age whether or not they were delivered.");
  for (const row of rows) {
    if (!row.consumer || !stream) continue;
    const at = stream.oldestUnacked.get(row.view.id);
    if (at) out.sample(row.labels, Math.max(0, (now - at.getTime()) / 1_000));
    else if (row.consumer.num_pending + row.consumer.num_ack_pending === 0) out.sample(row.labels, 0);
  }

  // The events stream's size and limits (JetStream drops its oldest messages past any of them,
  // delivered or not); a limit of 0 means none.
  const streamLabels = stream ? { stream: stream.info.config.name } : undefined;
  const streamGauge = (name: string, help: string, value: (info: StreamInfo) => number) => {
    out.family(name, 'gauge', help);
    if (stream && streamLabels) out.sample(streamLabels, value(stream.info));
  };
  streamGauge('destinations_stream_messages', 'Messages the events stream holds.', (info) => info.state.messages);
  streamGauge('destinations_stream_bytes', 'Bytes the events stream holds.', (info) => info.state.bytes);
  streamGauge('destinations_stream_max_age_seconds', "The events stream's max_age in seconds (0: no age limit).", (info) => Math.max(0, info.config.max_age / 1e9));
  streamGauge('destinations_stream_max_bytes', "The events stream's max_bytes (0: no size limit).", (info) => Math.max(0, info.config.max_bytes));
  streamGauge('destinations_stream_max_messages', "The events stream's max_msgs (0: no count limit).", (info) => Math.max(0, info.config.max_msgs));

  out.family('destinations_reloads_total', 'counter', 'Reloads of the destinations folder by result: ok, rejected (a folder kept its last good version), failed.');
  for (const [result, count] of Object.entries(view.reloads)) out.sample({ result }, count);
  out.family('destinations_last_reload_timestamp_seconds', 'gauge', 'When the last reload finished (0 before any).');
  out.sample({}, view.lastReload ? view.lastReload.at.getTime() / 1_000 : 0);
  out.family('destinations_last_reload_success', 'gauge', '1 if the last reload loaded every folder, 0 if it rejected one (absent before any reload).');
  if (view.lastReload) out.sample({}, view.lastReload.ok ? 1 : 0);
  out.family('destinations_shared_decodes_total', 'counter', 'Events syncs on one stream took from the shared decode cache (hit) or decoded and added (miss); none with one sync.');
  if (view.sharedDecodes) for (const [result, count] of [['hit', view.sharedDecodes.hits], ['miss', view.sharedDecodes.misses]] as const) out.sample({ result }, count);
  if (view.gitops) {
    const branch = { branch: view.gitops.branch };
    out.family('destinations_config_commit_info', 'gauge', 'The commit of the followed config branch this daemon runs (gitops), labelled by commit.');
    if (view.gitops.applied) out.sample({ ...branch, commit: view.gitops.applied.commit }, 1);
    out.family('destinations_config_commit_refused', 'gauge', "1 while the branch's head failed validation and is not applied (the last good commit keeps running).");
    out.sample(branch, view.gitops.refused ? 1 : 0);
    out.family('destinations_config_commits_refused_total', 'counter', 'Commits of the followed branch refused since the daemon started.');
    out.sample(branch, view.gitops.refusedCount);
    out.family('destinations_config_fetch_failing', 'gauge', '1 while the last fetch of the followed branch failed (network, unknown branch, timeout).');
    out.sample(branch, view.gitops.fetchError ? 1 : 0);
  }
  out.family('destinations_nats_connected', 'gauge', '1 while the daemon is connected to NATS.');
  out.sample({}, view.connected ? 1 : 0);

  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  out.family('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, in seconds.').sample({}, (cpu.user + cpu.system) / 1e6);
  out.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.').sample({}, memory.rss);
  out.family('process_start_time_seconds', 'gauge', 'Start time of the daemon since the Unix epoch, in seconds.').sample({}, view.startedAt.getTime() / 1_000);
  out.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.').sample({}, memory.heapUsed);
  return out.text();
}
