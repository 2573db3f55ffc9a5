import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OldestFirst } from '../../daemon/consumer/oldest-first.js';

describe('OldestFirst', () => {
  it('keeps the newest entries of a Set past its bound, with entries deleted out of order meanwhile', () => {
    const kept = new Set<number>();
    const oldest = new OldestFirst(kept);
    let model: number[] = []; // the same collection as a plain list, oldest first
    for (let i = 0; i < 1_000; i++) {
      kept.add(i);
      model.push(i);
      if (i % 7 === 3) {
        // taken out early, as a delivered message leaves the retry maps
        kept.delete(i - 2);
        model = model.filter((key) => key !== i - 2);
      }
      oldest.trimTo(100);
      model = model.slice(-100);
      assert.deepEqual([...kept], model);
    }
  });

  it('goes on after clear(), dropping only what was added since', () => {
    const kept = new Map<number, string>();
    const oldest = new OldestFirst(kept);
    for (let i = 0; i < 50; i++) kept.set(i, `v${i}`);
    oldest.trimTo(10);
    kept.clear();
    for (let i = 100; i < 130; i++) kept.set(i, `v${i}`);
    oldest.trimTo(10);
    assert.deepEqual([...kept.keys()], Array.from({ length: 10 }, (_, i) => 120 + i));
  });

  it('lets a key deleted and added again count as new', () => {
    const kept = new Set<number>([1, 2, 3]);
    const oldest = new OldestFirst(kept);
    kept.delete(1);
    kept.add(1);
    oldest.trimTo(2);
    assert.deepEqual([...kept], [3, 1]);
  });
});
