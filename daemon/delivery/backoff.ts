// The retry schedule: exponential, capped, with jitter. Pure functions; the delivery machine owns
// the retries (one retry owner), JetStream carries the long waits (nak(delay)).
import {
  DEFAULT_RETRY_INITIAL_DELAY_MS,
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_MAX_ATTEMPTS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_RETRY_MULTIPLIER,
} from '../defaults.js';
import type { RetryPolicy as RetryPolicyOverride } from '../../schema/generated/destination.js';

/**
 * A destination's retry schedule with every field set (the schema's RetryPolicy is the override):
 * maxAttempts counts the first attempt; initialDelayMs is the wait after it; each further wait is
 * the previous one times multiplier; maxDelayMs caps every wait, jitter included; jitter is the
 * spread of each wait as a fraction (0.2 means ±20 %).
 */
export type RetryPolicy = Required<RetryPolicyOverride>;

/** 9 attempts over about 4 hours: waits of 60 s, 120 s, … 3840 s, then 7200 s (the cap): 4.1 h (3.3–4.5 h with jitter). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: DEFAULT_RETRY_MAX_ATTEMPTS,
  initialDelayMs: DEFAULT_RETRY_INITIAL_DELAY_MS,
  multiplier: DEFAULT_RETRY_MULTIPLIER,
  maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
  jitter: DEFAULT_RETRY_JITTER,
});

/**
 * How long to wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed:
 * initialDelayMs × multiplier^(attempt-1), capped at maxDelayMs, then spread by ±jitter and capped
 * again (maxDelayMs is a true maximum). `random` returns [0, 1) like Math.random.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  const spread = policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base * (1 + spread))));
}

/**
 * The shortest time an event can take from its first failed attempt to its last: every wait of the
 * schedule at its lowest (jitter drawn at its low end). A destination failing everything for less
 * than this has used up no event's attempts (Retry-After aside: the destination sets those waits).
 */
export function retryScheduleSpanMs(policy: RetryPolicy): number {
  let spanMs = 0;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) spanMs += retryDelayMs(policy, attempt, () => 0);
  return spanMs;
}

/** Whether another attempt may follow attempt `attempt` (1-based). */
export function hasAttemptsLeft(policy: RetryPolicy, attempt: number): boolean {
  return attempt < policy.maxAttempts;
}

/**
 * A destination's partial override merged onto the defaults. Keys that are absent or undefined keep
 * the default. Throws a RangeError naming the field when a value cannot make a schedule (the schema
 * checks this first; this guards callers that skip it).
 */
export function resolveRetryPolicy(override?: RetryPolicyOverride): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  if (override) {
    for (const key of Object.keys(DEFAULT_RETRY_POLICY) as Array<keyof RetryPolicy>) {
      const value = override[key];
      if (value !== undefined) policy[key] = value;
    }
  }
  check(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1, 'maxAttempts', 'an integer of at least 1', policy.maxAttempts);
  check(Number.isFinite(policy.initialDelayMs) && policy.initialDelayMs >= 0, 'initialDelayMs', 'a number of at least 0', policy.initialDelayMs);
  check(Number.isFinite(policy.multiplier) && policy.multiplier >= 1, 'multiplier', 'a number of at least 1', policy.multiplier);
  check(Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs >= 0, 'maxDelayMs', 'a number of at least 0', policy.maxDelayMs);
  check(Number.isFinite(policy.jitter) && policy.jitter >= 0 && policy.jitter <= 1, 'jitter', 'a number from 0 to 1', policy.jitter);
  return policy;
}

function check(ok: boolean, field: keyof RetryPolicy, expected: string, value: unknown): void {
  if (!ok) throw new RangeError(`retry.${field} must be ${expected}, got ${JSON.stringify(value)}`);
}
