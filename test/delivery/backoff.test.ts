import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY_POLICY, hasAttemptsLeft, resolveRetryPolicy, retryDelayMs, retryScheduleSpanMs, type RetryPolicy } from '../../daemon/delivery/backoff.js';

const MIDDLE = () => 0.5; // no jitter: 2 × 0.5 − 1 = 0
const LOWEST = () => 0;
const HIGHEST = () => 1 - Number.EPSILON;
const HOUR = 3_600_000;

function schedule(policy: RetryPolicy, random: () => number): number[] {
  const waits: number[] = [];
  for (let attempt = 1; hasAttemptsLeft(policy, attempt); attempt++) waits.push(retryDelayMs(policy, attempt, random));
  return waits;
}

describe('delivery backoff', () => {
  it('gives the shortest span of a schedule: every wait at its lowest jitter, none with one attempt', () => {
    const policy = resolveRetryPolicy({ maxAttempts: 4, initialDelayMs: 2_000, multiplier: 2, jitter: 0.2 });
    assert.equal(retryScheduleSpanMs(policy), 0.8 * (2_000 + 4_000 + 8_000));
    assert.equal(retryScheduleSpanMs(policy), schedule(policy, LOWEST).reduce((a, b) => a + b, 0));
    for (let i = 0; i < 100; i++) assert.ok(schedule(policy, Math.random).reduce((a, b) => a + b, 0) >= retryScheduleSpanMs(policy));
    assert.equal(retryScheduleSpanMs(resolveRetryPolicy({ maxAttempts: 1 })), 0);
  });

  it('waits 60 s after the first failure and doubles up to the 2 h cap', () => {
    assert.deepEqual(schedule(DEFAULT_RETRY_POLICY, MIDDLE), [60, 120, 240, 480, 960, 1_920, 3_840, 7_200].map((s) => s * 1_000));
  });

  it('spreads the default 8 waits over about 4 hours, within the jitter bounds', () => {
    const sum = (waits: number[]) => waits.reduce((a, b) => a + b, 0);
    const middle = sum(schedule(DEFAULT_RETRY_POLICY, MIDDLE));
    assert.equal(middle, 14_820_000); // 4.1 h
    const lowest = sum(schedule(DEFAULT_RETRY_POLICY, LOWEST));
    const highest = sum(schedule(DEFAULT_RETRY_POLICY, HIGHEST));
    assert.ok(lowest >= 0.8 * middle - 1 && lowest >= 3 * HOUR, `lowest ${lowest / HOUR} h`);
    // The last wait is already at the cap, so jitter can only shorten it.
    assert.ok(highest <= 1.2 * middle && highest <= 4.6 * HOUR, `highest ${highest / HOUR} h`);
    for (let i = 0; i < 200; i++) {
      const total = sum(schedule(DEFAULT_RETRY_POLICY, Math.random));
      assert.ok(total >= lowest && total <= highest);
    }
  });

  it('keeps each wait within ±jitter of its base', () => {
    for (let attempt = 1; attempt <= 7; attempt++) {
      const base = 60_000 * 2 ** (attempt - 1);
      assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY, attempt, LOWEST), Math.round(base * 0.8));
      assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY, attempt, HIGHEST), Math.round(base * 1.2));
      for (let i = 0; i < 100; i++) {
        const wait = retryDelayMs(DEFAULT_RETRY_POLICY, attempt);
        assert.ok(wait >= base * 0.8 && wait <= base * 1.2, `attempt ${attempt}: ${wait}`);
      }
    }
  });

  it('never waits longer than maxDelayMs, jitter included', () => {
    for (let attempt = 8; attempt <= 40; attempt++) {
      assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY, attempt, HIGHEST), DEFAULT_RETRY_POLICY.maxDelayMs);
      assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY, attempt, LOWEST), DEFAULT_RETRY_POLICY.maxDelayMs * 0.8);
    }
    assert.ok(Number.isFinite(retryDelayMs(DEFAULT_RETRY_POLICY, 5_000, MIDDLE)));
  });

  it('allows 9 attempts by default', () => {
    assert.equal(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 1), true);
    assert.equal(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 8), true);
    assert.equal(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 9), false);
    assert.equal(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 12), false);
  });

  it('merges a destination override onto the defaults', () => {
    const policy = resolveRetryPolicy({ maxAttempts: 3, initialDelayMs: 1_000, jitter: 0 });
    assert.deepEqual(policy, { ...DEFAULT_RETRY_POLICY, maxAttempts: 3, initialDelayMs: 1_000, jitter: 0 });
    assert.deepEqual(schedule(policy, Math.random), [1_000, 2_000]);
  });

  it('keeps the defaults for absent or undefined keys and never mutates them', () => {
    assert.deepEqual(resolveRetryPolicy(), DEFAULT_RETRY_POLICY);
    assert.deepEqual(resolveRetryPolicy({ maxAttempts: undefined }), DEFAULT_RETRY_POLICY);
    const policy = resolveRetryPolicy({});
    policy.maxAttempts = 1;
    assert.equal(DEFAULT_RETRY_POLICY.maxAttempts, 9);
  });

  it('caps an override with its own maxDelayMs', () => {
    const policy = resolveRetryPolicy({ initialDelayMs: 10_000, multiplier: 3, maxDelayMs: 60_000, jitter: 0 });
    assert.deepEqual(schedule(policy, MIDDLE), [10_000, 30_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('rejects an override that cannot make a schedule, naming the field', () => {
    assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), /retry\.maxAttempts/);
    assert.throws(() => resolveRetryPolicy({ maxAttempts: 2.5 }), /retry\.maxAttempts/);
    assert.throws(() => resolveRetryPolicy({ multiplier: 0.5 }), /retry\.multiplier/);
    assert.throws(() => resolveRetryPolicy({ jitter: 1.5 }), /retry\.jitter/);
    assert.throws(() => resolveRetryPolicy({ initialDelayMs: -1 }), /retry\.initialDelayMs/);
    assert.throws(() => resolveRetryPolicy({ maxDelayMs: Number.NaN }), /retry\.maxDelayMs/);
  });
});
