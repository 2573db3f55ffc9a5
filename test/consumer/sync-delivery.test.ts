// One request's delivery as a sync runs it, on XState's SimulatedClock, with no NATS server: the
// destination is a real node:http server on 127.0.0.1, the send goes through the sync's real
// limiter and sender, Outcomes settles, and the message handles record what JetStream is told.
// The dead-letter paths need the DEAD stream and are tested against a real server (outcomes.test.ts).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import { SimulatedClock } from 'xstate';
import type { DaemonSettings } from '../../daemon/config/index.js';
import { Outcomes, SyncDelivery, type DeliveryItem } from '../../daemon/consumer/index.js';
import { FailureLog } from '../../daemon/consumer/failure-log.js';
import { CircuitBreaker, DELIVERY_RUNTIMES, DeliveryActors, resolveCircuitBreaker, resolveRetryPolicy, type DeliveryRules } from '../../daemon/delivery/index.js';
import { SyncLimiter } from '../../daemon/limit/index.js';
import { createLogger } from '../../daemon/log.js';
import { loadDestinations, type LoadedSync } from '../../daemon/registry/index.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import { SyncStats, SyncTracer } from '../../daemon/telemetry/index.js';
import { testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { RecordingMsg } from '../helpers/recording-msg.js';

/** No path these tests take writes a dead letter: touching JetStream fails the test. */
const NO_JETSTREAM = new Proxy({}, { get: (_, key) => assert.fail(`JetStream touched (${String(key)}): a dead letter was written`) }) as JetStreamClient;

const quiet = createLogger({ level: 'error', write: () => {} });

/** The destination: answers each request with the next scripted status (and headers). */
class Sink {
  readonly server: Server;
  readonly bodies: string[] = [];
  readonly answers: Array<{ status: number; headers?: Record<string, string> }> = [];

  constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.bodies.push(body);
        const answer = this.answers.shift() ?? { status: 200 };
        response.writeHead(answer.status, answer.headers).end('{}');
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

/** Polls `condition` until it holds, within a bounded deadline (real time: the HTTP exchange is real). */
async function until(condition: () => boolean, what: string, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// On both runtimes of the delivery machine: the table derived from it, and XState's interpreter.
for (const runtime of Object.values(DELIVERY_RUNTIMES)) {
  describe(`consumer sync-delivery (${runtime} runtime)`, () => {
    const folders = makeDestinationsDir();
    const sink = new Sink();
    const sender = new HttpSender({ requestTimeoutMs: 5_000 });
    let sync: LoadedSync;
    let settings: DaemonSettings;

    before(async () => {
      await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve));
      process.env.SYNC_DELIVERY_TOKEN = 'T0KEN-sd';
      writeDestinationFolder(folders.dir, 'hook', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'SYNC_DELIVERY_TOKEN' } } } } });
      const loaded = await loadDestinations(folders.dir, { resolveSecrets: true });
      assert.deepEqual(loaded.problems.filter((problem) => problem.severity === 'error'), []);
      sync = loaded.destinations[0].syncs[0];
      settings = testSettings('nats://127.0.0.1:1', folders.dir);
    });
    after(async () => {
      await sender.close();
      await new Promise((resolve) => sink.server.close(resolve));
      folders.remove();
    });

    let sequence = 0;
    /** One sync's delivery parts, real except the message handles; `initialDelayMs` sets the retry schedule's first wait. */
    function setUp(initialDelayMs: number) {
      const rules: DeliveryRules = { policy: resolveRetryPolicy({ maxAttempts: 5, initialDelayMs, multiplier: 2, jitter: 0 }), maxInProcessWaitMs: 5_000, maxInProcessRetries: 3 };
      const stats = new SyncStats();
      const hand = { letGo: [] as number[], requestsEnded: 0 };
      const slots: string[] = [];
      const limiter = new SyncLimiter({ name: sync.id });
      const breaker = new CircuitBreaker(resolveCircuitBreaker({ enabled: false }), { opened: () => {}, halfOpened: () => {}, closed: () => {} });
      const outcomes = new Outcomes(sync, {
        js: NO_JETSTREAM,
        settings,
        stats,
        log: quiet,
        rules,
        hand: { letGo: (msgs) => hand.letGo.push(...msgs.map((msg) => msg.info.streamSequence)), requestEnded: () => (hand.requestsEnded += 1) },
      });
      const clock = new SimulatedClock();
      const actors = new DeliveryActors({ keepIdle: 4, clock, runtime });
      const tracer = new SyncTracer(sync, 'hook__main');
      const services = {
        sync,
        rules,
        stats,
        limiter,
        sender,
        settings,
        outcomes,
        log: quiet,
        responseBytes: undefined,
        breaker,
        failures: new FailureLog(quiet),
        slots: { retryWaitStarted: () => slots.push('retry wait started'), retryWaitEnded: () => slots.push('retry wait ended') },
      };
      const deliver = (...msgs: RecordingMsg[]) => {
        const items: DeliveryItem[] = msgs.map((m) => ({ msg: m.msg, context: buildEventContext(m.event as never, sync.selection), bytes: m.data.length }));
        const delivery = new SyncDelivery(services, items, 'track', 1, tracer.start(items, 'track', 1));
        actors.start(delivery);
        return delivery;
      };
      const message = () => new RecordingMsg(testEvent(++sequence), sequence);
      return { deliver, message, stats, hand, slots, clock, limiter, outcomes, failures: services.failures };
    }

    it('acks a delivered message once, after the answer, and frees its request', async () => {
      const { deliver, message, stats, hand, outcomes, failures } = setUp(60_000);
      const msg = message();
      const delivery = deliver(msg);
      await until(() => delivery.outcome !== undefined, 'the outcome');
      assert.equal(delivery.outcome, 'delivered');
      await until(() => msg.acts.length > 0, 'the ack at the end of the turn');
      assert.deepEqual(msg.acts, [['ack']]);
      assert.deepEqual(hand, { letGo: [msg.info.streamSequence], requestsEnded: 1 });
      assert.equal(stats.requests, 1);
      assert.equal(stats.deliveredFirstAttempt, 1);
      outcomes.stopLogging();
      failures.stop();
    });

    it('retries a short wait in process on the simulated clock, giving its destination slot back meanwhile, and acks once delivered', async () => {
      const { deliver, message, stats, slots, clock, outcomes, failures } = setUp(1_000);
      sink.answers.push({ status: 503 });
      const msg = message();
      const delivery = deliver(msg);
      await until(() => slots.length === 1, 'the retry wait');
      assert.deepEqual(slots, ['retry wait started']);
      assert.deepEqual(msg.acts, [], 'nothing is told to JetStream while the retry waits in process');
      clock.increment(999);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(stats.requests, 1, 'not before the wait is over');
      clock.increment(1);
      await until(() => delivery.outcome !== undefined, 'the outcome');
      await until(() => msg.acts.length > 0, 'the ack');
      assert.deepEqual(msg.acts, [['ack']]);
      assert.deepEqual(slots, ['retry wait started', 'retry wait ended']);
      assert.equal(stats.requests, 2);
      assert.equal(stats.deliveredAfterRetry, 1);
      outcomes.stopLogging();
      failures.stop();
    });

    it('hands a long wait to JetStream: nak with the delay, the attempt spent (the next delivery is attempt 2)', async () => {
      const { deliver, message, hand, outcomes, failures } = setUp(60_000);
      sink.answers.push({ status: 503 });
      const msg = message();
      const delivery = deliver(msg);
      await until(() => msg.acts.length > 0, 'the nak');
      assert.equal(delivery.outcome, 'deferred');
      assert.deepEqual(msg.acts, [['nak', 60_000]]);
      assert.deepEqual(hand, { letGo: [msg.info.streamSequence], requestsEnded: 1 });
      msg.info.deliveryCount = 2;
      assert.equal(outcomes.attemptOf(msg.msg), 2);
      outcomes.stopLogging();
      failures.stop();
    });

    it('pauses the whole sync on Retry-After, then hands the message back with that delay', async () => {
      const { deliver, message, limiter, outcomes, failures } = setUp(1_000);
      sink.answers.push({ status: 429, headers: { 'retry-after': '30' } });
      const msg = message();
      deliver(msg);
      await until(() => msg.acts.length > 0, 'the nak');
      assert.deepEqual(msg.acts, [['nak', 30_000]]);
      assert.ok(limiter.pausedUntil > 0, "the sync's limiter is paused");
      await limiter.stop();
      outcomes.stopLogging();
      failures.stop();
    });

    it('releases a request the limiter refused before sending: nak at once, nothing sent', async () => {
      const { deliver, message, stats, limiter, outcomes, failures } = setUp(60_000);
      await limiter.stop();
      const msg = message();
      const delivery = deliver(msg);
      await until(() => msg.acts.length > 0, 'the nak');
      assert.equal(delivery.outcome, 'released');
      assert.deepEqual(msg.acts, [['nak', undefined]]);
      assert.equal(stats.responsesByClass.size, 0, 'no answer was counted');
      outcomes.stopLogging();
      failures.stop();
    });
  });
}
