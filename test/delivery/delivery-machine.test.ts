import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from 'xstate';
import {
  classify,
  Delivery,
  DELIVERY_RUNTIMES,
  DeliveryActors,
  type DeliveryActor,
  type DeliveryCancel,
  type DeliveryHandle,
  type DeliveryRuntime,
  type DeliveryState,
  type RenderFailure,
  resolveRetryPolicy,
  type SendResult,
} from '../../daemon/delivery/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';

const REQUEST: RenderedRequest = { method: 'POST', url: 'http://127.0.0.1:1/track', headers: { 'content-type': 'application/json' }, body: '{}' };

/** A delivery whose sends answer from a script of results, recording what the machine asked for. */
class ScriptedDelivery extends Delivery {
  readonly log: string[] = [];
  readonly pauses: number[] = [];
  readonly signals: DeliveryCancel[] = [];
  readonly done: Promise<ScriptedDelivery>;
  private resolve!: (delivery: ScriptedDelivery) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly results: SendResult[],
    options: { attempt?: number; maxInProcessWaitMs?: number; maxAttempts?: number; renderFails?: boolean } = {},
  ) {
    super(options.attempt ?? 1, {
      policy: resolveRetryPolicy({ maxAttempts: options.maxAttempts ?? 3, initialDelayMs: 60_000, multiplier: 2, jitter: 0 }),
      maxInProcessWaitMs: options.maxInProcessWaitMs ?? 5_000,
      maxInProcessRetries: 3,
    });
    this.renderFails = options.renderFails ?? false;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private readonly renderFails: boolean;

  render(): RenderedRequest | RenderFailure {
    return this.renderFails ? { failed: true, code: 'render_failed', message: 'body.njk:3:5: boom' } : REQUEST;
  }

  send(self: DeliveryHandle, _request: RenderedRequest, cancel: DeliveryCancel): void {
    this.signals.push(cancel);
    const result = this.results.shift();
    if (result) queueMicrotask(() => self.send({ type: 'sent', result }));
  }

  pause(ms: number): void {
    this.pauses.push(ms);
  }

  override entered(state: DeliveryState): void {
    this.log.push(state);
  }

  settled(): void {
    this.resolve(this);
  }

  failed(error: unknown): void {
    this.reject(error);
  }
}

function start(delivery: ScriptedDelivery, options: { clock?: SimulatedClock; actors?: DeliveryActors; runtime?: DeliveryRuntime } = {}) {
  const actors = options.actors ?? new DeliveryActors({ keepIdle: 4, clock: options.clock, runtime: options.runtime });
  const actor: DeliveryActor = actors.start(delivery);
  return { actor, actors, done: delivery.done };
}

const ok = (status = 200) => classify({ status, headers: {} });
const fail = (status: number, headers: Record<string, string> = {}) => classify({ status, headers, now: 0 });

// The machine's tests run on both runtimes: the table derived from it, and XState's interpreter.
for (const runtime of Object.values(DELIVERY_RUNTIMES)) {
  describe(`delivery machine (${runtime} runtime)`, () => {
    it('delivers on a 2xx after rendering and sending once', async () => {
      const output = await start(new ScriptedDelivery([ok()]), { runtime }).done;
      const log = output.log;
      assert.equal(output.outcome, 'delivered');
      assert.equal(output.status, 200);
      assert.equal(output.requests, 1);
      assert.deepEqual(log, ['rendering', 'sending', 'delivered']);
    });

    it('goes dead with render_failed when the template fails, without sending', async () => {
      const output = await start(new ScriptedDelivery([], { renderFails: true }), { runtime }).done;
      const signals = output.signals;
      assert.equal(output.outcome, 'dead');
      assert.equal(output.reason, 'render_failed');
      assert.match(output.message ?? '', /body\.njk:3:5/);
      assert.equal(signals.length, 0);
    });

    it('goes dead at once with http_4xx on a 400', async () => {
      const output = await start(new ScriptedDelivery([fail(400)]), { runtime }).done;
      assert.deepEqual([output.outcome, output.reason, output.status, output.requests], ['dead', 'http_4xx', 400, 1]);
    });

    it('defers a 500 to JetStream with the schedule delay while attempts are left', async () => {
      const output = await start(new ScriptedDelivery([fail(500)], { attempt: 2 }), { runtime }).done;
      assert.equal(output.outcome, 'deferred');
      assert.equal(output.delayMs, 120_000, 'second attempt waits initial × multiplier');
      assert.equal(output.status, 500);
    });

    it('goes dead with retries_exhausted when the last attempt fails', async () => {
      const output = await start(new ScriptedDelivery([fail(503)], { attempt: 3 }), { runtime }).done;
      assert.deepEqual([output.outcome, output.reason, output.status], ['dead', 'retries_exhausted', 503]);
    });

    it('waits in process for a short Retry-After, pauses the limiter, then sends again', async () => {
      const clock = new SimulatedClock();
      const delivery = new ScriptedDelivery([fail(429, { 'retry-after': '2' }), ok()]);
      const { log, pauses } = delivery;
      const { done, actor } = start(delivery, { clock, runtime });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(actor.getSnapshot().value, 'waiting');
      assert.deepEqual(pauses, [2_000]);
      clock.increment(1_999);
      assert.equal(actor.getSnapshot().value, 'waiting', 'not before Retry-After has passed');
      clock.increment(1);
      const output = await done;
      assert.equal(output.outcome, 'delivered');
      assert.equal(output.requests, 2);
      assert.deepEqual(log, ['rendering', 'sending', 'waiting', 'sending', 'delivered']);
    });

    it('hands a long Retry-After to JetStream instead of holding it in process', async () => {
      const output = await start(new ScriptedDelivery([fail(429, { 'retry-after': '120' })]), { runtime }).done;
      const pauses = output.pauses;
      assert.equal(output.outcome, 'deferred');
      assert.equal(output.delayMs, 120_000);
      assert.deepEqual(pauses, [120_000]);
    });

    it('stops retrying in process after the local retry bound and defers', async () => {
      const clock = new SimulatedClock();
      const results = [1, 2, 3, 4].map(() => fail(503, { 'retry-after': '1' }));
      const { done } = start(new ScriptedDelivery(results, { maxAttempts: 9 }), { clock, runtime });
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        clock.increment(1_000);
      }
      const output = await done;
      assert.equal(output.outcome, 'deferred');
      assert.equal(output.requests, 4);
      assert.equal(output.attempt, 4, 'in-process retries count as attempts');
    });

    it('counts in-process retries against the attempts, so a short wait cannot retry forever', async () => {
      const clock = new SimulatedClock();
      const { done } = start(new ScriptedDelivery([1, 2, 3].map(() => fail(503, { 'retry-after': '1' })), { maxAttempts: 3 }), { clock, runtime });
      for (let i = 0; i < 2; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        clock.increment(1_000);
      }
      const output = await done;
      assert.deepEqual([output.outcome, output.reason, output.requests], ['dead', 'retries_exhausted', 3]);
    });

    it('releases on abort and cancels the request in flight', async () => {
      const delivery = new ScriptedDelivery([]);
      const { actor, done } = start(delivery, { runtime });
      actor.send({ type: 'abort' });
      const output = await done;
      assert.equal(output.outcome, 'released');
      assert.equal(delivery.signals[0].aborted, true);
    });
  });

  describe(`delivery actors (${runtime} runtime)`, () => {
    it('runs the next delivery on the actor the last one left free, with nothing carried over', async () => {
      const actors = new DeliveryActors({ keepIdle: 4, runtime });
      const first = new ScriptedDelivery([fail(400)]);
      const { actor } = start(first, { actors });
      await first.done;
      assert.equal(actor.getSnapshot().value, 'dead', 'an actor rests in the outcome it reached');
      assert.equal(actor.getSnapshot().context.run.delivery, undefined, 'a resting actor holds no delivery (nor its messages)');
      assert.deepEqual([actors.idle, actors.running], [1, 0]);
      const second = new ScriptedDelivery([ok()]);
      const again = start(second, { actors });
      assert.equal(again.actor, actor, 'the idle actor is reused');
      const output = await second.done;
      assert.deepEqual([output.outcome, output.status, output.reason, output.requests], ['delivered', 200, undefined, 1]);
      assert.deepEqual(output.log, ['rendering', 'sending', 'delivered']);
    });

    it('waits on the real timers when no clock is given', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const delivery = new ScriptedDelivery([fail(503, { 'retry-after': '1' }), ok()], { maxAttempts: 9 });
      const { actor } = start(delivery, { actors: new DeliveryActors({ keepIdle: 4, runtime }) });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(actor.getSnapshot().value, 'waiting');
      t.mock.timers.tick(1_000);
      assert.equal((await delivery.done).outcome, 'delivered');
      assert.equal(delivery.requests, 2);
    });

    it('keeps at most keepIdle idle actors and stops the others', async () => {
      const actors = new DeliveryActors({ keepIdle: 1, runtime });
      const deliveries = [1, 2, 3].map(() => new ScriptedDelivery([ok()]));
      const started = deliveries.map((delivery) => start(delivery, { actors }).actor);
      assert.equal(new Set(started).size, 3, 'concurrent deliveries each get an actor');
      assert.equal(actors.running, 3);
      await Promise.all(deliveries.map((delivery) => delivery.done));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual([actors.idle, actors.running], [1, 0]);
      assert.equal(started.filter((actor) => actor.getSnapshot().status === 'stopped').length, 2);
    });

    it('releases every running delivery on abortAll, wherever it is', async () => {
      const clock = new SimulatedClock();
      const actors = new DeliveryActors({ keepIdle: 4, clock, runtime });
      const sending = new ScriptedDelivery([]);
      const waiting = new ScriptedDelivery([fail(503, { 'retry-after': '1' })], { maxAttempts: 9 });
      start(sending, { actors });
      const { actor } = start(waiting, { actors });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(actor.getSnapshot().value, 'waiting');
      actors.abortAll();
      const outcomes = await Promise.all([sending.done, waiting.done]);
      assert.deepEqual(outcomes.map((delivery) => delivery.outcome), ['released', 'released']);
      assert.equal(sending.signals[0].aborted, true);
      clock.increment(1_000);
      assert.equal(waiting.requests, 1, 'a released delivery does not send again when its wait would have ended');
      assert.equal(actors.running, 0);
    });

    it('reports a delivery whose action throws as failed and never reuses that actor', async () => {
      const actors = new DeliveryActors({ keepIdle: 4, runtime });
      const broken = new ScriptedDelivery([ok()]);
      broken.render = () => {
        throw new Error('a bug in render');
      };
      const { actor } = start(broken, { actors });
      await assert.rejects(broken.done, /a bug in render/);
      assert.equal(actor.getSnapshot().status, 'error');
      assert.deepEqual([actors.idle, actors.running], [0, 0]);
      const next = new ScriptedDelivery([ok()]);
      assert.notEqual(start(next, { actors }).actor, actor);
      assert.equal((await next.done).outcome, 'delivered');
    });
  });
}
