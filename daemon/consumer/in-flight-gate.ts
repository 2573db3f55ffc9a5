// Requests in flight for one destination, all its syncs together: the one count of them, and the two
// caps that stop a sync's consumer from pulling (concurrency-caps.ts lists every cap and where it
// holds). The daemon keeps one gate per destination, so the count outlives a runner replaced on
// reload: the old runner's tail still counts against its sync and its destination.
// - The sync's cap (maxInFlightPerSync) counts every request of the sync, those waiting for an
//   in-process retry included.
// - The destination's cap (maxInFlightPerDestination) keeps many syncs of one destination from
//   queueing syncs × maxInFlightPerSync requests on its one connection pool, where they would hold
//   memory and wait behind each other. A request waiting for an in-process retry holds no slot here.
//   The cap is shared fairly: while another sync is parked, a sync holding its fair share
//   (max ÷ syncs) takes no more, so one busy or failing sync cannot starve the others.
// A sync at either cap stops pulling; its messages stay in JetStream.

/** A sync's intake at the gate: `resume`, false when it still cannot go on. */
export interface GateWaiter {
  resume(): boolean;
}

/** What one intake has in flight: every request, and those waiting for an in-process retry. */
interface Held {
  readonly sync: string;
  requests: number;
  waitingForRetry: number;
}

export class InFlightGate {
  /** What each intake holds: those that joined, and those that quit with requests still in flight. */
  readonly #held = new Map<GateWaiter, Held>();
  /** The syncs sharing the gate (their number sets the fair share). */
  readonly #members = new Set<GateWaiter>();
  /** Parked syncs, in the order they parked. */
  readonly #waiting = new Set<GateWaiter>();

  constructor(
    /** maxInFlightPerDestination. */
    readonly max: number,
    /** maxInFlightPerSync. */
    readonly maxPerSync = Infinity,
  ) {}

  /** `member` takes requests for the sync `sync` (a sync id: two runners of one sync count together). */
  join(member: GateWaiter, sync: string): void {
    this.#members.add(member);
    if (!this.#held.has(member)) this.#held.set(member, { sync, requests: 0, waitingForRetry: 0 });
  }

  /** `member` takes no more requests; what it still has in flight counts until it ends. */
  quit(member: GateWaiter): void {
    this.#members.delete(member);
    this.#waiting.delete(member);
    if (this.#held.get(member)?.requests === 0) this.#held.delete(member);
  }

  /** The destination's slots in use: its requests in flight, less those waiting for a retry. */
  get inFlight(): number {
    let slots = 0;
    for (const held of this.#held.values()) slots += held.requests - held.waitingForRetry;
    return slots;
  }

  /** Requests the sync `sync` has in flight, all its runners together (the sync's gauge). */
  requestsOf(sync: string): number {
    let requests = 0;
    for (const held of this.#held.values()) if (held.sync === sync) requests += held.requests;
    return requests;
  }

  /** Slots each sync may hold while another waits. */
  get fairShare(): number {
    return Math.max(1, Math.ceil(this.max / Math.max(1, this.#members.size)));
  }

  /** Whether `member`'s sync has maxInFlightPerSync requests in flight. */
  syncFull(member: GateWaiter): boolean {
    return this.maxPerSync !== Infinity && this.requestsOf(this.#heldBy(member).sync) >= this.maxPerSync;
  }

  /** Whether `member` must wait for the destination: it is at its cap, or another sync waits and `member` holds its share. */
  destinationFullFor(member: GateWaiter): boolean {
    if (this.inFlight >= this.max) return true;
    const othersWaiting = this.#waiting.size - (this.#waiting.has(member) ? 1 : 0);
    if (othersWaiting === 0) return false;
    const held = this.#heldBy(member);
    return held.requests - held.waitingForRetry >= this.fairShare;
  }

  requestStarted(member: GateWaiter): void {
    this.#heldBy(member).requests += 1;
  }

  /** A request ended: its slots are free, and a parked sync may go on. */
  requestEnded(member: GateWaiter): void {
    const held = this.#heldBy(member);
    held.requests -= 1;
    if (held.requests === 0 && !this.#members.has(member)) this.#held.delete(member);
    this.#freed();
  }

  /** A request waits for an in-process retry: it keeps its place in the sync's cap, not the destination's. */
  retryWaitStarted(member: GateWaiter): void {
    this.#heldBy(member).waitingForRetry += 1;
    this.#freed();
  }

  /** Its wait is over (it is sent again, or settled): it holds a destination slot again, over the cap if need be. */
  retryWaitEnded(member: GateWaiter): void {
    this.#heldBy(member).waitingForRetry -= 1;
  }

  park(waiter: GateWaiter): void {
    this.#waiting.add(waiter);
  }

  leave(waiter: GateWaiter): void {
    this.#waiting.delete(waiter);
  }

  /** A slot freed: the longest-parked sync that can go on is resumed. */
  #freed(): void {
    if (this.inFlight >= this.max) return;
    for (const waiter of this.#waiting) {
      if (waiter.resume()) return;
    }
  }

  #heldBy(member: GateWaiter): Held {
    const held = this.#held.get(member);
    if (held === undefined) throw new Error('a request counted at a gate its intake has not joined');
    return held;
  }
}
