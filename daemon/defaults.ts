// Defaults that no schema holds, one constant each, so a reader finds them in one place. A value
// an operator or an author sets has its default in its schema (schema/*.schema.json), not here.

/** Retry schedule: 9 attempts over about 4 hours (60 s, doubling, ±20 % jitter: 60+120+…+7680 s ≈ 4.25 h). */
export const DEFAULT_RETRY_MAX_ATTEMPTS = 9;
export const DEFAULT_RETRY_INITIAL_DELAY_MS = 60_000;
export const DEFAULT_RETRY_MULTIPLIER = 2;
export const DEFAULT_RETRY_MAX_DELAY_MS = 2 * 60 * 60_000;
export const DEFAULT_RETRY_JITTER = 0.2;
/** A Retry-After longer than this is capped, so a destination cannot park a sync for a day. */
export const DEFAULT_RETRY_AFTER_CAP_MS = 60 * 60_000;
/** Waits up to this long stay in process; longer ones go back to JetStream as nak(delay). */
export const DEFAULT_MAX_IN_PROCESS_WAIT_MS = 5_000;
/** In-process retries per JetStream delivery before the wait is handed to JetStream anyway. */
export const DEFAULT_MAX_IN_PROCESS_RETRIES = 3;
/** Messages per sync whose in-process attempts are remembered across a nak(delay) (oldest dropped first; ~50 bytes each). */
export const DEFAULT_CARRIED_ATTEMPTS = 100_000;
/** Idle delivery actors a sync keeps for reuse (at most its requests in flight); more are stopped. */
export const DEFAULT_IDLE_DELIVERY_ACTORS = 256;

/** HTTP: connect, response headers and response body timeouts, and the whole-request bound. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** On stop, requests still running get this long before their connections are destroyed. */
export const DEFAULT_SENDER_CLOSE_GRACE_MS = 1_000;
/** Connections per destination origin in the undici pool. */
export const DEFAULT_POOL_CONNECTIONS = 64;
/** An origin's pool that took no request for this long is closed (a new one is made when needed). */
export const DEFAULT_POOL_IDLE_MS = 120_000;
/** How much of a response body a dead letter keeps. */
export const DEFAULT_RESPONSE_EXCERPT_BYTES = 1_024;
/** A batched destination's multi-status response is read whole, up to this size. */
export const DEFAULT_MULTI_STATUS_BODY_BYTES = 1_048_576;

/** Messages the client pulls ahead of the consumer loop (consume's max_messages). */
export const DEFAULT_CONSUME_BUFFER = 100;
/**
 * Fan-out (two or more syncs on the stream): decoded events kept for the other syncs, oldest dropped
 * first past either bound. Syncs that keep up take an entry within a few hundred messages of each
 * other and it goes once all have; the bounds only matter while a sync lags (it then decodes again).
 */
export const DEFAULT_SHARED_DECODES_MAX_ENTRIES = 4_096;
export const DEFAULT_SHARED_DECODES_MAX_BYTES = 8 * 1_048_576;
/** Limiter queue bound (requests) before it pushes back. */
export const DEFAULT_LIMITER_HIGH_WATER = 10_000;

/** Render budget: a template that produces more than this is stopped. */
export const DEFAULT_RENDER_MAX_OUTPUT_BYTES = 5 * 1_048_576;

export const DEFAULT_DESTINATIONS_DIR = 'destinations';
/** Render budget: loop iterations and macro calls in one render. */
export const DEFAULT_RENDER_MAX_ITERATIONS = 100_000;

/** Rate limiter pacing: a rate-limited sync admits a group of requests about this often (833/s → 16 every ~19 ms). */
export const DEFAULT_LIMITER_GROUP_INTERVAL_MS = 20;
/** An oversized response body is read and thrown away up to this many bytes, keeping the connection; past it the connection is closed. */
export const DEFAULT_RESPONSE_DRAIN_BYTES = 64 * 1_024;
/** Pacing credit of a rate-limited sync: late timers (a busy or descheduled process) are made up for up to this long. */
export const DEFAULT_LIMITER_CATCH_UP_MS = 250;
/** A rate-limited sync paces this fraction under its per-second cap, so the hard one-second window has room left for catch-up and for requests that reach the destination a few ms off their start (833/s → 829/s). */
export const DEFAULT_LIMITER_PACE_MARGIN = 0.005;

/** Telemetry: the service.name traces carry unless OTEL_SERVICE_NAME says otherwise. */
export const DEFAULT_SERVICE_NAME = 'destinations';
/** Telemetry: how long stopping waits for the last spans to be exported (part of the stop budget, see deploy/systemd). */
export const DEFAULT_TELEMETRY_SHUTDOWN_TIMEOUT_MS = 5_000;
/** Metrics: a scrape waits this long for the consumers' pending counts from the server, then leaves them out. */
export const DEFAULT_METRICS_CONSUMER_INFO_TIMEOUT_MS = 2_000;
/** Metrics: delivery latency buckets (seconds, publish → delivered), from a fast first try to the end of the retry schedule. */
export const DEFAULT_LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1_800, 3_600, 7_200, 14_400];
/** Metrics: limiter wait buckets (seconds, queued → admitted). */
export const DEFAULT_LIMITER_WAIT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * V8 flags the daemon is started with (systemd unit, `npm start`, the bench): a young generation
 * of up to 32 MB a semi-space instead of 16. A delivery's objects live for the length of an HTTP
 * exchange; with the default they were promoted to the old generation and collected there.
 * Measured: −15 % CPU an event at ~14k events/s for ~30 MB more RSS at that rate, none in the
 * backlog case (the young generation grows only under allocation pressure). It has to be on the
 * command line: set from inside the process (v8.setFlagsFromString) it had no effect.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=32'] as const;

/** Daemons running the same syncs share their rate limits: each announces its syncs this often. */
export const DEFAULT_RATE_SHARE_HEARTBEAT_MS = 2_000;
/** A starting daemon waits this long for the others' answers to its hello before its first request. */
export const DEFAULT_RATE_SHARE_HELLO_WAIT_MS = 250;
