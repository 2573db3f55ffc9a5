// The batcher on its own, on mocked timers: what leaves as one request, and when.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher } from '../../daemon/consumer/index.js';

interface Item {
  name: string;
  bytes: number;
}

function item(name: string, bytes = 10): Item {
  return { name, bytes };
}

function batcherWith(limits: ConstructorParameters<typeof Batcher<Item>>[0], keyOf?: (item: Item) => string | undefined) {
  const requests: string[][] = [];
  const batcher = new Batcher<Item>(limits, (items) => requests.push(items.map((i) => i.name)), keyOf);
  return { batcher, requests };
}

/** The batch key of items named `<key>-<n>`; an item named without a dash has no key it can give. */
const keyOfName = (item: Item): string | undefined => (item.name.includes('-') ? item.name.split('-')[0] : undefined);

describe('consumer batcher', () => {
  it('sends each event alone when the destination declares no batch', () => {
    const { batcher, requests } = batcherWith(undefined);
    batcher.add(item('a'));
    batcher.add(item('b'));
    assert.deepEqual(requests, [['a'], ['b']]);
    assert.equal(batcher.size, 0);
  });

  it('sends a batch as soon as it holds maxEvents', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { batcher, requests } = batcherWith({ maxEvents: 3, maxWaitMs: 100 });
    for (const name of ['a', 'b', 'c', 'd']) batcher.add(item(name));
    assert.deepEqual(requests, [['a', 'b', 'c']]);
    assert.equal(batcher.size, 1);
  });

  it('sends what waits after maxWaitMs, counted from the first event of the batch', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 });
    batcher.add(item('a'));
    t.mock.timers.tick(60);
    batcher.add(item('b'));
    t.mock.timers.tick(39);
    assert.deepEqual(requests, []);
    t.mock.timers.tick(1);
    assert.deepEqual(requests, [['a', 'b']]);
    t.mock.timers.tick(1_000);
    assert.deepEqual(requests, [['a', 'b']], 'nothing waits, nothing more is sent');
  });

  it('closes a batch before an event that would take it over maxBytes, and at maxBytes', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { batcher, requests } = batcherWith({ maxEvents: 10, maxBytes: 100, maxWaitMs: 100 });
    batcher.add(item('a', 60));
    batcher.add(item('b', 50));
    assert.deepEqual(requests, [['a']]);
    batcher.add(item('c', 50));
    assert.deepEqual(requests, [['a'], ['b', 'c']]);
  });

  it("keeps a user's group in one request, sending what waits first when the group would not fit beside it", (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { batcher, requests } = batcherWith({ maxEvents: 4, maxWaitMs: 100 });
    batcher.add(item('a'));
    batcher.add(item('b'));
    batcher.addGroup([item('u1'), item('u2'), item('u3')]);
    assert.deepEqual(requests, [['a', 'b']]);
    t.mock.timers.tick(100);
    assert.deepEqual(requests, [['a', 'b'], ['u1', 'u2', 'u3']]);
  });

  it('hands back what waits without sending it, and its timer no longer fires', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 });
    batcher.add(item('a'));
    batcher.add(item('b'));
    assert.deepEqual(batcher.takePending().map((i) => i.name), ['a', 'b']);
    t.mock.timers.tick(1_000);
    assert.deepEqual(requests, []);
    assert.equal(batcher.size, 0);
  });

  describe('with a batch key', () => {
    it('never puts two keys in one request: each key fills on its own', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 2, maxWaitMs: 100 }, keyOfName);
      for (const name of ['a-1', 'b-1', 'a-2', 'c-1', 'b-2']) batcher.add(item(name));
      assert.deepEqual(requests, [['a-1', 'a-2'], ['b-1', 'b-2']]);
      assert.equal(batcher.size, 1);
      t.mock.timers.tick(100);
      assert.deepEqual(requests.at(-1), ['c-1']);
      assert.equal(batcher.size, 0);
    });

    it("counts each key's wait from its own first event", (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 }, keyOfName);
      batcher.add(item('a-1'));
      t.mock.timers.tick(60);
      batcher.add(item('b-1'));
      batcher.add(item('a-2'));
      t.mock.timers.tick(40);
      assert.deepEqual(requests, [['a-1', 'a-2']], 'a waited 100 ms; b only 40');
      t.mock.timers.tick(59);
      assert.deepEqual(requests, [['a-1', 'a-2']]);
      t.mock.timers.tick(1);
      assert.deepEqual(requests, [['a-1', 'a-2'], ['b-1']]);
    });

    it('keeps each key under maxBytes', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 10, maxBytes: 25, maxWaitMs: 100 }, keyOfName);
      for (const name of ['a-1', 'b-1', 'a-2', 'b-2', 'a-3']) batcher.add(item(name));
      assert.deepEqual(requests, [['a-1', 'a-2']], 'a third a would pass 25 bytes; the bs still fit');
      t.mock.timers.tick(100);
      assert.deepEqual(requests.slice(1), [['b-1', 'b-2'], ['a-3']]);
    });

    it('sends an event whose key cannot be given alone, at once', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 }, keyOfName);
      batcher.add(item('a-1'));
      batcher.add(item('nokey'));
      assert.deepEqual(requests, [['nokey']]);
      assert.equal(batcher.size, 1);
    });

    it("adds a user's group to its key's request, sending what waits there first when it would not fit", (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 3, maxWaitMs: 100 }, keyOfName);
      batcher.add(item('a-1'));
      batcher.add(item('b-1'));
      batcher.addGroup([item('a-2'), item('a-3'), item('a-4')]);
      assert.deepEqual(requests, [['a-1'], ['a-2', 'a-3', 'a-4']], "b's request is not touched");
      t.mock.timers.tick(100);
      assert.deepEqual(requests.at(-1), ['b-1']);
    });

    it('hands back what waits under every key, and sends nothing after', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 }, keyOfName);
      for (const name of ['a-1', 'b-1', 'a-2']) batcher.add(item(name));
      assert.deepEqual(batcher.takePending().map((i) => i.name), ['a-1', 'a-2', 'b-1']);
      assert.equal(batcher.size, 0);
      t.mock.timers.tick(1_000);
      assert.deepEqual(requests, []);
    });

    it('flush() sends one request per key', () => {
      const { batcher, requests } = batcherWith({ maxEvents: 10, maxWaitMs: 100 }, keyOfName);
      for (const name of ['a-1', 'b-1', 'a-2']) batcher.add(item(name));
      batcher.flush();
      assert.deepEqual(requests, [['a-1', 'a-2'], ['b-1']]);
    });
  });
});
