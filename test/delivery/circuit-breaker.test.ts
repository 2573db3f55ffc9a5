import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CircuitBreaker, resolveCircuitBreaker } from '../../daemon/delivery/index.js';

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
});
