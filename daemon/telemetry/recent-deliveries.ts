// The last outcomes of one sync, per event, so that "what happened to this event" has an answer
// without a trace backend: a fixed ring of columns (one array per field, written in place), so
// recording on the per-event path allocates nothing. The state path is not recorded step by step:
// the machine's path follows from the outcome and the number of requests (render → send, then
// wait → send for each in-process retry), and is spelled out only when someone reads it.

/** How many outcomes a sync keeps. */
export const DEFAULT_RECENT_DELIVERIES = 200;

export const RECENT_OUTCOMES = {
  delivered: 'delivered',
  deferred: 'deferred',
  dead: 'dead',
} as const;
export type RecentOutcome = (typeof RECENT_OUTCOMES)[keyof typeof RECENT_OUTCOMES];

/** One recorded outcome, as read (made only when read). */
export interface RecentDelivery {
  insertId: string | null;
  outcome: RecentOutcome;
  /** The last HTTP status, when there was an answer. */
  status: number | null;
  /** The attempt it was (JetStream's delivery count plus in-process retries). */
  attempts: number;
  /** Requests made in this delivery (more than one after in-process retries; 0 when refused before a request). */
  requests: number;
  reason: string | null;
  /** ISO time of the outcome. */
  at: string;
  /** From publish (JetStream's timestamp) to this outcome. */
  durationMs: number;
  /** The delivery machine's states, in order. */
  statePath: string[];
  /** The message's sequence in the events stream. */
  streamSequence: number;
}

/** What the recorder reads of a JetStream message (a JsMsg). */
interface SettledMessage {
  readonly info: { readonly timestampNanos: number; readonly streamSequence: number };
}

/** What the recorder reads of a settled delivery (the consumer's SettledDelivery). */
export interface SettledRequest {
  readonly items: ReadonlyArray<{ readonly msg: SettledMessage; readonly context: { readonly input: { readonly insert_id?: unknown } } }>;
  readonly outcome: string | undefined;
  readonly status?: number;
  readonly attempt: number;
  readonly requests: number;
  readonly reason?: string;
}

export class RecentDeliveries {
  readonly capacity: number;
  #next = 0;
  #size = 0;
  readonly #insertId: Array<string | undefined>;
  readonly #outcome: RecentOutcome[];
  readonly #status: Float64Array;
  readonly #attempts: Uint32Array;
  readonly #requests: Uint32Array;
  readonly #reason: Array<string | undefined>;
  readonly #at: Float64Array;
  readonly #publishedAt: Float64Array;
  readonly #sequence: Float64Array;

  constructor(capacity = DEFAULT_RECENT_DELIVERIES) {
    this.capacity = capacity;
    this.#insertId = new Array<string | undefined>(capacity).fill(undefined);
    this.#outcome = new Array<RecentOutcome>(capacity).fill(RECENT_OUTCOMES.delivered);
    this.#status = new Float64Array(capacity);
    this.#attempts = new Uint32Array(capacity);
    this.#requests = new Uint32Array(capacity);
    this.#reason = new Array<string | undefined>(capacity).fill(undefined);
    this.#at = new Float64Array(capacity);
    this.#publishedAt = new Float64Array(capacity);
    this.#sequence = new Float64Array(capacity);
  }

  /** Records one event's outcome; overwrites the oldest when full. `status` 0 means no answer. */
  record(
    insertId: string | undefined,
    outcome: RecentOutcome,
    status: number | undefined,
    attempts: number,
    requests: number,
    reason: string | undefined,
    publishedAtMs: number,
    streamSequence: number,
    now = Date.now(),
  ): void {
    const i = this.#next;
    // An insert_id is publisher text of any type and size: only a string is kept (by reference).
    this.#insertId[i] = typeof insertId === 'string' ? insertId : undefined;
    this.#outcome[i] = outcome;
    this.#status[i] = status ?? 0;
    this.#attempts[i] = attempts;
    this.#requests[i] = requests;
    this.#reason[i] = reason;
    this.#at[i] = now;
    this.#publishedAt[i] = publishedAtMs;
    this.#sequence[i] = streamSequence;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.#size < this.capacity) this.#size += 1;
  }

  /** Records each event of a settled delivery (one call per request, from the consumer's Outcomes). */
  settled(delivery: SettledRequest, now = Date.now()): void {
    const outcome = delivery.outcome;
    if (outcome !== RECENT_OUTCOMES.delivered && outcome !== RECENT_OUTCOMES.deferred && outcome !== RECENT_OUTCOMES.dead) return;
    const items = delivery.items;
    for (let n = 0; n < items.length; n++) {
      const { msg, context } = items[n];
      const info = msg.info;
      this.record(context.input.insert_id as string | undefined, outcome, delivery.status, delivery.attempt, delivery.requests, delivery.reason, info.timestampNanos / 1e6, info.streamSequence, now);
    }
  }

  /** Records a message refused before it became a request (invalid event): dead, no request. */
  refused(msg: SettledMessage, insertId: unknown, reason: string, attempts: number, now = Date.now()): void {
    const info = msg.info;
    this.record(insertId as string | undefined, RECENT_OUTCOMES.dead, undefined, attempts, 0, reason, info.timestampNanos / 1e6, info.streamSequence, now);
  }

  get size(): number {
    return this.#size;
  }

  /** Newest first; with `insertId`, only that event's outcomes; `failedOnly`: deferred and dead; at most `limit`. */
  list(options: { insertId?: string; failedOnly?: boolean; limit?: number } = {}): RecentDelivery[] {
    const result: RecentDelivery[] = [];
    const limit = options.limit ?? this.capacity;
    for (let n = 0; n < this.#size && result.length < limit; n++) {
      const i = (this.#next - 1 - n + this.capacity) % this.capacity;
      if (options.insertId !== undefined && this.#insertId[i] !== options.insertId) continue;
      if (options.failedOnly && this.#outcome[i] === RECENT_OUTCOMES.delivered) continue;
      result.push(this.#read(i));
    }
    return result;
  }

  #read(i: number): RecentDelivery {
    const outcome = this.#outcome[i];
    const requests = this.#requests[i];
    return {
      insertId: this.#insertId[i] ?? null,
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

/** The delivery machine's path to an outcome after `requests` requests (delivery-machine.ts). */
export function statePath(outcome: RecentOutcome, requests: number, reason?: string): string[] {
  // No request: its render failed, or it was refused before the machine ran (invalid event, missing field).
  if (requests === 0) return reason === 'render_failed' ? ['rendering', outcome] : ['refused', outcome];
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
