// The destination's in-flight gate on its own: the one count of requests in flight, the sync's and
// the destination's caps, the fair share, and who is resumed when a slot frees.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightGate, type GateWaiter } from '../../daemon/consumer/index.js';

/** A parked intake: records being resumed, and goes on only when `canGo` says so. */
class Waiter implements GateWaiter {
  resumed = 0;
  canGo = true;
  resume(): boolean {
    if (!this.canGo) return false;
    this.resumed += 1;
    return true;
  }
}

describe('consumer in-flight-gate', () => {
  it('counts each request once: the sync sees all its runners, the destination all its syncs', () => {
    const gate = new InFlightGate(10, 3);
    const a = new Waiter();
    const aAfterReload = new Waiter();
    const b = new Waiter();
    gate.join(a, 'hook.a');
    gate.join(aAfterReload, 'hook.a');
    gate.join(b, 'hook.b');
    gate.requestStarted(a);
    gate.requestStarted(aAfterReload);
    gate.requestStarted(b);
    assert.equal(gate.requestsOf('hook.a'), 2);
    assert.equal(gate.requestsOf('hook.b'), 1);
    assert.equal(gate.inFlight, 3);
    gate.requestEnded(a);
    assert.equal(gate.requestsOf('hook.a'), 1);
    assert.equal(gate.inFlight, 2);
  });

  it("holds a sync at its own cap, whichever of its runners holds the requests", () => {
    const gate = new InFlightGate(100, 2);
    const old = new Waiter();
    const current = new Waiter();
    gate.join(old, 'hook.a');
    gate.join(current, 'hook.a');
    gate.requestStarted(old);
    assert.equal(gate.syncFull(current), false);
    gate.requestStarted(current);
    assert.equal(gate.syncFull(current), true);
    gate.requestEnded(old);
    assert.equal(gate.syncFull(current), false);
  });

  it("keeps counting what a runner that quit still has in flight, until it ends", () => {
    const gate = new InFlightGate(100, 2);
    const old = new Waiter();
    const current = new Waiter();
    gate.join(old, 'hook.a');
    gate.requestStarted(old);
    gate.requestStarted(old);
    gate.quit(old);
    gate.join(current, 'hook.a');
    assert.equal(gate.syncFull(current), true, "the old runner's tail counts against the sync");
    gate.requestEnded(old);
    gate.requestEnded(old);
    assert.equal(gate.requestsOf('hook.a'), 0);
    assert.equal(gate.syncFull(current), false);
  });

  it('frees a destination slot while a request waits for an in-process retry, but not its place in the sync cap', () => {
    const gate = new InFlightGate(1, 5);
    const a = new Waiter();
    gate.join(a, 'hook.a');
    gate.requestStarted(a);
    assert.equal(gate.destinationFullFor(a), true);
    gate.retryWaitStarted(a);
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.requestsOf('hook.a'), 1);
    assert.equal(gate.destinationFullFor(a), false);
    gate.retryWaitEnded(a);
    assert.equal(gate.inFlight, 1);
  });

  it('lets a sync holding its fair share take no more while another sync waits', () => {
    const gate = new InFlightGate(4, Infinity);
    const busy = new Waiter();
    const other = new Waiter();
    gate.join(busy, 'hook.busy');
    gate.join(other, 'hook.other');
    assert.equal(gate.fairShare, 2);
    gate.requestStarted(busy);
    gate.requestStarted(busy);
    assert.equal(gate.destinationFullFor(busy), false, 'nobody waits: the cap alone holds');
    gate.park(other);
    assert.equal(gate.destinationFullFor(busy), true);
    assert.equal(gate.destinationFullFor(other), false);
    gate.leave(other);
    assert.equal(gate.destinationFullFor(busy), false);
  });

  it('resumes the longest-parked sync that can go on when a slot frees, and none while the destination is full', () => {
    const gate = new InFlightGate(1, Infinity);
    const first = new Waiter();
    const second = new Waiter();
    const holder = new Waiter();
    for (const [waiter, sync] of [[first, 'a'], [second, 'b'], [holder, 'c']] as const) gate.join(waiter, sync);
    gate.requestStarted(holder);
    gate.requestStarted(holder);
    gate.park(first);
    gate.park(second);
    gate.requestEnded(holder);
    assert.deepEqual([first.resumed, second.resumed], [0, 0], 'still one in flight, at the cap of 1');
    first.canGo = false;
    gate.requestEnded(holder);
    assert.deepEqual([first.resumed, second.resumed], [0, 1], 'the first cannot go on: the next one is resumed');
  });

  it('refuses to count a request for an intake that has not joined', () => {
    const gate = new InFlightGate(1);
    assert.throws(() => gate.requestStarted(new Waiter()), /has not joined/);
  });
});
