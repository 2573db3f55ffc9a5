// Requests in flight for one destination, shared by all its syncs. Each sync also has its own cap
// (maxInFlightPerSync); this one keeps many syncs of one destination from queueing
// syncs × maxInFlightPerSync requests on its one connection pool, where they would hold memory
// and wait behind each other. A sync at either cap stops pulling; its messages stay in JetStream.

/** A sync parked at the gate: `resume` returns false when the sync is still at its own cap. */
export interface GateWaiter {
  resume(): boolean;
}

export class InFlightGate {
  inFlight = 0;
  /** Parked syncs, in the order they parked. */
  readonly #waiting = new Set<GateWaiter>();

  constructor(readonly max: number) {}

  get full(): boolean {
    return this.inFlight >= this.max;
  }

  take(): void {
    this.inFlight += 1;
  }

  /** A request ended: the longest-parked sync that can go on is resumed. */
  give(): void {
    this.inFlight -= 1;
    if (this.full) return;
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
