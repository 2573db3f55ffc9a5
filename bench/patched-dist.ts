// Patched copies of the compiled daemon for experiments, under bench/results/scratch/<name>/dist
// (git-ignored), never daemon/ itself. The run takes one unpatched snapshot at its start and runs
// every daemon from it, so a rebuild of dist/ by someone else during the run cannot mix two versions;
// experiments copy the snapshot and patch one change into the copy's JavaScript.
// A patch whose anchor text is gone (the daemon changed) is reported as not applicable, not guessed.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('..', import.meta.url));
const SCRATCH_ROOT = fileURLToPath(new URL('../../bench/results/scratch/', import.meta.url));

export interface Patch {
  file: string;
  find: string;
  replace: string;
  /** Appended to the file once the replacement is made. */
  append?: string;
}

export interface ScratchVariant {
  name: string;
  what: string;
  patches: Patch[];
}

export class PatchNotApplicableError extends Error {
  override name = 'PatchNotApplicableError';
}

/** Copies dist/ (or `from`) and applies the patches; returns the copy's dist directory. */
export function makeScratchDist(variant: ScratchVariant, from = DIST): string {
  const dir = join(SCRATCH_ROOT, variant.name, 'dist');
  rmSync(join(SCRATCH_ROOT, variant.name), { recursive: true, force: true });
  cpSync(from, dir, { recursive: true });
  for (const patch of variant.patches) {
    const file = join(dir, patch.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(patch.find).length - 1;
    if (count !== 1) throw new PatchNotApplicableError(`${variant.name}: expected the anchor once in ${patch.file}, found it ${count} times: ${patch.find.slice(0, 80)}`);
    writeFileSync(file, text.replace(patch.find, patch.replace) + (patch.append ?? ''));
  }
  return dir;
}

export function removeScratch(): void {
  rmSync(SCRATCH_ROOT, { recursive: true, force: true });
}

export const SCRATCH_VARIANTS: ScratchVariant[] = [
  ...[16, 128].map((connections) => ({
    name: `pool-${connections}`,
    what: `send: undici Pool with ${connections} connections per origin (DEFAULT_POOL_CONNECTIONS 64)`,
    patches: [{ file: 'daemon/defaults.js', find: 'export const DEFAULT_POOL_CONNECTIONS = 64;', replace: `export const DEFAULT_POOL_CONNECTIONS = ${connections};` }],
  })),
  ...[512, 1_000].map((buffer) => ({
    name: `consume-buffer-${buffer}`,
    what: `consumer: consume({ max_messages: ${buffer} }) (DEFAULT_CONSUME_BUFFER 100)`,
    patches: [{ file: 'daemon/defaults.js', find: 'export const DEFAULT_CONSUME_BUFFER = 100;', replace: `export const DEFAULT_CONSUME_BUFFER = ${buffer};` }],
  })),
];
