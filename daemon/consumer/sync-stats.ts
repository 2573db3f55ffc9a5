// Counters of one sync, in Amplitude's delivery taxonomy. Telemetry reads them; the runner writes.

export class SyncStats {
  received = 0;
  deliveredFirstAttempt = 0;
  deliveredAfterRetry = 0;
  filtered = 0;
  /** Permanent failures, dead-lettered (http_4xx, render_failed, invalid_event, …) by reason. */
  discarded = new Map<string, number>();
  /** Retries used up, dead-lettered as retries_exhausted. */
  expired = 0;
  /** Handed back to JetStream to retry later. */
  deferred = 0;
  requests = 0;
  responsesByClass = new Map<string, number>();
  inFlight = 0;
  waiting = 0;
  deadLetterFailures = 0;

  countDiscarded(reason: string, events: number): void {
    this.discarded.set(reason, (this.discarded.get(reason) ?? 0) + events);
  }

  countResponse(status: number | undefined): void {
    const key = status === undefined ? 'error' : `${Math.floor(status / 100)}xx`;
    this.responsesByClass.set(key, (this.responsesByClass.get(key) ?? 0) + 1);
  }

  toJSON() {
    return {
      received: this.received,
      deliveredFirstAttempt: this.deliveredFirstAttempt,
      deliveredAfterRetry: this.deliveredAfterRetry,
      filtered: this.filtered,
      discarded: Object.fromEntries(this.discarded),
      expired: this.expired,
      deferred: this.deferred,
      requests: this.requests,
      responses: Object.fromEntries(this.responsesByClass),
      inFlight: this.inFlight,
      waiting: this.waiting,
    };
  }
}
