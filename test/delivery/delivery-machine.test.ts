import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import {
  classify,
  deliveryMachine,
  type DeliveryCancel,
  resolveRetryPolicy,
  type DeliveryActorRef,
  type DeliveryOutput,
  type DeliveryWorld,
  type SendResult,
} from '../../daemon/delivery/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';

const REQUEST: RenderedRequest = { method: 'POST', url: 'http://127.0.0.1:1/track', headers: { 'content-type': 'application/json' }, body: '{}' };

/** A world whose sends answer from a script of results, recording what the machine asked for. */
function scriptedWorld(results: SendResult[], options: { renderFails?: boolean } = {}) {
  const log: string[] = [];
  const pauses: number[] = [];
  const signals: DeliveryCancel[] = [];
  const world: DeliveryWorld = {
    render: (self) =>
      options.renderFails ? self.send({ type: 'render.failed', code: 'render_failed', message: 'body.njk:3:5: boom' }) : self.send({ type: 'rendered', request: REQUEST }),
    send: (self, _request, signal) => {
      signals.push(signal);
      const result = results.shift();
      if (result) queueMicrotask(() => self.send({ type: 'sent', result }));
    },
    pause: (ms) => pauses.push(ms),
    entered: (state) => log.push(state),
  };
  return { world, log, pauses, signals };
}

function start(world: DeliveryWorld, options: { attempt?: number; clock?: SimulatedClock; maxInProcessWaitMs?: number; maxAttempts?: number } = {}) {
  const actor = createActor(deliveryMachine, {
    clock: options.clock,
    input: {
      attempt: options.attempt ?? 1,
      policy: resolveRetryPolicy({ maxAttempts: options.maxAttempts ?? 3, initialDelayMs: 60_000, multiplier: 2, jitter: 0 }),
      maxInProcessWaitMs: options.maxInProcessWaitMs ?? 5_000,
      maxInProcessRetries: 3,
      world,
    },
  });
  const done = new Promise<DeliveryOutput>((resolve, reject) => actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject }));
  actor.start();
  return { actor: actor as DeliveryActorRef, done };
}

const ok = (status = 200) => classify({ status, headers: {} });
const fail = (status: number, headers: Record<string, string> = {}) => classify({ status, headers, now: 0 });

describe('delivery machine', () => {
  it('delivers on a 2xx after rendering and sending once', async () => {
    const { world, log } = scriptedWorld([ok()]);
    const output = await start(world).done;
    assert.equal(output.outcome, 'delivered');
    assert.equal(output.status, 200);
    assert.equal(output.requests, 1);
    assert.deepEqual(log, ['rendering', 'sending', 'delivered']);
  });

  it('goes dead with render_failed when the template fails, without sending', async () => {
    const { world, signals } = scriptedWorld([], { renderFails: true });
    const output = await start(world).done;
    assert.equal(output.outcome, 'dead');
    assert.equal(output.reason, 'render_failed');
    assert.match(output.message ?? '', /body\.njk:3:5/);
    assert.equal(signals.length, 0);
  });

  it('goes dead at once with http_4xx on a 400', async () => {
    const { world } = scriptedWorld([fail(400)]);
    const output = await start(world).done;
    assert.deepEqual([output.outcome, output.reason, output.status, output.requests], ['dead', 'http_4xx', 400, 1]);
  });

  it('defers a 500 to JetStream with the schedule delay while attempts are left', async () => {
    const { world } = scriptedWorld([fail(500)]);
    const output = await start(world, { attempt: 2 }).done;
    assert.equal(output.outcome, 'deferred');
    assert.equal(output.delayMs, 120_000, 'second attempt waits initial × multiplier');
    assert.equal(output.status, 500);
  });

  it('goes dead with retries_exhausted when the last attempt fails', async () => {
    const { world } = scriptedWorld([fail(503)]);
    const output = await start(world, { attempt: 3 }).done;
    assert.deepEqual([output.outcome, output.reason, output.status], ['dead', 'retries_exhausted', 503]);
  });

  it('waits in process for a short Retry-After, pauses the limiter, then sends again', async () => {
    const clock = new SimulatedClock();
    const { world, log, pauses } = scriptedWorld([fail(429, { 'retry-after': '2' }), ok()]);
    const { done, actor } = start(world, { clock });
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
    const { world, pauses } = scriptedWorld([fail(429, { 'retry-after': '120' })]);
    const output = await start(world).done;
    assert.equal(output.outcome, 'deferred');
    assert.equal(output.delayMs, 120_000);
    assert.deepEqual(pauses, [120_000]);
  });

  it('stops retrying in process after the local retry bound and defers', async () => {
    const clock = new SimulatedClock();
    const results = [1, 2, 3, 4].map(() => fail(503, { 'retry-after': '1' }));
    const { world } = scriptedWorld(results);
    const { done } = start(world, { clock, maxAttempts: 9 });
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
    const { world } = scriptedWorld([1, 2, 3].map(() => fail(503, { 'retry-after': '1' })));
    const { done } = start(world, { clock, maxAttempts: 3 });
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.increment(1_000);
    }
    const output = await done;
    assert.deepEqual([output.outcome, output.reason, output.requests], ['dead', 'retries_exhausted', 3]);
  });

  it('releases on abort and cancels the request in flight', async () => {
    const { world, signals } = scriptedWorld([]);
    const { actor, done } = start(world);
    actor.send({ type: 'abort' });
    const output = await done;
    assert.equal(output.outcome, 'released');
    assert.equal(signals[0].aborted, true);
  });
});
