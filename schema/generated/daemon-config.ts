/* eslint-disable */
/**
 * Generated from schema/daemon-config.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

export type SecretRef =
  | {
      env: string;
    }
  | {
      file: string;
    };

/**
 * The daemon's configuration (.destinationsrc.json, JSON or YAML, found by cosmiconfig). Every field has a default.
 */
export interface DaemonConfig {
  $schema?: string;
  nats?: {
    /**
     * @minItems 1
     */
    servers?: [string, ...string[]];
    name?: string;
    /**
     * The NATS user; password, token and nkeySeed (the NKey seed of a user the server knows by its public key) are secret references. Credentials may also be given in the server URLs (nats://user:password@host, nats://token@host), alike in each.
     */
    user?: string;
    password?: SecretRef;
    token?: SecretRef;
    nkeySeed?: SecretRef;
    /**
     * A NATS .creds file (JWT and NKey seed), relative to the config file.
     */
    credentialsFile?: string;
    /**
     * Subject prefix of this client's reply inboxes. With authorization, give each user its own (deploy/nats/) so that no other client may subscribe to its replies.
     */
    inboxPrefix?: string;
    /**
     * When no server answers at the first address and nats-server is on the PATH, start one from this config and stop it on exit.
     */
    embedded?: {
      enabled?: boolean;
      /**
       * nats-server configuration file, relative to the config file.
       */
      config?: string;
    };
  };
  stream?: {
    name?: string;
    /**
     * @minItems 1
     */
    subjects?: [string, ...string[]];
    deadLetterStream?: string;
    deadLetterSubjectPrefix?: string;
    /**
     * Dead letters older than this are removed from the dead-letter stream; 0 keeps them forever. Applied to an existing stream at start.
     */
    deadLetterMaxAgeDays?: number;
    /**
     * The dead-letter stream's size limit; past it the oldest letters are removed first, so new ones can always be written. NATS reserves it in the server's JetStream store, so the daemon keeps it to at most an eighth of the store the server allows (measured at start, or read from the account's limits) and logs when it reserves less; a store under 8 MiB stops the start. 0 means no limit (nothing reserved). Applied to an existing stream at start.
     */
    deadLetterMaxBytes?: number;
    /**
     * Messages a sync holds in the daemon at most (in flight, in a batch, waiting for their user's turn with ordering "user"); at this the sync takes no more until some are settled. Per daemon.
     */
    maxAckPending?: number;
    /**
     * Room in the consumer's max_ack_pending, on top of maxAckPending, for messages waiting for a retry: one nak'ed with a delay keeps its place there until it comes back, and with ordering "user" so does each later event of its user held behind it. The consumer's max_ack_pending is maxAckPending + this; past it JetStream hands the sync nothing new (all daemons of the sync together).
     */
    maxAckPendingForRetries?: number;
    /**
     * How long JetStream waits for a message taken and not settled before it hands it out again. The daemon sends working() for every message it holds every ackWaitMs/3 (at least 1 s), so this is how soon what a killed daemon held is redelivered, not a bound on a delivery's time.
     */
    ackWaitMs?: number;
    /**
     * Copies of the events stream a NATS cluster keeps (3 in a three-server cluster; 1 on a single server). Used when the daemon creates the stream; an existing stream keeps its own, and a difference is logged.
     */
    replicas?: number;
    /**
     * The NATS KV bucket where syncs with identifyForwarding "changes" remember, per sync and user, what their last delivered identify set. Created when missing, with the events stream's replicas (stream.replicas).
     */
    identifyMemoryBucket?: string;
    /**
     * How long a user's remembered properties are kept after the last identify delivered for them; past it the next identify is forwarded whole. 0 keeps them forever. Used when the bucket is created.
     */
    identifyMemoryTtlDays?: number;
    /**
     * Copies of the dead-letter stream a NATS cluster keeps, like replicas.
     */
    deadLetterReplicas?: number;
  };
  /**
   * Relative to the config file.
   */
  destinationsDir?: string;
  /**
   * This host's values for variables declared in <destinationsDir>/variables.json (schema/variables.schema.json), which syncs write as ${vars.NAME} in parameter values. A name the file does not declare is an error.
   */
  variables?: {
    [k: string]: string | undefined;
  };
  /**
   * Reload the destinations folder when it changes, once it has been quiet for quietMs (a git pull that writes many files is one reload). The same rules as SIGHUP: a folder that fails validation keeps its last good version.
   */
  watch?: {
    enabled?: boolean;
    /**
     * How long the folder must be unchanged before it is reloaded.
     */
    quietMs?: number;
  };
  /**
   * Follow a branch of the config repository: every intervalMs the daemon fetches the branch, validates the new commit's destinations folder as a reload would, and only when it passes replaces destinationsDir with it and reloads. A commit that fails is never applied: the last good one keeps running and the refused commit is reported with why (/destinations, `destinations status`, /metrics, the console). Absent: the daemon runs what is in destinationsDir.
   */
  gitops?: {
    /**
     * Where to fetch from: an https:// or ssh URL (ssh uses the daemon user's key), or a path. Give no password in it: an HTTPS token goes in token.
     */
    repository: string;
    branch?: string;
    /**
     * The folder of the repository holding the destination folders.
     */
    path?: string;
    /**
     * How often the branch is fetched: a merge is live within about this long.
     */
    intervalMs?: number;
    /**
     * Each git command's limit (fetch, archive): one past it is stopped, the poll fails and the next interval tries again.
     */
    timeoutMs?: number;
    /**
     * The follower's own clone and the commit it last applied, relative to the config file.
     */
    stateDir?: string;
    /**
     * An HTTPS access token with read access, given by reference: handed to git in its environment (never on a command line) and never shown.
     */
    token?:
      | {
          env: string;
        }
      | {
          file: string;
        };
    /**
     * The user name sent with token.
     */
    username?: string;
  };
  /**
   * Requests in flight per sync before the consumer stops pulling.
   */
  maxInFlightPerSync?: number;
  /**
   * Requests in flight for one destination, all its syncs together, before their consumers stop pulling: many syncs of one destination share its connection pool instead of queueing syncs × maxInFlightPerSync requests on it.
   */
  maxInFlightPerDestination?: number;
  maxEventBytes?: number;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * On SIGTERM, in-flight deliveries get this long before they are nak'ed.
   */
  drainTimeoutMs?: number;
  /**
   * A retry wait up to this long stays in process; a longer one is handed to JetStream as nak(delay), which survives restarts.
   */
  maxInProcessWaitMs?: number;
  /**
   * What runs the delivery machine: "derived", a table derived from the XState machine at start (the fast path), or "xstate", XState's own interpreter, for inspecting deliveries with Stately's tools. Both run the same machine and give the same states, traces and outcomes.
   */
  deliveryRuntime?: 'derived' | 'xstate';
  admin?: {
    enabled?: boolean;
    host?: string;
    port?: number;
    /**
     * Bearer token every route but /healthz and /readyz requires (the console shows events and dead letters: personal data). Given by reference. Required when host is not a loopback address.
     */
    token?:
      | {
          env: string;
        }
      | {
          file: string;
        };
    /**
     * Serve /metrics without the token, for a Prometheus scraper that cannot send one. Everything else still requires it.
     */
    metricsWithoutToken?: boolean;
  };
  /**
   * destinations ingest: the HTTP server that takes events in Amplitude's HTTP API v2 and Batch shape and Segment's tracking API, and publishes them to the events stream (docs/operations.md#ingest). A process of its own, stateless: run as many as you like behind a load balancer.
   */
  ingest?: {
    /**
     * The address the ingest listens on (0.0.0.0 for every interface).
     */
    host?: string;
    /**
     * The port the ingest listens on; destinations ingest --port replaces it.
     */
    port?: number;
    /**
     * The address of the ingest's own /metrics, /healthz and /readyz.
     */
    metricsHost?: string;
    /**
     * The port of the ingest's /metrics, /healthz and /readyz; destinations ingest --metrics-port replaces it.
     */
    metricsPort?: number;
    /**
     * How long a request waits for JetStream to acknowledge its events before it is answered 503.
     */
    publishTimeoutMs?: number;
    /**
     * The Retry-After of a 503 (NATS unreachable, JetStream not acknowledging) and of a Segment 429.
     */
    retryAfterSeconds?: number;
    /**
     * The API keys (Amplitude) and write keys (Segment) the ingest accepts, each by reference, each with the subject its events are published on. A request with any other key is answered 401.
     */
    keys?: IngestKey[];
  };
  /**
   * Hosts the daemon may send requests to: "api.braze.com", "*.customer.io" (any subdomain, not customer.io itself), optionally with a port ("127.0.0.1:3000"; without one, any port). A request to another host is not sent and is dead-lettered as egress_denied. Absent: any host.
   */
  egressAllowList?: string[];
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}
export interface IngestKey {
  /**
   * What logs and metrics call the key (the key itself never appears).
   */
  name: string;
  /**
   * The API key or write key, by reference.
   */
  key:
    | {
        env: string;
      }
    | {
        file: string;
      };
  /**
   * The protocol the key may be used with; absent: both.
   */
  protocol?: 'amplitude' | 'segment';
  /**
   * The subject the key's events are published on; one of the events stream's (stream.subjects), e.g. events.web.
   */
  subject: string;
  /**
   * Events per second each user_id and each device_id may send with this key, averaged over 30 s as Amplitude does; past it a request is answered 429 naming the throttled users and devices. Absent: no limit.
   */
  eventsPerSecondPerUser?: number;
}
