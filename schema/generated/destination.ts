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
   * Where the vendor documents the API this folder calls, for the catalog and for reviewers; the README cites the page for each field and limit.
   */
  vendor?: {
    /**
     * The vendor's API reference for the endpoint this folder calls.
     */
    reference: string;
    /**
     * The day the reference was read (YYYY-MM-DD): a reviewer checks what changed since.
     */
    read: string;
  };
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
  awsSigV4?: AwsSigV4;
  googleServiceAccount?: GoogleServiceAccount;
  contract?: Contract;
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
   * Header that carries the event's insert_id (or the batch's key), so duplicates after a crash are harmless. An insert_id of visible ASCII up to 255 characters is sent as it is; any other (a character beyond ASCII, a control, longer) as sha256: and 32 hex digits of a hash of it, the same for every attempt.
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
 * Where the response of a batched request gives results per item, on whatever status the destination uses for it: only the items it names are retried or dead-lettered, the others settled as `others` says. It names at least one list: the short form is failedItemsPath (a list of objects naming their item); `failed` and `throttled` read any number of lists of other shapes.
 */
export interface MultiStatus {
  /**
   * The statuses whose body gives results per item: a status (400) or a class ("2xx"). Mixpanel's strict import answers 400, Amplitude's HTTP API 400 and 429. A response of another status, or one that names no item, is classified as a whole.
   *
   * @minItems 1
   */
  statuses?: [number | string, ...(number | string)[]];
  /**
   * What the items the response does not name are. accepted: the destination took them (Braze's 2xx, Mixpanel's 400): acked. resend: it refused them with the request, through no fault of theirs (Amplitude's 400 and 429): back to the stream at once, no attempt spent.
   */
  others?: 'accepted' | 'resend';
  /**
   * Dot path in the JSON response to an array of failed items (objects; the fields below say how to read them).
   */
  failedItemsPath?: string;
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
  match?: ItemMatch;
  /**
   * Lists of items the destination refused: each is dead-lettered with its message (one whose statusField says retryable is retried). An item named here and in throttled is failed.
   *
   * @minItems 1
   */
  failed?: [ItemList, ...ItemList[]];
  /**
   * Lists of items the destination will take later: each goes back to the stream alone, after the response's Retry-After or the retry schedule, an attempt spent.
   *
   * @minItems 1
   */
  throttled?: [ItemList, ...ItemList[]];
}
/**
 * Only listed items whose fields equal these values count: for a response that lists failures of several arrays of the request (Braze: {"input_array": "events"}).
 */
export interface ItemMatch {
  [k: string]: (string | number | boolean) | undefined;
}
/**
 * One list of items in a response body, and how it names them.
 */
export interface ItemList {
  /**
   * Dot path in the JSON response to the list.
   */
  path: string;
  /**
   * objects: an array of objects, each naming its item by indexField (Mixpanel's failed_records). inOrder: an array of one result per item of the batch, in the batch's order; an entry names its item when errorField is set in it (Kinesis PutRecords' Records, Firehose PutRecordBatch's RequestResponses). indexes: an array of positions in the batch (Amplitude's throttled_events). indexesByName: an object of names to arrays of positions, the name quoted in the message (Amplitude's events_with_invalid_fields: {"time": [3, 4]}). keys: an object whose keys are values of eventField (Amplitude's throttled_users: {"user@example.com": 31}).
   */
  shape?: 'objects' | 'indexes' | 'indexesByName' | 'keys' | 'inOrder';
  /**
   * objects: the field holding the item's position in the batch.
   */
  indexField?: string;
  /**
   * inOrder: the field whose presence (not null) makes an entry a failure; its value leads the item's message (Kinesis: ErrorCode).
   */
  errorField?: string;
  /**
   * objects: the field holding an HTTP-like status that classifies the item.
   */
  statusField?: string;
  /**
   * objects and inOrder: the field holding the destination's reason for the item.
   */
  messageField?: string;
  match?: ItemMatch;
  /**
   * keys: dot path in the event's template context (input.user_id, mappedFields.email) whose value the list's keys are.
   */
  eventField?: string;
  /**
   * Quoted in the item's dead letter, before the name (indexesByName) or key (keys) and the item's own message (objects).
   */
  message?: string;
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
 * When a sync's requests keep failing (retryable failures: 5xx, 429, timeouts, network, TLS; a permanent 4xx is the event's fault and does not count: it is an answer), the sync stops taking messages and stops spending attempts: its messages wait in the stream. It probes with one request at growing intervals and resumes at the paced rate when one succeeds.
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
   * Also opens after this many retryable failures in a row (no answer between), whatever the window holds. Whatever this is, a run of failures as long as an event's whole retry schedule (as many as it has attempts, over at least the schedule's shortest span) opens it: a destination that fails everything never dead-letters an event for running out of attempts.
   */
  consecutiveFailures?: number;
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
  /**
   * Template over one event (input, mappedProperties, mappedFields, parameters): events whose keys differ never share a request, each key filling and waiting on its own within the limits above (GA4's Measurement Protocol takes one client_id a request: {{ input.device_id }}). An event whose key cannot be rendered travels alone.
   */
  key?: string;
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
/**
 * Present when the destination's API wants requests signed with AWS Signature Version 4 (Kinesis, Firehose): the daemon signs every attempt at send time.
 */
export interface AwsSigV4 {
  /**
   * Name of the declared secret parameter holding the access key id.
   */
  accessKeyId: string;
  /**
   * Name of the declared secret parameter holding the secret access key.
   */
  secretAccessKey: string;
  /**
   * Name of a declared secret parameter holding a session token (temporary credentials); sent as x-amz-security-token when the sync gives one.
   */
  sessionToken?: string;
  /**
   * Name of the declared parameter holding the region (us-east-1): part of the credential scope.
   */
  region: string;
  /**
   * The service's signing name (kinesis, firehose): a property of the API the folder calls, not of a sync.
   */
  service: string;
}
/**
 * Present when the destination's API wants a Google OAuth2 token obtained with a service account's JWT grant (Pub/Sub): the daemon fetches one per sync and sends it as Authorization: Bearer on every request.
 */
export interface GoogleServiceAccount {
  /**
   * Name of the declared secret parameter holding the service account's JSON key, as Google's console downloads it (client_email, private_key, private_key_id).
   */
  key: string;
  /**
   * The scopes asked for, space-separated (https://www.googleapis.com/auth/pubsub).
   */
  scope: string;
  /**
   * URL template of the token endpoint (parameters only), also the JWT's aud claim.
   */
  tokenUrl?: string;
}
/**
 * The requests the destination accepts, as JSON Schema (draft-07) files in the folder. Each describes one rendered request as {method, query, headers, body}: body parsed when the content type is JSON (a batch body's items described under it), query names to values (a list when a name repeats), header names in lower case. validate checks every request it renders from generated events and examples against it; the daemon checks each request before sending and dead-letters one that breaks it as contract_violation, unsent.
 */
export interface Contract {
  /**
   * Contract of the event request, e.g. contract.schema.json.
   */
  request?: string;
  /**
   * Contract of the identify request; identify requests are not checked without one.
   */
  identify?: string;
}
