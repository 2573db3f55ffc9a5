// Turns per user, in stream order: a user's next events wait until what went before them is
// settled. Change-based identify uses it (one identify at a time per user, so each compares with
// what was really delivered) and so does a sync with `ordering: "user"` (a user's events reach the
// destination in stream order; a batch carries a run of them, in order).
//
// A turn is a group of one user's items handed onward together (one request); the user's next
// group goes once every message of the turn is let go. A message of the turn that goes back to the
// stream (a retry later, a release) is owed: the user's later events (higher stream sequence) wait
// until it comes back and is settled, or until its expected return plus a grace has passed (it may
// have gone to another daemon). Held events stay in hand (the intake heartbeats them); past the
// caps, an event of a held user goes back to the stream (costing no attempt) and is owed in turn,
// so the order still holds. Bounded: held events per user and per sync; owed entries are messages
// JetStream holds for us (bounded by max_ack_pending) and expire.
//
// Two kinds of held events: those waiting for their user's request in flight (a round trip away)
// and those behind a retry (a user with nothing in flight, waiting for an owed event: seconds to
// hours away). The intake counts the first against what the sync may have in hand and leaves the
// second out (behindRetry), so users waiting out retries never stop the others being taken.
import type { JsMsg } from '@nats-io/jetstream';
import { DEFAULT_BARRIER_HAND_BACK_MS } from '../defaults.js';

export interface BarrierItem {
  msg: JsMsg;
}

/** The barrier's two gauges (SyncStats has both). */
export interface BarrierGauges {
  heldByUserBarrier: number;
  usersHeldByBarrier: number;
}

export interface UserBarrierOptions<T extends BarrierItem> {
  /** A group's turn: its items go on, in stream order. */
  onward(items: T[]): void;
  /** Whether `next` may join `group` in one request (one at a time when absent). */
  joins?(group: readonly T[], next: T): boolean;
  /** The barrier is full: this held user's event goes back to the stream for `delayMs`, costing no attempt. */
  overflow?(item: T, delayMs: number): void;
  /** Events one user may have held in hand (Infinity when absent). */
  maxHeldPerUser?: number;
  /** Events the sync may have held in hand behind retries, all users together (Infinity when absent). */
  maxHeld?: number;
  /** How long past its expected return an owed message is waited for. */
  graceMs?: number;
  gauges?: BarrierGauges;
  now?: () => number;
}

const MAX_HAND_BACK_MS = 60_000;

interface Owed {
  /** When JetStream should hand it back (its nak delay). */
  returnAt: number;
  /** When to stop waiting for it. */
  deadline: number;
}

interface UserLine<T> {
  /** Messages of the group that has its turn, not yet let go. */
  readonly turn: Set<JsMsg>;
  /** Held in hand, in stream order, with when each was first held. */
  readonly held: Array<{ item: T; since: number }>;
  /** This user's messages gone back to the stream, by stream sequence. */
  readonly owed: Map<number, Owed>;
  timer?: NodeJS.Timeout;
  /** Of `held`, how many are counted in behindRetry (all of them while the user has no turn out, else none). */
  behindRetry: number;
}

export class UserBarrier<T extends BarrierItem> {
  readonly #lines = new Map<string, UserLine<T>>();
  /** The user of every message held or in a turn. */
  readonly #userOf = new Map<JsMsg, string>();
  /** When the items handed onward were first held (for their trace), while they are in a turn. */
  readonly #heldSince = new WeakMap<JsMsg, number>();
  #held = 0;
  #behindRetry = 0;
  #stopped = false;
  readonly #now: () => number;

  constructor(private readonly options: UserBarrierOptions<T>) {
    this.#now = options.now ?? Date.now;
  }

  /** Takes an item (already in hand): it goes on now, or waits for its user's turn. No user: no order, it goes on. */
  take(user: string | undefined, item: T): void {
    if (user === undefined) return this.options.onward([item]);
    let line = this.#lines.get(user);
    if (line === undefined) {
      line = { turn: new Set(), held: [], owed: new Map(), behindRetry: 0 };
      this.#lines.set(user, line);
    }
    const sequence = item.msg.info.streamSequence;
    line.owed.delete(sequence); // it came back
    this.#userOf.set(item.msg, user);
    if (line.turn.size === 0 && line.held.length === 0 && !this.#owedBefore(line, sequence)) {
      line.turn.add(item.msg);
      this.options.onward([item]);
      return;
    }
    const { maxHeldPerUser = Infinity, maxHeld = Infinity, overflow } = this.options;
    // maxHeld bounds what waits behind retries; what waits for a turn in flight is the intake's to bound (maxAckPending).
    if (overflow && (line.held.length >= maxHeldPerUser || (line.turn.size === 0 && this.#behindRetry >= maxHeld))) {
      // Full: the latest of the user's events goes back to the stream, owed, so what follows it
      // still waits for it. The earliest stay in hand: an owed event coming back is never turned away.
      const last = line.held.at(-1);
      if (last === undefined || last.item.msg.info.streamSequence < sequence) return this.#handBack(user, line, item);
      this.#unhold(line, line.held.length - 1, 1);
      this.#hold(line, item);
      this.#handBack(user, line, last.item);
      return this.#advance(user, line);
    }
    this.#hold(line, item);
    this.#advance(user, line);
  }

  #handBack(user: string, line: UserLine<T>, item: T): void {
    this.#userOf.delete(item.msg);
    const delayMs = this.#handBackDelay(line);
    this.options.overflow!(item, delayMs);
    this.returned(item.msg, delayMs, user);
  }

  /** The message goes back to the stream and should be handed back after `delayMs`: what follows it waits for it. */
  returned(msg: JsMsg, delayMs: number, user = this.#userOf.get(msg)): void {
    if (user === undefined) return;
    const line = this.#lines.get(user);
    if (line === undefined) return;
    const returnAt = this.#now() + delayMs;
    line.owed.set(msg.info.streamSequence, { returnAt, deadline: returnAt + (this.options.graceMs ?? 0) });
  }

  /**
   * Another reader of the sync (a daemon stopping, the runner a reload replaced) still has the
   * user's event `sequence`: owed here, as if it had gone back from this barrier (handover.ts).
   */
  expect(user: string, sequence: number, returnAt: number, deadline: number): void {
    let line = this.#lines.get(user);
    if (line === undefined) {
      line = { turn: new Set(), held: [], owed: new Map(), behindRetry: 0 };
      this.#lines.set(user, line);
    }
    line.owed.set(sequence, { returnAt, deadline });
    this.#advance(user, line);
  }

  /** The other reader settled it (acked or dead-lettered there): no longer owed. */
  unexpect(user: string, sequence: number): void {
    const line = this.#lines.get(user);
    if (line === undefined || !line.owed.delete(sequence)) return;
    this.#advance(user, line);
  }

  /** Every event this barrier knows its user of and that is not settled: in a turn, held, or gone back (with how long until it is due). */
  pending(): Array<[user: string, sequence: number, dueInMs?: number]> {
    const now = this.#now();
    const events: Array<[string, number, number?]> = [];
    for (const [user, line] of this.#lines) {
      for (const msg of line.turn) events.push([user, msg.info.streamSequence]);
      for (const entry of line.held) events.push([user, entry.item.msg.info.streamSequence]);
      for (const [sequence, owed] of line.owed) if (owed.deadline > now) events.push([user, sequence, Math.max(0, owed.returnAt - now)]);
    }
    return events;
  }

  /** The user of a message in a turn or held, if it is one. */
  userOf(msg: JsMsg): string | undefined {
    return this.#userOf.get(msg);
  }

  /** These messages are settled, or gone back to the stream: their users' next turns may go. */
  done(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) {
      const user = this.#userOf.get(msg);
      if (user === undefined) continue;
      this.#userOf.delete(msg);
      const line = this.#lines.get(user);
      if (line === undefined) continue;
      if (line.turn.delete(msg)) {
        if (line.turn.size === 0) this.#advance(user, line);
      } else {
        // Let go while held (handed back on a stop or when the circuit opened).
        const index = line.held.findIndex((entry) => entry.item.msg === msg);
        if (index >= 0) this.#unhold(line, index, 1);
        this.#advance(user, line);
      }
    }
  }

  /** When `msg`, handed onward, was first held by the barrier (undefined when it went straight on). */
  heldSince(msg: JsMsg): number | undefined {
    return this.#heldSince.get(msg);
  }

  /** Every held item, taken out to be handed back (the circuit opened, or a stop); they stay owed by their user once returned. */
  takeHeld(): T[] {
    const items: T[] = [];
    for (const line of this.#lines.values()) {
      for (const entry of line.held) items.push(entry.item);
      this.#unhold(line, 0, line.held.length);
      this.#recount(line);
    }
    return items;
  }

  /** No more turns: held items are taken out (returned) to be handed back. */
  stop(): T[] {
    this.#stopped = true;
    for (const line of this.#lines.values()) clearTimeout(line.timer);
    return this.takeHeld();
  }

  get held(): number {
    return this.#held;
  }

  /** Held events of users with no request out, waiting for an owed event to come back (a retry): not soon. */
  get behindRetry(): number {
    return this.#behindRetry;
  }

  /** Whether the line's held events wait behind a retry rather than for its turn in flight. */
  #recount(line: UserLine<T>): void {
    const behind = line.turn.size === 0 ? line.held.length : 0;
    this.#behindRetry += behind - line.behindRetry;
    line.behindRetry = behind;
  }

  #hold(line: UserLine<T>, item: T): void {
    const sequence = item.msg.info.streamSequence;
    let index = line.held.length;
    // Redeliveries come back with lower sequences: kept in stream order.
    while (index > 0 && line.held[index - 1].item.msg.info.streamSequence > sequence) index -= 1;
    line.held.splice(index, 0, { item, since: this.#now() });
    this.#held += 1;
    if (line.held.length === 1) this.#gauge(0, 1);
    this.#gauge(1, 0);
  }

  #unhold(line: UserLine<T>, index: number, count: number): void {
    if (count === 0) return;
    line.held.splice(index, count);
    this.#held -= count;
    this.#gauge(-count, line.held.length === 0 ? -1 : 0);
  }

  #gauge(events: number, users: number): void {
    const gauges = this.options.gauges;
    if (gauges === undefined) return;
    gauges.heldByUserBarrier += events;
    gauges.usersHeldByBarrier += users;
  }

  /** Whether an owed message of the line comes before `sequence` (expired ones are forgotten). */
  #owedBefore(line: UserLine<T>, sequence: number): boolean {
    if (line.owed.size === 0) return false;
    const now = this.#now();
    let before = false;
    for (const [owedSequence, owed] of line.owed) {
      if (owed.deadline <= now) line.owed.delete(owedSequence);
      else if (owedSequence < sequence) before = true;
    }
    return before;
  }

  /** The user's next group goes when nothing of its turn is out and nothing owed comes before it. */
  #advance(user: string, line: UserLine<T>): void {
    this.#advanceLine(user, line);
    this.#recount(line);
  }

  #advanceLine(user: string, line: UserLine<T>): void {
    clearTimeout(line.timer);
    line.timer = undefined;
    if (this.#stopped || line.turn.size > 0) return;
    const group: T[] = [];
    const joins = this.options.joins;
    let count = 0;
    for (const entry of line.held) {
      const next = entry.item;
      if (this.#owedBefore(line, next.msg.info.streamSequence)) break;
      if (group.length > 0 && !joins?.(group, next)) break;
      group.push(next);
      this.#heldSince.set(next.msg, entry.since);
      count += 1;
    }
    if (count > 0) {
      this.#unhold(line, 0, count);
      for (const item of group) line.turn.add(item.msg);
      this.options.onward(group);
      return;
    }
    this.#owedBefore(line, 0); // forgets the expired ones
    if (line.held.length === 0 && line.owed.size === 0) {
      this.#lines.delete(user);
      return;
    }
    // Waiting for owed messages: look again when the first of them stops being waited for.
    let deadline = Infinity;
    for (const owed of line.owed.values()) deadline = Math.min(deadline, owed.deadline);
    if (deadline === Infinity) return;
    line.timer = setTimeout(() => this.#advance(user, line), Math.max(0, deadline - this.#now()) + 1);
    line.timer.unref();
  }

  /** Until the user's first owed message should be back (within bounds). */
  #handBackDelay(line: UserLine<T>): number {
    let returnAt = Infinity;
    for (const owed of line.owed.values()) returnAt = Math.min(returnAt, owed.returnAt);
    const until = returnAt === Infinity ? 0 : returnAt - this.#now();
    return Math.min(MAX_HAND_BACK_MS, Math.max(DEFAULT_BARRIER_HAND_BACK_MS, until));
  }
}
