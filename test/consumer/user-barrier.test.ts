// The user barrier on its own: turns per user in stream order, what goes back to the stream holds
// what follows it, the caps hand events back instead of growing, a stop hands held events back.
// Messages here are plain objects with a stream sequence: the barrier reads nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsMsg } from '@nats-io/jetstream';
import { UserBarrier, type UserBarrierOptions } from '../../daemon/consumer/user-barrier.js';

interface Item {
  msg: JsMsg;
  name: string;
}

function item(sequence: number, name = `e${sequence}`): Item {
  return { msg: { info: { streamSequence: sequence } } as JsMsg, name };
}

function barrier(options: Partial<UserBarrierOptions<Item>> = {}) {
  const turns: string[][] = [];
  const handedBack: Array<{ name: string; delayMs: number }> = [];
  const gauges = { heldByUserBarrier: 0, usersHeldByBarrier: 0 };
  const subject = new UserBarrier<Item>({
    onward: (items) => turns.push(items.map((i) => i.name)),
    overflow: (i, delayMs) => handedBack.push({ name: i.name, delayMs }),
    gauges,
    ...options,
  });
  return { subject, turns, handedBack, gauges };
}

describe('user barrier', () => {
  it("lets a user's next event go only once the one before it is settled, while other users go at once", () => {
    const { subject, turns, gauges } = barrier();
    const [a1, a2, b1, a3] = [item(1), item(2), item(3), item(4)];
    subject.take('a', a1);
    subject.take('a', a2);
    subject.take('b', b1);
    subject.take('a', a3);
    assert.deepEqual(turns, [['e1'], ['e3']]);
    assert.deepEqual(gauges, { heldByUserBarrier: 2, usersHeldByBarrier: 1 });
    subject.done([a1.msg]);
    assert.deepEqual(turns, [['e1'], ['e3'], ['e2']]);
    subject.done([a2.msg]);
    assert.deepEqual(turns.at(-1), ['e4']);
    assert.deepEqual(gauges, { heldByUserBarrier: 0, usersHeldByBarrier: 0 });
  });

  it('sends a run of one user\'s held events as one group when they may share a request, in stream order', () => {
    const { subject, turns } = barrier({ joins: (group) => group.length < 3 });
    const first = item(1);
    subject.take('a', first);
    for (const sequence of [2, 3, 4, 5]) subject.take('a', item(sequence));
    subject.done([first.msg]);
    assert.deepEqual(turns, [['e1'], ['e2', 'e3', 'e4']]);
  });

  it('holds what follows an event gone back to the stream until it comes back and is settled, whatever order the stream returns them in', () => {
    const { subject, turns } = barrier({ graceMs: 60_000 });
    const first = item(10);
    subject.take('a', first);
    subject.returned(first.msg, 5_000); // a retry later: nak(5 s)
    subject.done([first.msg]);
    subject.take('a', item(11));
    assert.deepEqual(turns, [['e10']], 'the later event waits for the one owed');
    const again = item(10, 'e10 again');
    subject.take('a', again); // redelivered: it goes first
    assert.deepEqual(turns, [['e10'], ['e10 again']]);
    subject.done([again.msg]);
    assert.deepEqual(turns.at(-1), ['e11']);
  });

  it('counts held events as behind a retry only while their user has nothing out and waits for an owed event', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { subject, turns } = barrier({ graceMs: 1_000 });
    const first = item(1);
    subject.take('a', first);
    subject.take('a', item(2));
    subject.take('a', item(3));
    assert.equal(subject.behindRetry, 0, 'waiting for a request in flight: soon');
    subject.returned(first.msg, 60_000); // its retry: nak(60 s)
    subject.done([first.msg]);
    assert.equal(subject.behindRetry, 2);
    const other = item(4);
    subject.take('b', other);
    subject.take('b', item(5));
    subject.take('a', item(6));
    assert.deepEqual([subject.held, subject.behindRetry], [4, 3], "b's held event waits for b's request in flight");
    const again = item(1, 'e1 again');
    subject.take('a', again); // back from the stream: a's turn, its held events wait for it
    assert.deepEqual(turns.at(-1), ['e1 again']);
    assert.deepEqual([subject.held, subject.behindRetry], [4, 0]);
    subject.returned(again.msg, 120_000);
    subject.done([again.msg]);
    assert.equal(subject.behindRetry, 3);
    t.mock.timers.tick(121_001); // never came back (another daemon took it): a goes on
    assert.deepEqual(turns.at(-1), ['e2']);
    assert.equal(subject.behindRetry, 0);
    subject.takeHeld();
    assert.deepEqual([subject.held, subject.behindRetry], [0, 0]);
  });

  it('stops waiting for an owed event once its expected return and the grace have passed (it went to another daemon)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { subject, turns } = barrier({ graceMs: 2_000 });
    const first = item(1);
    subject.take('a', first);
    subject.returned(first.msg, 3_000);
    subject.done([first.msg]);
    subject.take('a', item(2));
    t.mock.timers.tick(4_999);
    assert.deepEqual(turns, [['e1']]);
    t.mock.timers.tick(2);
    assert.deepEqual(turns, [['e1'], ['e2']]);
  });

  it("hands a held user's event back to the stream past the cap, and still keeps the order when it returns", () => {
    const { subject, turns, handedBack } = barrier({ maxHeldPerUser: 1, graceMs: 60_000 });
    const first = item(1);
    subject.take('a', first);
    const second = item(2);
    subject.take('a', second); // held
    subject.take('a', item(3)); // over the cap: back to the stream, owed
    assert.deepEqual(handedBack, [{ name: 'e3', delayMs: 1_000 }]);
    subject.done([first.msg]);
    assert.deepEqual(turns.at(-1), ['e2']);
    const late = item(4);
    subject.take('a', late); // held behind e2
    subject.done([second.msg]);
    assert.equal(turns.length, 2, 'e4 waits for e3, which is owed');
    const third = item(3);
    subject.take('a', third); // e3 back from the stream: kept in hand (e4 goes back in its place) and it goes
    assert.deepEqual(turns.at(-1), ['e3']);
    assert.deepEqual(handedBack.map((entry) => entry.name), ['e3', 'e4']);
    subject.done([third.msg]);
    assert.equal(turns.length, 3, 'e4 waits for its own return');
    const fourth = item(4);
    subject.take('a', fourth);
    assert.deepEqual(turns.at(-1), ['e4']);
  });

  it('counts the whole sync against maxHeld behind retries: a user waiting for one hands back past it, a user with a request out holds, a user with nothing out goes', () => {
    const { subject, turns, handedBack } = barrier({ maxHeld: 1, graceMs: 60_000 });
    const first = item(1);
    subject.take('a', first);
    subject.returned(first.msg, 60_000);
    subject.done([first.msg]);
    subject.take('a', item(2)); // held behind a's retry: the sync is full
    subject.take('b', item(3));
    subject.take('b', item(4)); // waits for b's request in flight: held (the intake bounds those)
    const second = item(5);
    subject.take('c', second);
    subject.returned(second.msg, 60_000);
    subject.done([second.msg]);
    subject.take('c', item(6)); // c would be held behind its retry: handed back
    subject.take('d', item(7)); // d has nothing out: goes
    assert.deepEqual(turns, [['e1'], ['e3'], ['e5'], ['e7']]);
    assert.deepEqual(handedBack.map((entry) => entry.name), ['e6']);
    assert.deepEqual([subject.held, subject.behindRetry], [2, 1]);
  });

  it('lets an event with neither user_id nor device_id go unordered', () => {
    const { subject, turns } = barrier();
    subject.take(undefined, item(1));
    subject.take(undefined, item(2));
    assert.deepEqual(turns, [['e1'], ['e2']]);
  });

  it('hands every held event back on stop and starts no turn after it', () => {
    const { subject, turns, gauges } = barrier();
    const first = item(1);
    subject.take('a', first);
    subject.take('a', item(2));
    subject.take('b', item(3));
    subject.take('b', item(4));
    const held = subject.stop();
    assert.deepEqual(held.map((i) => i.name), ['e2', 'e4']);
    assert.deepEqual(gauges, { heldByUserBarrier: 0, usersHeldByBarrier: 0 });
    subject.done([first.msg, ...held.map((i) => i.msg)]);
    assert.equal(turns.length, 2);
  });
});
