// The last outcomes of one sync, per event, so that "what happened to this event" has an answer
// without a trace backend: a fixed ring of columns (one array per field, written in place), so
// recording on the per-event path allocates nothing (strings and the request are kept by reference).
// The state path is not recorded step by step: the machine's path follows from the outcome and the
// number of requests (render → send, then wait → send for each in-process retry), and is spelled out
// only when someone reads it. The same recorder feeds the sync's minute-by-minute history
// (sync-history.ts), so both see every outcome through the one call the consumer makes.
//
// Memory: DEFAULT_RECENT_DELIVERIES rows per sync; each keeps references to strings the event
// already holds, and to its request (body cut to DEFAULT_DETAIL_BODY_CHARS) and response excerpt
// (DEFAULT_RESPONSE_EXCERPT_BYTES). A batch's events share one request. At most 200 × (16 Ki
// characters + 1 KiB + URL and headers): ≈ 3.5 MB per sync, 7 MB if the bodies are not Latin-1,
// however large the requests are. The history adds ≈ 6 KB per sync (sync-history.ts).
// Secrets: what is kept is the request as sent; it is redacted when read (`detail`), by the
// redaction the consumer passed with it (the sync's secrets at the time it was sent).
import { DEFAULT_DETAIL_BODY_CHARS, DEFAULT_RECENT_DELIVERIES, DEFAULT_RESPONSE_EXCERPT_BYTES } from '../defaults.js';
import { fieldsOf, readableFields } from '../events/readable-fields.js';
import { CONTRACT_VIOLATION, RENDER_FAILED, type DeadLetterReason, type Reason } from '../reasons.js';
import type { RenderedRequest } from '../render/index.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../secrets/index.js';
import { SyncHistory } from './sync-history.js';

export const RECENT_OUTCOMES = {
  delivered: 'delivered',
  deferred: 'deferred',
  dead: 'dead',
} as const;
export type RecentOutcome = (typeof RECENT_OUTCOMES)[keyof typeof RECENT_OUTCOMES];


/** One recorded outcome, as read (made only when read). */
export interface RecentDelivery {
  /** Opens the row's detail while the ring still holds it (a serial number per sync). */
  serial: number;
  insertId: string | null;
  userId: string | null;
  deviceId: string | null;
  eventType: string | null;
  outcome: RecentOutcome;
  /** The last HTTP status, when there was an answer. */
  status: number | null;
  /** The attempt it was (JetStream's delivery count plus in-process retries). */
  attempts: number;
  /** Requests made in this delivery (more than one after in-process retries; 0 when refused before a request). */
  requests: number;
  reason: Reason | null;
  /** ISO time of the outcome. */
  at: string;
  /** From publish (JetStream's timestamp) to this outcome. */
  durationMs: number;
  /** The delivery machine's states, in order. */
  statePath: string[];
  /** The message's sequence in the events stream. */
  streamSequence: number;
}

/** A row with what was sent and answered, redacted (see RecentDeliveries.detail). */
export interface RecentDeliveryDetail extends RecentDelivery {
  request: (RenderedRequest & { bodyCut?: { keptChars: number } }) | null;
  response: { status: number; excerpt: string } | null;
}

/** How a sync's secrets are taken out of what it sent and what came back; kept with each row. */
export interface DeliveryRedaction {
  request(request: RenderedRequest): RenderedRequest;
  /** A text that may have been cut (it also loses a secret's start left at its end). */
  text(text: string): string;
}

/** What the search matches (every given field must match). */
export interface RecentDeliveryQuery {
  /** insert_id starting with this. */
  insertIdPrefix?: string;
  /** insert_id equal to this. */
  insertId?: string;
  userId?: string;
  deviceId?: string;
  eventType?: string;
  outcome?: RecentOutcome;
  status?: number;
  /** Outcomes at or after, and before, these times (ms since the epoch). */
  fromMs?: number;
  toMs?: number;
  /** Deferred and dead only. */
  failedOnly?: boolean;
  limit?: number;
}

/** What the recorder reads of a JetStream message (a JsMsg). */
interface SettledMessage {
  readonly info: { readonly timestampNanos: number; readonly streamSequence: number };
  readonly data?: Uint8Array;
}

/** What the recorder reads of a settled delivery (the consumer's SettledDelivery). */
export interface SettledRequest {
  readonly items: ReadonlyArray<{ readonly msg: SettledMessage; readonly context: { readonly input: EventIds } }>;
  readonly outcome: string | undefined;
  readonly status?: number;
  readonly attempt: number;
  readonly requests: number;
  readonly reason?: Reason;
  readonly request?: RenderedRequest;
  readonly lastResponse?: { readonly status: number; readonly bodyExcerpt: string };
  /** An answer read item by item (multiStatus): the items it named, and whether the others were sent again. */
  readonly itemResults?: {
    readonly failures: ReadonlyArray<{ readonly index: number; readonly result: { readonly kind: 'retryable' | 'permanent'; readonly code: Reason } }>;
    readonly others: 'accepted' | 'resend';
  };
}

/** The ids a row keeps of its event (strings only; anything else is not kept). */
export interface EventIds {
  readonly insert_id?: unknown;
  readonly user_id?: unknown;
  readonly device_id?: unknown;
  readonly event_type?: unknown;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

export class RecentDeliveries {
  readonly capacity: number;
  /** Minute by minute, the last hour (the console's charts, the health rule). */
  readonly history = new SyncHistory();
  #next = 0;
  #size = 0;
  #serial = 0;
  readonly #serials: Float64Array;
  readonly #insertId: Array<string | undefined>;
  readonly #userId: Array<string | undefined>;
  readonly #deviceId: Array<string | undefined>;
  readonly #eventType: Array<string | undefined>;
  readonly #outcome: RecentOutcome[];
  readonly #status: Float64Array;
  readonly #attempts: Uint32Array;
  readonly #requests: Uint32Array;
  readonly #reason: Array<Reason | undefined>;
  readonly #at: Float64Array;
  readonly #publishedAt: Float64Array;
  readonly #sequence: Float64Array;
  readonly #request: Array<RenderedRequest | undefined>;
  readonly #response: Array<{ readonly status: number; readonly bodyExcerpt: string } | undefined>;
  readonly #redaction: Array<DeliveryRedaction | undefined>;

  constructor(capacity = DEFAULT_RECENT_DELIVERIES) {
    this.capacity = capacity;
    const strings = () => new Array<string | undefined>(capacity).fill(undefined);
    this.#serials = new Float64Array(capacity);
    this.#insertId = strings();
    this.#userId = strings();
    this.#deviceId = strings();
    this.#eventType = strings();
    this.#outcome = new Array<RecentOutcome>(capacity).fill(RECENT_OUTCOMES.delivered);
    this.#status = new Float64Array(capacity);
    this.#attempts = new Uint32Array(capacity);
    this.#requests = new Uint32Array(capacity);
    this.#reason = new Array<Reason | undefined>(capacity).fill(undefined);
    this.#at = new Float64Array(capacity);
    this.#publishedAt = new Float64Array(capacity);
    this.#sequence = new Float64Array(capacity);
    this.#request = new Array<RenderedRequest | undefined>(capacity).fill(undefined);
    this.#response = new Array<{ status: number; bodyExcerpt: string } | undefined>(capacity).fill(undefined);
    this.#redaction = new Array<DeliveryRedaction | undefined>(capacity).fill(undefined);
  }

  /** Records one event's outcome; overwrites the oldest when full. `status` 0 means no answer. */
  record(
    fields: EventIds,
    outcome: RecentOutcome,
    status: number | undefined,
    attempts: number,
    requests: number,
    reason: Reason | undefined,
    publishedAtMs: number,
    streamSequence: number,
    now = Date.now(),
    request?: RenderedRequest,
    response?: { readonly status: number; readonly bodyExcerpt: string },
    redaction?: DeliveryRedaction,
  ): void {
    const i = this.#next;
    this.#serials[i] = ++this.#serial;
    // Publisher text of any type and size: only strings are kept (by reference).
    this.#insertId[i] = text(fields.insert_id);
    this.#userId[i] = text(fields.user_id);
    this.#deviceId[i] = text(fields.device_id);
    this.#eventType[i] = text(fields.event_type);
    this.#outcome[i] = outcome;
    this.#status[i] = status ?? 0;
    this.#attempts[i] = attempts;
    this.#requests[i] = requests;
    this.#reason[i] = reason;
    this.#at[i] = now;
    this.#publishedAt[i] = publishedAtMs;
    this.#sequence[i] = streamSequence;
    this.#request[i] = request;
    this.#response[i] = response;
    this.#redaction[i] = redaction;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.#size < this.capacity) this.#size += 1;
  }

  /**
   * Records each event of a settled delivery (one call per request, from the consumer's Outcomes),
   * and the minute's history: events delivered (with their latency), dead-lettered or deferred, and
   * the requests that failed on the way.
   */
  settled(delivery: SettledRequest, redaction?: DeliveryRedaction, now = Date.now()): void {
    const outcome = delivery.outcome;
    if (outcome !== RECENT_OUTCOMES.delivered && outcome !== RECENT_OUTCOMES.deferred && outcome !== RECENT_OUTCOMES.dead) return;
    const items = delivery.items;
    const history = this.history;
    history.failedRequests(outcome === RECENT_OUTCOMES.delivered ? delivery.requests - 1 : delivery.requests, now);
    if (outcome === RECENT_OUTCOMES.dead) history.deadLettered(items.length, now);
    else if (outcome === RECENT_OUTCOMES.deferred) history.deferred(items.length, now);
    // Once per request, not per event: a batch's events share what was sent.
    const request = keptRequest(delivery.request);
    const response = keptResponse(delivery.lastResponse);
    // An answer read item by item: each item as it was settled (a named retryable item is shown deferred, even one out of attempts).
    const named = outcome === RECENT_OUTCOMES.delivered && delivery.itemResults ? new Map(delivery.itemResults.failures.map((failure) => [failure.index, failure.result])) : undefined;
    const othersResent = delivery.itemResults?.others === 'resend';
    for (let n = 0; n < items.length; n++) {
      const { msg, context } = items[n];
      const info = msg.info;
      const publishedAtMs = info.timestampNanos / 1e6;
      let itemOutcome: RecentOutcome = outcome;
      let reason = delivery.reason;
      if (named) {
        const result = named.get(n);
        if (result?.kind === 'permanent') [itemOutcome, reason] = [RECENT_OUTCOMES.dead, result.code];
        else if (result !== undefined || othersResent) [itemOutcome, reason] = [RECENT_OUTCOMES.deferred, result?.code];
      }
      if (itemOutcome === RECENT_OUTCOMES.delivered) history.delivered((now - publishedAtMs) / 1_000, now);
      else if (named && itemOutcome === RECENT_OUTCOMES.dead) history.deadLettered(1, now);
      else if (named) history.deferred(1, now);
      this.record(context.input, itemOutcome, delivery.status, delivery.attempt, delivery.requests, reason, publishedAtMs, info.streamSequence, now, request, response, redaction);
    }
  }

  /**
   * Records a message refused before it became a request (invalid event): dead, no request. Its ids
   * come from the decoded event when there is one, else from its bytes where they can be read.
   */
  refused(msg: SettledMessage, event: unknown, reason: DeadLetterReason, attempts: number, now = Date.now()): void {
    const info = msg.info;
    const fields = event !== undefined ? fieldsOf(event) : msg.data ? readableFields(msg.data) : {};
    this.history.deadLettered(1, now);
    this.record(fields, RECENT_OUTCOMES.dead, undefined, attempts, 0, reason, info.timestampNanos / 1e6, info.streamSequence, now);
  }

  get size(): number {
    return this.#size;
  }

  /** Newest first, those matching every field of `query`, at most `limit`. */
  list(query: RecentDeliveryQuery = {}): RecentDelivery[] {
    const result: RecentDelivery[] = [];
    const limit = query.limit ?? this.capacity;
    for (let n = 0; n < this.#size && result.length < limit; n++) {
      const i = (this.#next - 1 - n + this.capacity) % this.capacity;
      if (this.#matches(i, query)) result.push(this.#read(i));
    }
    return result;
  }

  /** The row `serial` with its request and response, redacted; undefined once the ring let it go. */
  detail(serial: number): RecentDeliveryDetail | undefined {
    if (!Number.isInteger(serial) || serial < 1) return undefined;
    const i = (serial - 1) % this.capacity;
    if (this.#serials[i] !== serial) return undefined;
    const request = this.#request[i];
    const response = this.#response[i];
    const redaction = this.#redaction[i];
    // Without the redaction it was recorded with, nothing sent is shown: never a secret by accident.
    const cut = request && cutOf.get(request);
    let shown: RecentDeliveryDetail['request'] = null;
    if (request && redaction) {
      const redacted = redaction.request(request);
      shown = cut === undefined ? redacted : { ...redacted, body: redaction.text(redacted.body), bodyCut: { keptChars: cut } };
    }
    return {
      ...this.#read(i),
      request: shown,
      response: response && redaction ? { status: response.status, excerpt: redaction.text(response.bodyExcerpt) } : null,
    };
  }

  #matches(i: number, query: RecentDeliveryQuery): boolean {
    if (query.insertId !== undefined && this.#insertId[i] !== query.insertId) return false;
    if (query.insertIdPrefix !== undefined && !this.#insertId[i]?.startsWith(query.insertIdPrefix)) return false;
    if (query.userId !== undefined && this.#userId[i] !== query.userId) return false;
    if (query.deviceId !== undefined && this.#deviceId[i] !== query.deviceId) return false;
    if (query.eventType !== undefined && this.#eventType[i] !== query.eventType) return false;
    if (query.outcome !== undefined && this.#outcome[i] !== query.outcome) return false;
    if (query.failedOnly && this.#outcome[i] === RECENT_OUTCOMES.delivered) return false;
    if (query.status !== undefined && this.#status[i] !== query.status) return false;
    if (query.fromMs !== undefined && this.#at[i] < query.fromMs) return false;
    if (query.toMs !== undefined && this.#at[i] >= query.toMs) return false;
    return true;
  }

  #read(i: number): RecentDelivery {
    const outcome = this.#outcome[i];
    const requests = this.#requests[i];
    return {
      serial: this.#serials[i],
      insertId: this.#insertId[i] ?? null,
      userId: this.#userId[i] ?? null,
      deviceId: this.#deviceId[i] ?? null,
      eventType: this.#eventType[i] ?? null,
      outcome,
      status: this.#status[i] === 0 ? null : this.#status[i],
      attempts: this.#attempts[i],
      requests,
      reason: this.#reason[i] ?? null,
      at: new Date(this.#at[i]).toISOString(),
      durationMs: Math.max(0, Math.round(this.#at[i] - this.#publishedAt[i])),
      statePath: statePath(outcome, requests, this.#reason[i]),
      streamSequence: this.#sequence[i],
    };
  }
}

/** Requests kept with their body cut, and how much of it was kept. */
const cutOf = new WeakMap<RenderedRequest, number>();

/** The request by reference, or a copy with its body cut when that is long (the render's derived secrets go with it). */
function keptRequest(request: RenderedRequest | undefined): RenderedRequest | undefined {
  if (request === undefined || request.body.length <= DEFAULT_DETAIL_BODY_CHARS) return request;
  const kept = { ...request, body: request.body.slice(0, DEFAULT_DETAIL_BODY_CHARS) };
  rememberDerivedSecrets(kept, derivedSecretsOf(request));
  cutOf.set(kept, DEFAULT_DETAIL_BODY_CHARS);
  return kept;
}

function keptResponse(response: { readonly status: number; readonly bodyExcerpt: string } | undefined): { readonly status: number; readonly bodyExcerpt: string } | undefined {
  if (response === undefined || response.bodyExcerpt.length <= DEFAULT_RESPONSE_EXCERPT_BYTES) return response;
  return { status: response.status, bodyExcerpt: response.bodyExcerpt.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES) };
}

/** The delivery machine's path to an outcome after `requests` requests (delivery-machine.ts). */
export function statePath(outcome: RecentOutcome, requests: number, reason?: Reason): string[] {
  // No request: its render failed, or it was refused before the machine ran (invalid event, missing field).
  if (requests === 0) return reason === RENDER_FAILED || reason === CONTRACT_VIOLATION ? ['rendering', outcome] : ['refused', outcome];
  const path = ['rendering', 'sending'];
  for (let n = 1; n < requests; n++) path.push('waiting', 'sending');
  path.push(outcome);
  return path;
}

const bySyncStats = new WeakMap<object, RecentDeliveries>();

/** The ring of one sync, kept with its counters (so it outlives a runner replaced on reload). */
export function recentDeliveriesOf(stats: object): RecentDeliveries {
  let recent = bySyncStats.get(stats);
  if (!recent) bySyncStats.set(stats, (recent = new RecentDeliveries()));
  return recent;
}
