// The intake's part that needs no consumer: the messages in hand, the heartbeat that tells JetStream
// they are still worked on, the drain's wait for them, and its requests counted at the gate. The
// pull loop and the consumer's binding run against a real nats-server in the daemon tests
// (lifecycle, nats-outage, routing). Message handles record what JetStream is told.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { InFlightGate, Intake } from '../../daemon/consumer/index.js';
import { createLogger } from '../../daemon/log.js';
import { testSettings } from '../helpers/daemon.js';
import { testEvent } from '../helpers/destination-folder.js';
import { RecordingMsg } from '../helpers/recording-msg.js';

/** These tests never bind a consumer: touching JetStream fails the test. */
const untouchable = <T>(what: string) => new Proxy({}, { get: (_, key) => assert.fail(`${what} touched (${String(key)})`) }) as T;

function setUp(gate = new InFlightGate(10, 2)) {
  const intake = new Intake({
    js: untouchable<JetStreamClient>('JetStream'),
    jsm: untouchable<JetStreamManager>('JetStream manager'),
    settings: testSettings('nats://127.0.0.1:1', '/nonexistent'),
    consumerName: 'hook__main',
    startAt: 'new',
    gate,
    sync: 'hook.main',
    log: createLogger({ level: 'error', write: () => {} }),
  });
  const messages = [1, 2, 3].map((sequence) => new RecordingMsg(testEvent(sequence), sequence));
  return { intake, gate, messages };
}

describe('consumer intake', () => {
  it('tells JetStream each message in hand is still worked on, each beat, and nothing about those let go', () => {
    const { intake, messages } = setUp();
    const [a, b, c] = messages;
    for (const m of messages) intake.hold(m.msg);
    intake.letGo([b.msg]);
    intake.heartbeat();
    intake.heartbeat();
    assert.deepEqual(a.acts, [['working'], ['working']]);
    assert.deepEqual(b.acts, []);
    assert.deepEqual(c.acts, [['working'], ['working']]);
    assert.equal(intake.inHand, 2);
  });

  it('settles nothing: holding and letting go never ack, nak or term', () => {
    const { intake, messages } = setUp();
    for (const m of messages) intake.hold(m.msg);
    intake.letGo(messages.map((m) => m.msg));
    for (const m of messages) assert.deepEqual(m.acts, []);
    assert.equal(intake.inHand, 0);
  });

  it('lets a drain wait until the last message in hand is let go', async () => {
    const { intake, messages } = setUp();
    const [a, b] = messages;
    intake.hold(a.msg);
    intake.hold(b.msg);
    let empty = false;
    const waiting = intake.whenEmpty(60_000).then(() => (empty = true));
    intake.letGo([a.msg]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(empty, false);
    intake.letGo([b.msg]);
    await waiting;
    assert.equal(empty, true);
  });

  it("gives up waiting for a drain after its timeout, on the mocked clock", async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { intake, messages } = setUp();
    intake.hold(messages[0].msg);
    let over = false;
    const waiting = intake.whenEmpty(2_000).then(() => (over = true));
    t.mock.timers.tick(1_999);
    await Promise.resolve();
    assert.equal(over, false);
    t.mock.timers.tick(1);
    await waiting;
    assert.equal(intake.inHand, 1, 'what was in hand is still in hand');
  });

  it("counts its requests at the destination's gate, where its sync's cap is decided", () => {
    const { intake, gate } = setUp(new InFlightGate(10, 2));
    gate.join(intake, 'hook.main'); // what start() does
    intake.requestStarted();
    intake.requestStarted();
    assert.equal(gate.requestsOf('hook.main'), 2);
    assert.equal(gate.syncFull(intake), true);
    intake.retryWaitStarted();
    assert.equal(gate.inFlight, 1, 'a request waiting for a retry holds no destination slot');
    assert.equal(gate.syncFull(intake), true, '…but keeps its place in the sync cap');
    intake.retryWaitEnded();
    intake.requestEnded();
    assert.equal(gate.syncFull(intake), false);
    assert.equal(intake.parkedAt, undefined, 'not parked: it was never pulling');
  });
});
