// Logs that grow with trouble, not with traffic: what happens per request or per event (a failed
// request, a dead letter) is counted by key as it happens and written as one line per interval
// while it keeps happening; an interval with nothing counted ends it (no timer while all is well).
// Each event is still counted in the metrics as it happens; this is for the journal.

export const SUMMARY_INTERVAL_MS = 10_000;

export class PeriodicSummary {
  #counts = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  /** `write` gets the counts by key of one interval (never empty). */
  constructor(private readonly write: (counts: Record<string, number>) => void) {}

  count(key: string, by = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + by);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.flush, SUMMARY_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  /** Writes what was counted since the last line (an interval's end, a recovery, a stop); a quiet interval ends the timer. */
  readonly flush = (): void => {
    if (this.#counts.size === 0) return this.#stopTimer();
    const counts = Object.fromEntries(this.#counts);
    this.#counts.clear();
    this.write(counts);
  };

  /** Forgets what was counted and stops the timer. */
  stop(): void {
    this.#stopTimer();
    this.#counts.clear();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
