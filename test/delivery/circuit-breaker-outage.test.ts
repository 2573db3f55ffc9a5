// Issue 24, finding 7: with the 60 s window full of earlier successes, an outage took 26 s to open
// the breaker and events used up their retry schedules meanwhile. A sync is simulated on a mocked
// clock (10 ms steps): events arrive at a steady rate, each attempt is answered 10 ms after it goes
// out, a retryable failure is retried on the schedule (jitter drawn from a seeded generator) or
// dead-lettered after its last attempt, and what the breaker holds off waits (costing no attempt)
// for its probe and its closing, as the sync runner does.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CircuitBreaker, resolveCircuitBreaker, resolveRetryPolicy, retryDelayMs, type CircuitBreakerPolicy, type OpenedBy } from '../../daemon/delivery/index.js';
import type { CircuitBreaker as CircuitBreakerSettings, RetryPolicy as RetrySettings } from '../../schema/generated/destination.js';

const STEP_MS = 10;
const THREE_SECONDS: RetrySettings = { maxAttempts: 3, initialDelayMs: 1_000, multiplier: 2, jitter: 0.2 }; // waits 1 s + 2 s
const FOURTEEN_SECONDS: RetrySettings = { maxAttempts: 4, initialDelayMs: 2_000, multiplier: 2, jitter: 0.2 }; // 2 + 4 + 8 s

interface Scenario {
  retry: RetrySettings;
  breaker?: CircuitBreakerSettings;
  /** Events per second, from 0 until 5 s before `endMs` (what is in flight then settles). */
  perSecond: number;
  /** Whether an attempt sent at `at` fails (retryably). */
  fails: (at: number, draw: () => number) => boolean;
  endMs: number;
  /** Changes the resolved policy (to show what the breaker did before this change). */
  adjust?: (policy: CircuitBreakerPolicy) => void;
}

/** Seeded, so a run is the same each time: mulberry32. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function simulate(t: TestContext, scenario: Scenario) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const draw = generator(24);
  const retry = resolveRetryPolicy(scenario.retry);
  const policy = resolveCircuitBreaker({ probeIntervalMs: 1_000, maxProbeIntervalMs: 4_000, ...scenario.breaker }, retry);
  scenario.adjust?.(policy);
  const due = new Map<number, Array<() => void>>();
  const at = (ms: number, action: () => void) => {
    const step = Math.ceil(ms / STEP_MS) * STEP_MS;
    due.set(step, [...(due.get(step) ?? []), action]);
  };
  const held: Array<{ id: number; attempt: number }> = [];
  const opened: Array<{ at: number; by: OpenedBy }> = [];
  const result = { delivered: new Set<number>(), deadLettered: 0, requests: 0, failedRequests: 0, opened };
  const breaker = new CircuitBreaker(policy, {
    opened: ({ openedBy, reopened }) => {
      if (!reopened) opened.push({ at: Date.now(), by: openedBy });
    },
    halfOpened: () => {
      const probe = held.shift();
      if (probe) attempt(probe.id, probe.attempt);
    },
    closed: () => {
      for (const { id, attempt: number } of held.splice(0)) at(Date.now() + STEP_MS, () => attempt(id, number));
    },
  });
  function attempt(id: number, number: number): void {
    if (!breaker.admits) return void held.push({ id, attempt: number });
    breaker.sending();
    result.requests += 1;
    const failed = scenario.fails(Date.now(), draw);
    at(Date.now() + STEP_MS, () => {
      if (!failed) {
        breaker.succeeded();
        return void result.delivered.add(id);
      }
      result.failedRequests += 1;
      breaker.failed();
      // Held off: back to the stream for the breaker's wait, the attempt not spent.
      if (breaker.state !== 'closed') return void held.push({ id, attempt: number });
      if (number >= retry.maxAttempts) return void (result.deadLettered += 1);
      const jitter = draw();
      at(Date.now() + retryDelayMs(retry, number, () => jitter), () => attempt(id, number + 1));
    });
  }
  let next = 0;
  for (let now = 0; now <= scenario.endMs; now += STEP_MS) {
    if (now > 0) t.mock.timers.tick(STEP_MS);
    while (now < scenario.endMs - 5_000 && next * 1_000 < now * scenario.perSecond) attempt(next++, 1);
    const actions = due.get(now) ?? [];
    due.delete(now);
    for (const action of actions) action();
  }
  breaker.stop();
  return { ...result, events: next, breaker };
}

/** A 60 s backlog of successes, then the destination answers 503 to everything for `downMs`, then it is back. */
const outageAfterBacklog = (downMs: number) => (at: number) => at >= 60_000 && at < 60_000 + downMs;

describe('circuit breaker in an outage after a backlog of successes', () => {
  for (const [name, retry] of [['3 s', THREE_SECONDS], ['14 s', FOURTEEN_SECONDS]] as const) {
    it(`with a ${name} schedule: opens at once, no event runs out of attempts, every event delivered once the destination is back`, (t) => {
      const run = simulate(t, { retry, perSecond: 135, fails: outageAfterBacklog(40_000), endMs: 130_000 });
      assert.equal(run.deadLettered, 0);
      assert.equal(run.opened[0].by, 'consecutive_failures');
      assert.ok(run.opened[0].at - 60_000 <= 250, `open ${run.opened[0].at - 60_000} ms into the outage`);
      assert.equal(run.delivered.size, run.events, `${run.events} events`);
      assert.equal(run.breaker.state, 'closed');
    });

    it(`with a ${name} schedule and consecutiveFailures out of reach: the schedule rule opens it before any event's last attempt`, (t) => {
      const run = simulate(t, { retry, breaker: { consecutiveFailures: 100_000 }, perSecond: 135, fails: outageAfterBacklog(40_000), endMs: 130_000 });
      assert.equal(run.deadLettered, 0);
      assert.equal(run.opened[0].by, 'retry_schedule');
      assert.equal(run.delivered.size, run.events);
    });

    it(`with a ${name} schedule, the failure rate alone (before this change) dead-letters events: the simulation reproduces the finding`, (t) => {
      const run = simulate(t, {
        retry,
        breaker: { consecutiveFailures: 100_000 },
        perSecond: 135,
        fails: outageAfterBacklog(40_000),
        endMs: 130_000,
        adjust: (policy) => void (policy.retrySchedule.maxAttempts = Infinity),
      });
      assert.ok(run.deadLettered > 0, `${run.deadLettered} dead-lettered`);
      assert.equal(run.opened[0].by, 'failure_rate');
      assert.ok(run.opened[0].at - 60_000 > 10_000, `the rate opened it ${run.opened[0].at - 60_000} ms into the outage`);
    });
  }

  it('at a trickle (an event every 2 s, fewer failures than consecutiveFailures in a schedule): the schedule rule still opens it in time', (t) => {
    const run = simulate(t, { retry: THREE_SECONDS, perSecond: 0.5, fails: outageAfterBacklog(30_000), endMs: 120_000 });
    assert.equal(run.deadLettered, 0);
    assert.equal(run.opened[0].by, 'retry_schedule');
    assert.equal(run.delivered.size, run.events);
  });

  it('does not open for a destination that answers most requests: 30 % of them failing at random dead-letters the unlucky events', (t) => {
    const run = simulate(t, { retry: THREE_SECONDS, perSecond: 135, fails: (_at, draw) => draw() < 0.3, endMs: 60_000 });
    assert.deepEqual(run.opened, []);
    assert.ok(run.deadLettered > 0, 'about 2.7 % of events fail all three attempts');
    assert.ok(run.failedRequests > 1_000);
  });
});
