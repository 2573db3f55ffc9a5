import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRetry, resolveRetryPolicy, RETRY_DECISIONS, type RetryRules } from '../../daemon/delivery/index.js';

// 4 attempts; waits of 1 s, 2 s, 4 s without jitter (8 s cap); in process up to 3 s, at most 2 times.
const rules: RetryRules = {
  policy: resolveRetryPolicy({ maxAttempts: 4, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 8_000, jitter: 0 }),
  maxInProcessWaitMs: 3_000,
  maxInProcessRetries: 2,
};

describe('retry decision', () => {
  const table: Array<[string, Parameters<typeof decideRetry>[1], ReturnType<typeof decideRetry>]> = [
    ['first failure, short wait: in process', { attempt: 1, retriesInProcess: 0, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.waitInProcess, delayMs: 1_000 }],
    ['second failure, 2 s: still in process', { attempt: 2, retriesInProcess: 1, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.waitInProcess, delayMs: 2_000 }],
    ['in-process retries used up: back to the stream', { attempt: 2, retriesInProcess: 2, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.backToStream, delayMs: 2_000 }],
    ['a wait longer than the in-process bound: back to the stream', { attempt: 3, retriesInProcess: 0, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.backToStream, delayMs: 4_000 }],
    ['Retry-After beats the schedule (short)', { attempt: 3, retriesInProcess: 0, retryAfterMs: 500, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.waitInProcess, delayMs: 500 }],
    ['Retry-After beats the schedule (long)', { attempt: 1, retriesInProcess: 0, retryAfterMs: 60_000, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.backToStream, delayMs: 60_000 }],
    ['Retry-After 0: retried in process at once', { attempt: 1, retriesInProcess: 0, retryAfterMs: 0, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.waitInProcess, delayMs: 0 }],
    ['the last attempt failed: give up', { attempt: 4, retriesInProcess: 0, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.giveUp }],
    ['the last attempt failed, even with Retry-After: give up', { attempt: 4, retriesInProcess: 0, retryAfterMs: 10, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.giveUp }],
    ['past the last attempt (carried attempts): give up', { attempt: 9, retriesInProcess: 0, jitterDraw: 0.5 }, { kind: RETRY_DECISIONS.giveUp }],
  ];
  for (const [behaviour, input, expected] of table) {
    it(behaviour, () => assert.deepEqual(decideRetry(rules, input), expected));
  }

  it('uses the jitter drawn for the request, so asking twice gives one answer', () => {
    const jittery: RetryRules = { ...rules, policy: resolveRetryPolicy({ maxAttempts: 4, initialDelayMs: 2_500, multiplier: 2, maxDelayMs: 8_000, jitter: 0.5 }) };
    const low = { attempt: 1, retriesInProcess: 0, jitterDraw: 0 };
    const high = { attempt: 1, retriesInProcess: 0, jitterDraw: 0.99 };
    assert.deepEqual(decideRetry(jittery, low), { kind: RETRY_DECISIONS.waitInProcess, delayMs: 1_250 });
    assert.deepEqual(decideRetry(jittery, low), decideRetry(jittery, low));
    // The same failure drawn high waits 3,725 ms: past the in-process bound, so it goes back to the stream.
    assert.deepEqual(decideRetry(jittery, high), { kind: RETRY_DECISIONS.backToStream, delayMs: 3_725 });
  });
});
