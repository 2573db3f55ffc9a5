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
    user?: string;
    password?: SecretRef;
    token?: SecretRef;
    /**
     * A NATS .creds file (JWT and NKey seed).
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
     * The dead-letter stream's size limit; past it the oldest letters are removed first, so new ones can always be written. 0 means no limit. Applied to an existing stream at start.
     */
    deadLetterMaxBytes?: number;
    maxAckPending?: number;
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
   * Hosts the daemon may send requests to: "api.braze.com", "*.customer.io" (any subdomain, not customer.io itself), optionally with a port ("127.0.0.1:3000"; without one, any port). A request to another host is not sent and is dead-lettered as egress_denied. Absent: any host.
   */
  egressAllowList?: string[];
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}
