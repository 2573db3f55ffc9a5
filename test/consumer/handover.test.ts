// The handover's bookkeeping without a NATS server (notices applied in process): what another reader
// announced is owed by the sync's barrier until it comes back, is settled there, or is waited out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsMsg } from '@nats-io/jetstream';
import { Handovers } from '../../daemon/consumer/handover.js';
import { UserBarrier } from '../../daemon/consumer/user-barrier.js';
import { createLogger } from '../../daemon/log.js';

const log = createLogger({ level: 'error', write: () => undefined });

function msg(sequence: number): JsMsg {
  return { info: { streamSequence: sequence } } as unknown as JsMsg;
}

function barrier(now: () => number) {
  const onward: number[][] = [];
  const ordering = new UserBarrier<{ msg: JsMsg }>({ onward: (items) => onward.push(items.map((item) => item.msg.info.streamSequence)), now });
  return { ordering, onward };
}

describe('handover between readers of an ordered sync', () => {
  it("holds a user's later events until what the stopping reader had comes back, and lets the others through", () => {
    let now = 1_000;
    const handovers = new Handovers(undefined, 'handover', 5_000, log, () => now);
    const { ordering, onward } = barrier(() => now);
    handovers.register('c', ordering);
    handovers.announce({ from: 'old/1', consumer: 'c', phase: 'stopping', dueInMs: 2_000, events: [['u:a', 3], ['u:a', 4]] });
    const [m3, m4, m10] = [msg(3), msg(4), msg(10)];
    ordering.take('u:a', { msg: m10 });
    ordering.take('u:b', { msg: msg(11) });
    assert.deepEqual(onward, [[11]], 'the other user goes on; u:a waits for 3 and 4');
    ordering.take('u:a', { msg: m3 });
    assert.deepEqual(onward, [[11], [3]], '3 is back: it goes; 10 still waits for 4');
    ordering.take('u:a', { msg: m4 });
    ordering.done([m3]);
    assert.deepEqual(onward, [[11], [3], [4]]);
    ordering.done([m4]);
    assert.deepEqual(onward, [[11], [3], [4], [10]], 'in stream order');
  });

  it('stops waiting for what the stopping reader settled (named when it stopped, not when it handed back)', () => {
    let now = 1_000;
    const handovers = new Handovers(undefined, 'handover', 5_000, log, () => now);
    const { ordering, onward } = barrier(() => now);
    handovers.register('c', ordering);
    handovers.announce({ from: 'old/1', consumer: 'c', phase: 'stopping', dueInMs: 2_000, events: [['u:a', 3], ['u:b', 4, 60_000]] });
    const later = { msg: msg(10) };
    ordering.take('u:a', later);
    assert.deepEqual(onward, []);
    now += 1_500;
    // 3 was delivered and acked by the stopping reader: nothing comes back for it.
    handovers.announce({ from: 'old/1', consumer: 'c', phase: 'handed back', events: [] });
    assert.deepEqual(onward, [[10]], 'u:a goes on once 3 is known settled');
    ordering.take('u:b', { msg: msg(12) });
    assert.deepEqual(onward, [[10]], 'u:b still waits for 4, gone back with a delay of its own');
  });

  it('tells a reader that registers later (the runner a reload starts) what was announced before', () => {
    const now = 1_000;
    const handovers = new Handovers(undefined, 'handover', 5_000, log, () => now);
    handovers.announce({ from: 'old/1', consumer: 'c', phase: 'stopping', dueInMs: 2_000, events: [['u:a', 3]] });
    const { ordering, onward } = barrier(() => now);
    handovers.register('c', ordering);
    ordering.take('u:a', { msg: msg(10) });
    assert.deepEqual(onward, []);
    const m3 = msg(3);
    ordering.take('u:a', { msg: m3 });
    assert.deepEqual(onward, [[3]], 'the owed event goes first');
    ordering.done([m3]);
    assert.deepEqual(onward, [[3], [10]], 'then the later one');
  });
});
