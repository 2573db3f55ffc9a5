// The one place that decides what follows a retryable failure: give up, wait in process, or hand
// the message back to JetStream (nak with a delay). The delivery machine (once per failure, on
// entering `deciding`) and the multi-status path (failed items of a batch) both ask here. Pure: the
// jitter is drawn once per request by the caller and passed in.
import { hasAttemptsLeft, retryDelayMs, type RetryPolicy } from './backoff.js';

/** How a sync retries: the same for each of its deliveries. */
export interface RetryRules {
  policy: RetryPolicy;
  /** Waits up to this long stay in process; longer ones go back to JetStream as nak(delay). */
  maxInProcessWaitMs: number;
  /** In-process retries per JetStream delivery before the wait is handed to JetStream anyway. */
  maxInProcessRetries: number;
}

export interface RetryInput {
  /** The attempt that just failed (1-based, in-process retries included). */
  attempt: number;
  /** In-process retries this delivery already made. */
  retriesInProcess: number;
  /** The destination's Retry-After, when it sent one (already capped). */
  retryAfterMs?: number;
  /** A number in [0, 1) drawn once for this request: the schedule's jitter. */
  jitterDraw: number;
}

export const RETRY_DECISIONS = {
  giveUp: 'give_up',
  waitInProcess: 'wait_in_process',
  backToStream: 'back_to_stream',
} as const;

export type RetryDecision =
  | { kind: typeof RETRY_DECISIONS.giveUp }
  | { kind: typeof RETRY_DECISIONS.waitInProcess; delayMs: number }
  | { kind: typeof RETRY_DECISIONS.backToStream; delayMs: number };

const GIVE_UP: RetryDecision = Object.freeze({ kind: RETRY_DECISIONS.giveUp });

/**
 * After a retryable failure of attempt `attempt`: no attempt left → give up (retries_exhausted);
 * else the wait is Retry-After when given, the schedule's otherwise; a short wait with in-process
 * retries left stays in process, anything else goes back to JetStream with that delay.
 */
export function decideRetry(rules: RetryRules, input: RetryInput): RetryDecision {
  if (!hasAttemptsLeft(rules.policy, input.attempt)) return GIVE_UP;
  const delayMs = input.retryAfterMs ?? retryDelayMs(rules.policy, input.attempt, () => input.jitterDraw);
  if (input.retriesInProcess < rules.maxInProcessRetries && delayMs <= rules.maxInProcessWaitMs) {
    return { kind: RETRY_DECISIONS.waitInProcess, delayMs };
  }
  return { kind: RETRY_DECISIONS.backToStream, delayMs };
}
