// The limit area's one queue: first in, first out, with absolute indexes that survive compaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fifo } from '../../daemon/limit/fifo.js';

describe('limit fifo', () => {
  it('takes items in the order they came', () => {
    const fifo = new Fifo<string>();
    fifo.push('a');
    fifo.push('b');
    fifo.push('c');
    assert.equal(fifo.size, 3);
    assert.equal(fifo.peek(), 'a');
    assert.equal(fifo.peek(2), 'c');
    assert.equal(fifo.last(), 'c');
    assert.deepEqual([fifo.shift(), fifo.shift()], ['a', 'b']);
    assert.equal(fifo.size, 1);
    assert.equal(fifo.shift(), 'c');
    assert.equal(fifo.shift(), undefined);
    assert.equal(fifo.last(), undefined);
  });

  it('finds an item by the index push gave it, across compactions, until it has been taken', () => {
    const fifo = new Fifo<number>();
    const indexes: number[] = [];
    for (let n = 0; n < 5_000; n++) indexes.push(fifo.push(n));
    for (let n = 0; n < 3_000; n++) fifo.shift();
    assert.equal(fifo.at(indexes[2_999]), undefined, 'taken');
    assert.equal(fifo.at(indexes[3_000]), 3_000);
    assert.equal(fifo.at(indexes[4_999]), 4_999);
    while (fifo.size > 0) fifo.shift();
    const next = fifo.push(-1);
    assert.equal(next, 5_000, 'indexes go on counting after the queue emptied');
    assert.equal(fifo.at(next), -1);
  });

  it('takes everything at once, front first', () => {
    const fifo = new Fifo<string>();
    for (const item of ['a', 'b', 'c']) fifo.push(item);
    fifo.shift();
    assert.deepEqual(fifo.takeAll(), ['b', 'c']);
    assert.equal(fifo.size, 0);
    assert.equal(fifo.push('d'), 3);
  });
});
