// A handover between readers of one ordered sync (ordering "user"): a runner that stops (a daemon's
// SIGTERM, a reload that replaces the sync) still has each user's events in flight, held, or gone
// back to the stream with a delay, and hands them back at its drain's end. Meanwhile the sync's
// other readers (another daemon, the runner the reload started) take the users' later events from
// the stream. Told which users' events are still pending there, they hold those users' later
// events until the earlier ones come back, are settled by the stopping runner, or are waited for
// long enough: a reader does not overtake what another still has pending.
//
// Two notices on core NATS, `_destinations.handover.<stream>` (outside every stream's subjects):
//   - "stopping", as the runner stops pulling: every (user, stream sequence) it still has, with when
//     each is due back (the drain's end, or a retry's delay);
//   - "handed back", at the drain's end: what it has just nak'ed in stream order. What the first
//     named and this one does not (and that was not already waiting for a delay) was settled there:
//     not waited for any more.
// Notices of the daemon's own runners are applied at once, in process, not through the server.
// Nothing on the per-request path; no store: a reader started after the notice does not know it.
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { hostname } from 'node:os';
import { DEFAULT_HANDOVER_NOTICE_ENTRIES } from '../defaults.js';
import type { Logger } from '../log.js';

/** One pending event: its user, its stream sequence, and (for one gone back with a delay) in how many ms it is due. */
export type PendingEvent = [user: string, sequence: number, dueInMs?: number];

export interface HandoverNotice {
  /** The runner that sends it (daemon instance and runner number). */
  from: string;
  /** The sync's durable consumer. */
  consumer: string;
  phase: 'stopping' | 'handed back';
  /** "stopping": when what has no delay of its own is due back (the drain's bound). */
  dueInMs?: number;
  events: PendingEvent[];
}

/** What a reader is told: another reader has this user's event `sequence`, due back by `returnAt`, waited for until `deadline`; or no longer has it. */
export interface HandoverReceiver {
  expect(user: string, sequence: number, returnAt: number, deadline: number): void;
  unexpect(user: string, sequence: number): void;
}

/** The subject the readers of one events stream tell each other what they hand back. */
export function handoverSubject(streamName: string): string {
  return `_destinations.handover.${streamName}`;
}

interface Expected {
  user: string;
  sequence: number;
  returnAt: number;
  deadline: number;
  /** Gone back with a delay before the stop: not in the "handed back" notice, still awaited. */
  delayed: boolean;
  /** Named in a "handed back" notice: it comes back now. */
  back: boolean;
}

/**
 * The daemon's end of the handover: it sends its runners' notices and keeps what other readers
 * announced, per consumer and sender, until it is no longer awaited, so that a runner that
 * registers later (the one a reload starts) is told too.
 */
export class Handovers {
  readonly instance: string;
  #runners = 0;
  #subscription: Subscription | undefined;
  readonly #receivers = new Map<string, HandoverReceiver>();
  /** consumer → sender → stream sequence → what is expected. */
  readonly #expected = new Map<string, Map<string, Map<number, Expected>>>();

  constructor(
    private readonly connection: NatsConnection | undefined,
    private readonly subject: string,
    /** How long past its due time a pending event is waited for (ack_wait: a redelivery after a crash comes by then). */
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.instance = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  }

  start(): void {
    this.#subscription = this.connection?.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error) return;
        let notice: HandoverNotice;
        try {
          notice = msg.json<HandoverNotice>();
        } catch {
          return;
        }
        if (!isNotice(notice) || notice.from.startsWith(`${this.instance}/`)) return;
        this.#apply(notice);
      },
    });
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  /** A name for one runner's notices. */
  runnerId(): string {
    this.#runners += 1;
    return `${this.instance}/${this.#runners}`;
  }

  /** The runner now reading `consumer`: told at once what other readers still have pending. */
  register(consumer: string, receiver: HandoverReceiver): void {
    this.#receivers.set(consumer, receiver);
    const now = this.now();
    for (const bySender of this.#expected.get(consumer)?.values() ?? []) {
      for (const [sequence, expected] of bySender) {
        if (expected.deadline <= now) bySender.delete(sequence);
        else receiver.expect(expected.user, sequence, expected.returnAt, expected.deadline);
      }
    }
  }

  /** The runner stops reading (it no longer takes messages). */
  unregister(consumer: string, receiver: HandoverReceiver): void {
    if (this.#receivers.get(consumer) === receiver) this.#receivers.delete(consumer);
  }

  /** Tells the other readers (in this daemon at once, the others through NATS), in pieces that fit a message. */
  announce(notice: HandoverNotice): void {
    if (notice.events.length === 0 && notice.phase === 'stopping') return;
    this.#apply(notice);
    if (this.connection === undefined) return;
    // "handed back" with nothing in it still says: nothing of the first notice is awaited any more.
    const size = DEFAULT_HANDOVER_NOTICE_ENTRIES;
    for (let start = 0; start === 0 || start < notice.events.length; start += size) {
      const piece = { ...notice, events: notice.events.slice(start, start + size), last: start + size >= notice.events.length };
      try {
        this.connection.publish(this.subject, JSON.stringify(piece));
      } catch (error) {
        this.log.warn('cannot tell the other daemons what this one hands back', { error, consumer: notice.consumer });
        return;
      }
    }
  }

  #apply(notice: HandoverNotice & { last?: boolean }): void {
    const now = this.now();
    let bySender = this.#expected.get(notice.consumer);
    if (bySender === undefined) this.#expected.set(notice.consumer, (bySender = new Map()));
    let expected = bySender.get(notice.from);
    if (expected === undefined) bySender.set(notice.from, (expected = new Map()));
    const receiver = this.#receivers.get(notice.consumer);
    if (notice.phase === 'stopping') {
      for (const [user, sequence, dueInMs] of notice.events) {
        const returnAt = now + (dueInMs ?? notice.dueInMs ?? 0);
        const entry = { user, sequence, returnAt, deadline: returnAt + this.graceMs, delayed: dueInMs !== undefined, back: false };
        expected.set(sequence, entry);
        receiver?.expect(user, sequence, entry.returnAt, entry.deadline);
      }
      this.log.debug('another reader of the sync hands back events', { consumer: notice.consumer, from: notice.from, events: notice.events.length });
      return;
    }
    // "handed back": these come back now; what else was announced without a delay of its own was settled there.
    for (const [user, sequence] of notice.events) {
      const entry = { user, sequence, returnAt: now, deadline: now + this.graceMs, delayed: false, back: true };
      expected.set(sequence, entry);
      receiver?.expect(user, sequence, entry.returnAt, entry.deadline);
    }
    if (notice.last === false) return;
    for (const [sequence, entry] of expected) {
      if (entry.back || entry.delayed) continue;
      expected.delete(sequence);
      receiver?.unexpect(entry.user, sequence);
    }
  }
}

function isNotice(value: unknown): value is HandoverNotice {
  const notice = value as HandoverNotice;
  return (
    typeof notice === 'object' &&
    notice !== null &&
    typeof notice.from === 'string' &&
    typeof notice.consumer === 'string' &&
    (notice.phase === 'stopping' || notice.phase === 'handed back') &&
    Array.isArray(notice.events) &&
    notice.events.every((event) => Array.isArray(event) && typeof event[0] === 'string' && Number.isSafeInteger(event[1]))
  );
}
