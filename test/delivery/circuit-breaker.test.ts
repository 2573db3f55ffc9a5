import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CircuitBreaker, resolveCircuitBreaker, resolveRetryPolicy } from '../../daemon/delivery/index.js';

function breaker(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const events: string[] = [];
  const subject = new CircuitBreaker(resolveCircuitBreaker({ minimumRequests: 10, failureRate: 0.7, windowSeconds: 60, probeIntervalMs: 1_000, maxProbeIntervalMs: 4_000, alertAfterSeconds: 10 }), {
    opened: ({ reopened, probeInMs }) => events.push(`${reopened ? 'reopened' : 'opened'} ${probeInMs}`),
    halfOpened: () => events.push('half-open'),
    closed: (openForMs) => events.push(`closed after ${openForMs}`),
  });
  return { subject, events };
}

describe('circuit breaker', () => {
  it('opens at the failure rate once the window holds enough requests, not before', (t) => {
    const { subject, events } = breaker(t);
    for (let i = 0; i < 9; i++) subject.failed();
    assert.equal(subject.state, 'closed', '9 requests are under the minimum of 10');
    subject.failed();
    assert.equal(subject.state, 'open');
    assert.deepEqual(events, ['opened 1000']);
    assert.equal(subject.admits, false);
  });

  it('does not open while successes (and permanent failures, which count as answers) keep the rate under the threshold', (t) => {
    const { subject } = breaker(t);
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) subject.succeeded();
      else subject.failed();
    }
    assert.equal(subject.state, 'closed', '67 % failures < 70 %');
  });

  it('forgets failures older than its window', (t) => {
    const { subject } = breaker(t);
    for (let i = 0; i < 9; i++) subject.failed();
    t.mock.timers.tick(61_000);
    subject.failed();
    assert.equal(subject.state, 'closed');
  });

  it('probes with one request at doubling intervals, closes on a success, and says when it has been open too long', (t) => {
    const { subject, events } = breaker(t);
    const tick = (ms: number) => t.mock.timers.tick(ms);
    for (let i = 0; i < 10; i++) subject.failed();
    tick(1_000);
    assert.equal(subject.state, 'half_open');
    assert.equal(subject.admits, true, 'one probe may go');
    subject.sending();
    assert.equal(subject.admits, false, 'only one');
    subject.failed();
    tick(2_000);
    subject.sending();
    subject.failed();
    tick(4_000);
    subject.sending();
    subject.failed();
    assert.deepEqual(events, ['opened 1000', 'half-open', 'reopened 2000', 'half-open', 'reopened 4000', 'half-open', 'reopened 4000']);
    assert.equal(subject.openTooLong(), false);
    tick(4_000);
    assert.equal(subject.openTooLong(), true, 'open 11 s, alert after 10');
    subject.sending();
    subject.succeeded();
    assert.equal(subject.state, 'closed');
    assert.equal(events.at(-1), 'closed after 11000');
    assert.equal(subject.openTooLong(), false);
  });

  it('opens on consecutiveFailures in a row whatever the window holds; an answer (a success or a 4xx) starts the count again', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const openedBy: string[] = [];
    const subject = new CircuitBreaker(resolveCircuitBreaker({ consecutiveFailures: 5 }), { opened: (details) => openedBy.push(`${details.openedBy} ${details.failuresInARow}`), halfOpened() {}, closed() {} });
    for (let i = 0; i < 1_000; i++) subject.succeeded();
    for (let i = 0; i < 4; i++) subject.failed();
    subject.succeeded();
    for (let i = 0; i < 4; i++) subject.failed();
    assert.equal(subject.state, 'closed', 'never 5 in a row');
    subject.failed();
    assert.equal(subject.state, 'open');
    assert.deepEqual(openedBy, ['consecutive_failures 5']);
  });

  it('opens on a run as long as an event\'s retry schedule: as many failures as attempts, over at least its shortest span', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const retry = resolveRetryPolicy({ maxAttempts: 3, initialDelayMs: 1_000, multiplier: 2, jitter: 0.2 }); // shortest span 0.8 + 1.6 s
    const openedBy: string[] = [];
    const subject = new CircuitBreaker(resolveCircuitBreaker({}, retry), { opened: (details) => openedBy.push(details.openedBy), halfOpened() {}, closed() {} });
    assert.equal(subject.policy.retrySchedule.spanMs, 2_400);
    for (let i = 0; i < 1_000; i++) subject.succeeded();
    for (let i = 0; i < 10; i++) subject.failed();
    assert.equal(subject.state, 'closed', '10 failures in a row within the same instant: no event could have used its schedule');
    t.mock.timers.tick(2_399);
    subject.failed();
    assert.equal(subject.state, 'closed', 'a millisecond short of the span');
    t.mock.timers.tick(1);
    subject.failed();
    assert.deepEqual(openedBy, ['retry_schedule']);
  });

  it('does not count a run shorter than the schedule\'s attempts, and with one attempt has no retries to save', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const threeAttempts = new CircuitBreaker(resolveCircuitBreaker({}, resolveRetryPolicy({ maxAttempts: 3, initialDelayMs: 0 })), { opened() {}, halfOpened() {}, closed() {} });
    const oneAttempt = new CircuitBreaker(resolveCircuitBreaker({}, resolveRetryPolicy({ maxAttempts: 1 })), { opened() {}, halfOpened() {}, closed() {} });
    threeAttempts.failed();
    t.mock.timers.tick(60_000);
    threeAttempts.failed();
    oneAttempt.failed();
    assert.equal(threeAttempts.state, 'closed', 'two failures cannot be an event of three attempts');
    assert.equal(oneAttempt.state, 'closed', 'a single failure says nothing about the destination');
    threeAttempts.failed();
    assert.equal(threeAttempts.state, 'open');
  });
});
