import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { watchFolder } from '../../daemon/registry/internal.js';
import { tempDir } from '../helpers/folders.js';

/** Changes the watcher reports, as promises a test can wait on (real fs events, no sleeping). */
function changeLog() {
  const seen: string[] = [];
  let waiting: { count: number; resolve: () => void } | undefined;
  return {
    seen,
    onChange(path: string) {
      seen.push(path);
      if (waiting && seen.length >= waiting.count) waiting.resolve();
    },
    /** Resolves once at least `count` changes have been seen in all. */
    until(count: number): Promise<void> {
      if (seen.length >= count) return Promise.resolve();
      return new Promise((resolve) => (waiting = { count, resolve }));
    },
  };
}

describe('registry watch folder', () => {
  it('calls back once after the folder has been quiet for quietMs, however many files changed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const temp = tempDir();
    mkdirSync(join(temp.dir, 'hook', 'syncs'), { recursive: true });
    const changes = changeLog();
    let reloads = 0;
    const watcher = watchFolder(temp.dir, { quietMs: 1000, onQuiet: () => reloads++, onChange: changes.onChange });
    try {
      writeFileSync(join(temp.dir, 'hook', 'destination.json'), '{');
      await changes.until(1);
      t.mock.timers.tick(999);
      assert.equal(reloads, 0, 'not while the folder may still be written');
      writeFileSync(join(temp.dir, 'hook', 'syncs', 'default.json'), '{}');
      await changes.until(changes.seen.length + 1);
      t.mock.timers.tick(999);
      assert.equal(reloads, 0, 'each change starts the quiet period again');
      t.mock.timers.tick(1);
      assert.equal(reloads, 1);
      t.mock.timers.tick(10_000);
      assert.equal(reloads, 1, 'one reload for the whole burst');
      assert.ok(changes.seen.some((path) => path.endsWith('default.json')), 'a change in a nested folder is seen');
    } finally {
      watcher.close();
      temp.remove();
    }
  });

  it('ignores hidden names (.git, editor swap files), as the loader does', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const temp = tempDir();
    mkdirSync(join(temp.dir, '.git'));
    const changes = changeLog();
    let reloads = 0;
    const watcher = watchFolder(temp.dir, { quietMs: 1000, onQuiet: () => reloads++, onChange: changes.onChange });
    try {
      writeFileSync(join(temp.dir, '.git', 'index.lock'), 'x');
      writeFileSync(join(temp.dir, 'visible.json'), '{}');
      await changes.until(1);
      t.mock.timers.tick(1000);
      assert.equal(reloads, 1);
      assert.ok(changes.seen.every((path) => !path.split('/').some((segment) => segment.startsWith('.'))), `only visible paths: ${changes.seen.join(', ')}`);
    } finally {
      watcher.close();
      temp.remove();
    }
  });

  it('a change during a reload schedules one more reload after it, never two at once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const temp = tempDir();
    const changes = changeLog();
    let running = 0;
    let most = 0;
    let calls = 0;
    let finish!: () => void;
    const watcher = watchFolder(temp.dir, {
      quietMs: 100,
      onChange: changes.onChange,
      onQuiet: () => {
        calls++;
        running++;
        most = Math.max(most, running);
        return new Promise<void>((resolve) => (finish = () => (running--, resolve())));
      },
    });
    try {
      writeFileSync(join(temp.dir, 'a.json'), '1');
      await changes.until(1);
      t.mock.timers.tick(100);
      assert.equal(calls, 1);
      const before = changes.seen.length;
      writeFileSync(join(temp.dir, 'b.json'), '2');
      await changes.until(before + 1);
      t.mock.timers.tick(100);
      assert.equal(calls, 1, 'not while the first reload runs');
      finish();
      await new Promise<void>((resolve) => setImmediate(resolve));
      t.mock.timers.tick(100);
      assert.equal(calls, 2, 'the change is reloaded after the first reload ends');
      assert.equal(most, 1);
      finish();
    } finally {
      watcher.close();
      temp.remove();
    }
  });

  it('stops calling back once closed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const temp = tempDir();
    const changes = changeLog();
    let reloads = 0;
    const watcher = watchFolder(temp.dir, { quietMs: 100, onQuiet: () => reloads++, onChange: changes.onChange });
    writeFileSync(join(temp.dir, 'a.json'), '1');
    await changes.until(1);
    watcher.close();
    t.mock.timers.tick(1000);
    assert.equal(reloads, 0);
    temp.remove();
  });
});
