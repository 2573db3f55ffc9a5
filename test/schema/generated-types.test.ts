import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GENERATED_TYPES_DIR } from '../../daemon/paths.js';
import { staleGeneratedTypes } from '../../tools/generate-types.js';

describe('generated types', () => {
  it('are current with schema/*.schema.json (run npm run generate-types when this fails)', async () => {
    assert.deepEqual(await staleGeneratedTypes(), []);
  });

  it('names each stale or missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'destinations-generated-'));
    try {
      cpSync(GENERATED_TYPES_DIR, dir, { recursive: true });
      writeFileSync(join(dir, 'sync.ts'), readFileSync(join(dir, 'sync.ts'), 'utf8').replace('enabled?: boolean;', 'enabled?: string;'));
      rmSync(join(dir, 'event.ts'));
      const stale = await staleGeneratedTypes(dir);
      assert.equal(stale.length, 2);
      assert.ok(stale.some((path) => path.endsWith('sync.ts')));
      assert.ok(stale.some((path) => path.endsWith('event.ts')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carry the do-not-edit banner', () => {
    assert.match(readFileSync(join(GENERATED_TYPES_DIR, 'destination.ts'), 'utf8'), /DO NOT EDIT BY HAND/);
  });
});
