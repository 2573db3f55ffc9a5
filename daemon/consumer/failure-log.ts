// Failures are visible without a log storm: while a sync's requests fail, one line at most every
// SUMMARY_INTERVAL_MS with the counts by reason and status and the last error, and one line when it
// recovers (the mechanism is PeriodicSummary's; dead letters are summarised the same way). A failure
// among successes (a destination refusing one event in ten) is not a spell of its own: it goes out
// in the next summary, and "recovered" follows only a spell that was reported.
import type { Logger } from '../log.js';
import type { FailureReason } from '../reasons.js';
import { PeriodicSummary, SUMMARY_INTERVAL_MS } from './periodic-summary.js';

export const FAILURE_SUMMARY_INTERVAL_MS = SUMMARY_INTERVAL_MS;

export class FailureLog {
  #failedSince: number | undefined;
  #failedRequests = 0;
  #lastError: string | undefined;
  /** A 'sync failing' line was written for this spell. */
  #reported = false;
  readonly #summary: PeriodicSummary;

  constructor(private readonly log: Logger) {
    this.#summary = new PeriodicSummary((failures) => {
      this.#reported = true;
      this.log.warn('sync failing', { failures, lastError: this.#lastError, failingForMs: Date.now() - (this.#failedSince ?? Date.now()) });
    });
  }

  /** A request failed: `reason` is its classification (http_5xx, timeout, tls, …). */
  failed(reason: FailureReason, status: number | undefined, message: string | undefined): void {
    this.#summary.count(status === undefined ? reason : `${reason} ${status}`);
    this.#failedRequests += 1;
    this.#lastError = message;
    this.#failedSince ??= Date.now();
  }

  /** A request succeeded: a failing sync has recovered. */
  succeeded(): void {
    if (this.#failedSince === undefined || !this.#reported) return;
    this.#summary.flush();
    this.log.info('sync recovered', { failedRequests: this.#failedRequests, failingForMs: Date.now() - this.#failedSince });
    this.stop();
  }

  stop(): void {
    this.#summary.stop();
    this.#failedSince = undefined;
    this.#failedRequests = 0;
    this.#reported = false;
  }
}
