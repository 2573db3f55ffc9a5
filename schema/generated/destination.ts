/* eslint-disable */
/**
 * Generated from schema/destination.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

export type Method = 'PUT' | 'POST' | 'PATCH';

/**
 * A destination: how events are turned into HTTP requests for one product. Written by the partner, reviewed in git. The folder name is the destination's slug.
 */
export interface DestinationDefinition {
  $schema?: string;
  /**
   * Display name shown in the catalog and on the tile.
   */
  name: string;
  /**
   * Catalog category, used to filter the catalog.
   */
  category:
    | 'Analytics'
    | 'Attribution'
    | 'CDP'
    | 'CRM'
    | 'Customer Engagement'
    | 'Customer Support'
    | 'Data Warehouse'
    | 'Email Marketing'
    | 'Experimentation'
    | 'Marketing Automation'
    | 'Monitoring'
    | 'Notifications'
    | 'Personalization'
    | 'Product Analytics'
    | 'Sales'
    | 'Webhook'
    | 'Other';
  /**
   * A brief overview of the product.
   */
  summary: string;
  /**
   * Full description, with common use cases.
   */
  description: string;
  /**
   * Logo file in the folder; must be a real PNG.
   */
  logo?: string;
  /**
   * Values the operator provides in a sync, used in the URL, header and body templates as parameters.<name>.
   */
  parameters?: Parameter[];
  /**
   * Fields the operator fills from an event field or a user, event or group property; templates see them as mappedFields.<name>.
   */
  userPropertyMappings?: UserPropertyMapping[];
  request: Request;
  identify?: IdentifyRequest;
  oauth?: OAuthClientCredentials;
  limits?: Limits;
  retry?: RetryPolicy;
  circuitBreaker?: CircuitBreaker;
  batch?: Batch;
  /**
   * Send a W3C traceparent header with each request.
   */
  propagateTraceContext?: boolean;
  signing?: Signing;
}
export interface Parameter {
  /**
   * Identifier used in templates: parameters.<name>.
   */
  name: string;
  displayName: string;
  description?: string;
  required?: boolean;
  /**
   * A secret is given in a sync by reference only and never appears in logs, traces, dead letters or previews.
   */
  secret?: boolean;
  default?: string | number | boolean;
}
export interface UserPropertyMapping {
  /**
   * Destination property name: the field name in mappedFields and its display name.
   */
  name: string;
  /**
   * A sync must map a required field, and an event without a value for it is dead-lettered as missing_required_field.
   */
  required?: boolean;
  /**
   * The field identifies a user; limits.maxIdentifierBytes applies to it.
   */
  identifier?: boolean;
  description?: string;
}
export interface Request {
  method: Method;
  /**
   * URL template (nunjucks).
   */
  url: string;
  headers?: Headers;
  /**
   * Body template file in the folder.
   */
  body: string;
  contentType?: string;
  /**
   * Header that carries the event's insert_id (or the batch's), so duplicates after a crash are harmless.
   */
  idempotencyHeader?: string;
  multiStatus?: MultiStatus;
}
/**
 * Header name to value template.
 */
export interface Headers {
  [k: string]: string | undefined;
}
/**
 * Where a 2xx response of a batched request lists the items that failed, so only those are retried or dead-lettered.
 */
export interface MultiStatus {
  /**
   * Dot path in the JSON response to an array of failed items.
   */
  failedItemsPath: string;
  /**
   * Field of a failed item holding the event's position in the batch.
   */
  indexField?: string;
  /**
   * Field of a failed item holding an HTTP-like status that classifies it; an item without one is rejected (400).
   */
  statusField?: string;
  /**
   * Field of a failed item holding the destination's reason, quoted in the item's dead letter.
   */
  messageField?: string;
  /**
   * Only listed items whose fields equal these values count: for a response that lists failures of several arrays of the request (Braze: {"input_array": "events"}).
   */
  match?: {
    [k: string]: (string | number | boolean) | undefined;
  };
}
/**
 * Present when the destination supports identify forwarding: the request an $identify event becomes.
 */
export interface IdentifyRequest {
  method?: Method;
  /**
   * URL template; the event request's URL when absent.
   */
  url?: string;
  headers?: Headers;
  body: string;
  multiStatus?: MultiStatus;
}
/**
 * Present when the destination's API wants an OAuth2 bearer token (client credentials): the daemon fetches one per sync and sends it as Authorization: Bearer on every request.
 */
export interface OAuthClientCredentials {
  /**
   * URL template of the token endpoint; its scheme, host and port may use parameters only, like the request URL.
   */
  tokenUrl: string;
  /**
   * form: the standard application/x-www-form-urlencoded request with grant_type=client_credentials. json: the same fields as a JSON object (Salesforce Marketing Cloud's /v2/token).
   */
  bodyStyle?: 'form' | 'json';
  /**
   * Where a form request carries the client id and secret: HTTP Basic (RFC 6749 section 2.3.1, which every server must accept) or client_id and client_secret fields in the body. A json request always carries them in the body.
   */
  clientAuthentication?: 'basic' | 'body';
  /**
   * Client id template, e.g. {{ parameters.client_id }}.
   */
  clientId: string;
  /**
   * Client secret template, e.g. {{ parameters.client_secret }}: use a secret parameter.
   */
  clientSecret: string;
  /**
   * Scope template (space-separated scopes); left out of the request when it renders empty.
   */
  scope?: string;
  /**
   * Audience template (Auth0 and similar servers); left out of the request when it renders empty.
   */
  audience?: string;
  /**
   * Other fields of the token request, name to template (Salesforce Marketing Cloud: account_id); a field that renders empty is left out.
   */
  fields?: {
    [k: string]: string | undefined;
  };
}
export interface Limits {
  /**
   * At most this many requests per period, spread evenly (no burst at the top of the period).
   */
  rate?: {
    requests: number;
    periodSeconds: number;
  };
  /**
   * Requests in flight at once, per sync.
   */
  maxConcurrency?: number;
  /**
   * An event whose JSON is larger is dead-lettered as event_too_large.
   */
  maxEventBytes?: number;
  /**
   * Applies to user_id and to every mapped field marked identifier.
   */
  maxIdentifierBytes?: number;
  /**
   * A sync must filter to at most this many event types.
   */
  maxEventTypes?: number;
  /**
   * A sync may select at most this many properties to forward.
   */
  maxSelectedProperties?: number;
}
/**
 * Overrides the default schedule (9 attempts over about 4 hours, exponential with jitter).
 */
export interface RetryPolicy {
  maxAttempts?: number;
  initialDelayMs?: number;
  multiplier?: number;
  maxDelayMs?: number;
  jitter?: number;
}
/**
 * When a sync's requests keep failing (retryable failures: 5xx, 429, timeouts, network, TLS; a permanent 4xx is the event's fault and does not count), the sync stops taking messages and stops spending attempts: its messages wait in the stream. It probes with one request at growing intervals and resumes at the paced rate when one succeeds.
 */
export interface CircuitBreaker {
  enabled?: boolean;
  /**
   * Opens when at least this share of the requests in the window failed...
   */
  failureRate?: number;
  /**
   * ...and the window holds at least this many requests.
   */
  minimumRequests?: number;
  /**
   * The window the failure rate is measured over.
   */
  windowSeconds?: number;
  /**
   * Wait before the first probe; each failed probe doubles it...
   */
  probeIntervalMs?: number;
  /**
   * ...up to this.
   */
  maxProbeIntervalMs?: number;
  /**
   * Open longer than this raises destinations_circuit_open_too_long.
   */
  alertAfterSeconds?: number;
}
/**
 * Send several events in one request. The body template then gets events: a list of {input, mappedProperties, mappedFields}.
 */
export interface Batch {
  maxEvents: number;
  /**
   * Upper bound on the summed size of the events' JSON in one request.
   */
  maxBytes?: number;
  /**
   * An event waits at most this long for its batch to fill.
   */
  maxWaitMs?: number;
}
/**
 * Sign every request (event, identify, batch) the Standard Webhooks way: webhook-id, webhook-timestamp and webhook-signature headers, added after the body is rendered and renewed before each attempt, so a retry never carries an old timestamp.
 */
export interface Signing {
  /**
   * The signing scheme: Standard Webhooks v1 (HMAC-SHA256 of id.timestamp.body, base64).
   */
  scheme: 'standard-webhooks';
  /**
   * Names of declared secret parameters holding whsec_ keys. Every one a sync gives signs the request (signatures separated by spaces), so a key rotates without downtime: give the new and the old key together until the receiver has switched.
   *
   * @minItems 1
   * @maxItems 4
   */
  secrets: [string] | [string, string] | [string, string, string] | [string, string, string, string];
}
