// Every default the daemon and its tools use, one constant each, so a reader finds them in one
// place. A value an operator or an author sets has its default in its schema (schema/*.schema.json,
// `default`); where code reads such a value it takes the default from the section "Defaults a
// schema holds" below, which test/defaults/schema-defaults.test.ts holds to the schemas. Imports
// nothing: every area may import it.

/** Retry schedule: 9 attempts over about 4 hours (60 s, doubling, capped at 2 h, ±20 % jitter: 60+120+…+3840+7200 s ≈ 4.1 h). */
export const DEFAULT_RETRY_MAX_ATTEMPTS = 9;
export const DEFAULT_RETRY_INITIAL_DELAY_MS = 60_000;
export const DEFAULT_RETRY_MULTIPLIER = 2;
export const DEFAULT_RETRY_MAX_DELAY_MS = 2 * 60 * 60_000;
export const DEFAULT_RETRY_JITTER = 0.2;
/** A Retry-After longer than this is capped, so a destination cannot park a sync for a day. */
export const DEFAULT_RETRY_AFTER_CAP_MS = 60 * 60_000;
/** Waits up to this long stay in process; longer ones go back to JetStream as nak(delay) (daemon-config.schema.json `maxInProcessWaitMs`). */
export const DEFAULT_MAX_IN_PROCESS_WAIT_MS = 5_000;
/** In-process retries per JetStream delivery before the wait is handed to JetStream anyway. */
export const DEFAULT_MAX_IN_PROCESS_RETRIES = 3;
/** Messages per sync whose in-process attempts are remembered across a nak(delay) (oldest dropped first; ~50 bytes each). */
export const DEFAULT_CARRIED_ATTEMPTS = 100_000;
/** Stream sequences a sync remembers as delivered, so that a copy JetStream sends again is acked, not sent again (about 1 MB). */
export const DEFAULT_DELIVERED_REMEMBERED = 20_000;
/** Idle delivery actors a sync keeps for reuse (at most its requests in flight); more are stopped. */
export const DEFAULT_IDLE_DELIVERY_ACTORS = 256;
/** What runs the delivery machine: the table derived from it (daemon-config.schema.json `deliveryRuntime`). */
export const DEFAULT_DELIVERY_RUNTIME = 'derived';

/** HTTP: connect, response headers and response body timeouts, and the whole-request bound
 *  (daemon-config.schema.json `connectTimeoutMs`, `requestTimeoutMs`: held to it, like the section at the end). */
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
 * The client asks for more when this share of the buffer or less is still owed by the server (nats.js'
 * default is three quarters: a pull request of 25 for every 25 messages, most of the daemon's socket
 * writes and a share of nats-server's CPU at full speed). A quarter pulls 75 at a time, the buffer bound unchanged.
 */
export const DEFAULT_CONSUME_REFILL_AT = 0.25;
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

/** Where the destination folders are (daemon-config.schema.json `destinationsDir`; validate's and plan's DIR). */
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

/** The dead-letter stream reserves at most this fraction (1/8) of the JetStream file store the server allows, so the events stream always fits beside it (daemon/nats/storage-budget.ts). */
export const DEFAULT_DEAD_LETTER_STORE_DIVISOR = 8;
/** Below this the dead-letter stream would be useless: the daemon refuses to start instead (a store under 8 MiB). */
export const DEFAULT_DEAD_LETTER_MIN_BYTES = 1_048_576;
/** A repair of the streams and consumers that failed (the server refusing, not answering) is tried again after this, doubling up to the maximum. */
export const DEFAULT_STATE_REPAIR_RETRY_MS = 1_000;
export const DEFAULT_STATE_REPAIR_RETRY_MAX_MS = 30_000;

// Moved here from the areas that use them, so that this file is the one place (issue 27).

/** Dead letters: a page of `dead list` and the console holds at most this many. */
export const DEFAULT_DEAD_LETTER_PAGE = 50;
/** Sequences a filtered dead-letter page (by sync, by reason) looks at, at most (one direct get each). */
export const DEFAULT_DEAD_LETTER_SCAN = 500;
/** Dead letters: nats-server's default max_payload, for when the connection's server info is not known. */
export const DEFAULT_NATS_MAX_PAYLOAD = 1_048_576;

/** Console: recent failures shown per sync. */
export const DEFAULT_CONSOLE_RECENT_FAILURES = 10;
/** Console: how long its state waits for the consumers' info from the server. */
export const DEFAULT_CONSOLE_CONSUMER_INFO_TIMEOUT_MS = 1_000;
/** Recent deliveries (console, admin report): how many outcomes a sync keeps. */
export const DEFAULT_RECENT_DELIVERIES = 200;

/** Drain: how long requests aborted at its end get to settle before what the stop hands back goes back, in stream order. */
export const DEFAULT_ABORTED_SETTLE_MS = 1_000;
/** ordering "user": a user's event handed back because the barrier was full returns after this long at least (and at most a minute). */
export const DEFAULT_BARRIER_HAND_BACK_MS = 1_000;
/** Pending events per handover notice (daemon/consumer/handover.ts): ~30 bytes each, well under a 1 MB max_payload. */
export const DEFAULT_HANDOVER_NOTICE_ENTRIES = 5_000;
/** ordering "user": events one user may have held in hand behind its earlier ones; past it they go back to the stream. */
export const DEFAULT_ORDERING_MAX_HELD_PER_USER = 1_000;
/** ordering "user": events the sync may hold behind retries, all users together (and never more than the consumer's max_ack_pending). */
export const DEFAULT_ORDERING_MAX_HELD = 10_000;

/** Change-based identify: a memory write that meets a newer entry is merged and tried again this many times, then given up (the message goes back). */
export const DEFAULT_IDENTIFY_MEMORY_WRITE_TRIES = 5;
/** Change-based identify: at most this many properties are remembered per user; past it some are forgotten (they are sent again, never dropped). */
export const DEFAULT_MAX_REMEMBERED_PROPERTIES = 1_000;

/** Render budget: a render that runs longer than this (wall clock, but a render never waits) is stopped. */
export const DEFAULT_RENDER_MAX_MILLIS = 1_000;
/**
 * The most one filter call may cost, in units of about a nanosecond on the 2-core machine the
 * costs were measured on: its input's size times the filter's cost per unit (bounded-filters.ts).
 * A call cannot be stopped once it runs, so this bounds how long it holds the event loop; the
 * filter-cost test measures each filter and fails if a call admitted by this limit could take
 * 100 ms. 20,000,000 ≈ 20 ms.
 */
export const DEFAULT_RENDER_MAX_CALL_COST = 20_000_000;
/** Render budget: a replace with a pattern checks the clock between its matches and stops after this long. */
export const DEFAULT_RENDER_MAX_CALL_MILLIS = 25;

/**
 * How deep an event's brackets may nest. Real events nest 3 to 5 levels; 64 leaves room for any
 * of them and keeps everything that recurses over an event (ajv, JSON.stringify, nunjucks, the
 * dead letter) thousands of frames away from V8's stack limit.
 */
export const DEFAULT_MAX_EVENT_DEPTH = 64;

/** NATS: how long a start-up waits for a cluster to elect its leaders before it gives up. */
export const DEFAULT_JETSTREAM_SETTLE_MS = 30_000;

/** OAuth2: a token is refreshed this long before it expires (or a tenth of its lifetime, if shorter), so none expires in flight. */
export const DEFAULT_OAUTH_REFRESH_MARGIN_MS = 60_000;
/** OAuth2: how long a token without `expires_in` is kept (a 401 drops it sooner). */
export const DEFAULT_OAUTH_TOKEN_LIFETIME_MS = 10 * 60_000;
/** Google's service-account grant: the token endpoint (and the JWT's aud) when googleServiceAccount names none. */
export const DEFAULT_GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Google's service-account grant: an assertion's lifetime (exp - iat); Google accepts at most an hour. */
export const DEFAULT_GOOGLE_ASSERTION_LIFETIME_S = 3_600;

/** `destinations sink` (and the quick start's sink) listens here unless told otherwise. */
export const DEFAULT_SINK_PORT = 3000;

// Defaults a schema holds (its `default`), for code that reads a value the schema leaves optional.
// Each is the schema's value, held to it by test/defaults/schema-defaults.test.ts: change both.

/** destination.schema.json `logo`: the destination folder's logo file. */
export const DEFAULT_LOGO_FILE = 'logo.png';
/** destination.schema.json `request.contentType` (and identify's). */
export const DEFAULT_CONTENT_TYPE = 'application/json';
/** destination.schema.json `batch.maxWaitMs`: a batch is sent when full or this long after its first event. */
export const DEFAULT_BATCH_MAX_WAIT_MS = 100;
/** destination.schema.json `multiStatus.indexField` and `statusField`. */
export const DEFAULT_MULTI_STATUS_INDEX_FIELD = 'index';
export const DEFAULT_MULTI_STATUS_STATUS_FIELD = 'status';
/** destination.schema.json `multiStatus.statuses` and `others`: a 2xx lists the failed items, the others were accepted. */
export const DEFAULT_MULTI_STATUS_STATUSES: readonly (number | string)[] = Object.freeze(['2xx']);
export const DEFAULT_MULTI_STATUS_OTHERS = 'accepted';
/** destination.schema.json `circuitBreaker`: every field. */
export const DEFAULT_CIRCUIT_BREAKER = Object.freeze({
  enabled: true,
  failureRate: 0.7,
  minimumRequests: 20,
  windowSeconds: 60,
  consecutiveFailures: 20,
  probeIntervalMs: 5_000,
  maxProbeIntervalMs: 300_000,
  alertAfterSeconds: 3_600,
});
/** sync.schema.json `startAt`: a new sync takes the events published from its creation on. */
export const DEFAULT_START_AT = 'new';
/** After a pause, once this many may run at once the limiter's ramp is over: the default of maxInFlightPerSync, which a sync never passes anyway (consumer/concurrency-caps.ts lists every cap). */
export const DEFAULT_RAMP_OPEN = 256;
/** The console's detail of a recent delivery: a request body longer than this (UTF-16 characters) is kept cut. */
export const DEFAULT_DETAIL_BODY_CHARS = 16_384;
/** Minutes of history a sync keeps (the console draws them; the health rule reads the last few). */
export const DEFAULT_HISTORY_MINUTES = 60;

/** Ingest: the window Amplitude averages a user's or device's events per second over (EPUS, EPDS); a token bucket holds this many seconds of the rate. */
export const DEFAULT_INGEST_RATE_WINDOW_SECONDS = 30;
/** Ingest: (key, user) and (key, device) rate buckets kept at most; past it the least recently used are forgotten (~150 bytes each). */
export const DEFAULT_INGEST_RATE_BUCKETS = 200_000;
/** Ingest: how long a request may take to arrive whole (headers and body) before its connection is closed. */
export const DEFAULT_INGEST_REQUEST_TIMEOUT_MS = 30_000;
/** Ingest: on stop, requests being answered get this long before their connections are closed. */
export const DEFAULT_INGEST_CLOSE_GRACE_MS = 5_000;
/** Ingest metrics: buckets of the time from a request's arrival to JetStream's acknowledgement of all its events (seconds). */
export const DEFAULT_INGEST_ACK_LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
