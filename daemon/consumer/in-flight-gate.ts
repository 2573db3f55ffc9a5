// Requests in flight for one destination, shared by all its syncs. Each sync also has its own cap
// (maxInFlightPerSync); this one keeps many syncs of one destination from queueing
// syncs × maxInFlightPerSync requests on its one connection pool, where they would hold memory
// and wait behind each other. A sync at either cap stops pulling; its messages stay in JetStream.
// The cap is shared fairly: while another sync is parked, a sync holding its fair share
// (max ÷ syncs) takes no more, so one busy or failing sync cannot starve the others. A request
// waiting for an in-process retry holds no slot here (Intake gives it back while it waits).

/** A sync at the gate: how many of its slots it holds, and `resume`, false when it still cannot go on. */
export interface GateWaiter {
  readonly destinationSlots: number;
  resume(): boolean;
}

export class InFlightGate {
  inFlight = 0;
  /** The syncs sharing the gate (their number sets the fair share). */
  readonly #members = new Set<GateWaiter>();
  /** Parked syncs, in the order they parked. */
  readonly #waiting = new Set<GateWaiter>();

  constructor(readonly max: number) {}

  join(member: GateWaiter): void {
    this.#members.add(member);
  }

  quit(member: GateWaiter): void {
    this.#members.delete(member);
    this.#waiting.delete(member);
  }

  /** Slots each sync may hold while another waits. */
  get fairShare(): number {
    return Math.max(1, Math.ceil(this.max / Math.max(1, this.#members.size)));
  }

  /** Whether `member` must wait: the destination is at its cap, or another sync waits and `member` holds its share. */
  fullFor(member: GateWaiter): boolean {
    if (this.inFlight >= this.max) return true;
    const othersWaiting = this.#waiting.size - (this.#waiting.has(member) ? 1 : 0);
    return othersWaiting > 0 && member.destinationSlots >= this.fairShare;
  }

  take(): void {
    this.inFlight += 1;
  }

  /** A slot freed: the longest-parked sync that can go on is resumed. */
  give(): void {
    this.inFlight -= 1;
    if (this.inFlight >= this.max) return;
    for (const waiter of this.#waiting) {
      if (waiter.resume()) return;
    }
  }

  park(waiter: GateWaiter): void {
    this.#waiting.add(waiter);
  }

  leave(waiter: GateWaiter): void {
    this.#waiting.delete(waiter);
  }
}
