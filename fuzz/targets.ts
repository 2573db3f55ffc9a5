// Where the fuzz targets and their files are: a target is a module in fuzz/targets/ (found by
// scanning, compiled to dist/fuzz/targets/), its committed seeds in fuzz/corpus/<name>/, the
// inputs that once crashed it in fuzz/regressions/<name>/, and what a run makes (the corpus it
// grew, its findings, its log) in .fuzz/<name>/, which git ignores.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../daemon/paths.js';
import type { FuzzTargetModule } from './fuzz-target.js';

const COMPILED = join(dirname(fileURLToPath(import.meta.url)), 'targets');
const SOURCES = join(PACKAGE_ROOT, 'fuzz');

export interface TargetPaths {
  name: string;
  /** The compiled module Jazzer.js loads. */
  module: string;
  seeds: string;
  regressions: string;
  /** What runs make: corpus/, findings/, log.txt, dictionary.txt. */
  work: string;
}

/** Where runs leave what they make, one folder per target. */
export const DEFAULT_WORK_ROOT = join(PACKAGE_ROOT, '.fuzz');

/** Every target, by name, in name order; `dir` holds compiled targets (a test's own, for one), `workRoot` their work folders. */
export function listTargets(dir = COMPILED, workRoot = DEFAULT_WORK_ROOT): TargetPaths[] {
  const root = resolve(dir);
  return readdirSync(root)
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.slice(0, -'.js'.length))
    .sort()
    .map((name) => ({
      name,
      module: join(root, `${name}.js`),
      seeds: join(SOURCES, 'corpus', name),
      regressions: join(SOURCES, 'regressions', name),
      work: join(resolve(workRoot), name),
    }));
}

export async function loadTarget(target: TargetPaths): Promise<FuzzTargetModule> {
  return (await import(pathToFileURL(target.module).href)) as FuzzTargetModule;
}

/** The files of a corpus folder (seeds or regressions), by name; none when it does not exist. */
export function corpusFiles(dir: string): { name: string; data: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && entry.name !== 'README.md')
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({ name, data: readFileSync(join(dir, name)) }));
}
