// Failures are visible without a log storm: while a sync's requests fail, one line at most every
// SUMMARY_INTERVAL_MS with the counts by reason and status and the last error, and one line when it
// recovers. (Each failure is counted in the metrics as it happens; this is for the journal.)
import type { Logger } from '../log.js';

export const FAILURE_SUMMARY_INTERVAL_MS = 10_000;

export class FailureLog {
  #counts = new Map<string, number>();
  #failedSince: number | undefined;
  #failedRequests = 0;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  /** A request failed: `reason` is its classification (http_5xx, timeout, tls, …). */
  failed(reason: string, status: number | undefined, message: string | undefined): void {
    const key = status === undefined ? reason : `${reason} ${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#failedRequests += 1;
    this.#lastError = message;
    if (this.#failedSince === undefined) {
      this.#failedSince = Date.now();
      this.#timer = setInterval(this.#summarise, FAILURE_SUMMARY_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  /** A request succeeded: a failing sync has recovered. */
  succeeded(): void {
    if (this.#failedSince === undefined) return;
    this.#summarise();
    this.log.info('sync recovered', { failedRequests: this.#failedRequests, failingForMs: Date.now() - this.#failedSince });
    this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#failedSince = undefined;
    this.#failedRequests = 0;
    this.#counts.clear();
  }

  readonly #summarise = (): void => {
    if (this.#counts.size === 0) return;
    this.log.warn('sync failing', {
      failures: Object.fromEntries(this.#counts),
      lastError: this.#lastError,
      failingForMs: Date.now() - (this.#failedSince ?? Date.now()),
    });
    this.#counts.clear();
  };
}
