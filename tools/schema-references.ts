// validate's check that each "$schema" of a destination folder resolves from where the file is: in a
// config repository of its own, "../../schema/destination.schema.json" points at nothing unless
// `destinations schema --write` (or init) put the schemas there, and the editor's completion is gone.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LoadProblem } from '../daemon/registry/index.js';

/** Warnings for the JSON files of a destination folder (destination.json, syncs/, examples/) whose relative "$schema" is missing. */
export function schemaReferenceProblems(folderDir: string): LoadProblem[] {
  const files = [join(folderDir, 'destination.json')];
  for (const sub of ['syncs', 'examples']) {
    const dir = join(folderDir, sub);
    if (existsSync(dir)) files.push(...readdirSync(dir).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort().map((name) => join(dir, name)));
  }
  const problems: LoadProblem[] = [];
  for (const file of files) {
    let text: string;
    let reference: unknown;
    try {
      text = readFileSync(file, 'utf8');
      reference = (JSON.parse(text) as { $schema?: unknown }).$schema;
    } catch {
      continue; // unreadable or not JSON: the loader reports it
    }
    if (typeof reference !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(reference)) continue; // none, or a URL
    const target = resolve(dirname(file), reference.replace(/#.*$/, ''));
    if (existsSync(target)) continue;
    const at = text.indexOf('"$schema"');
    const before = text.slice(0, Math.max(at, 0));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    problems.push({
      file,
      line,
      column,
      severity: 'warning',
      message: `"$schema" ${JSON.stringify(reference)} does not resolve from this file (no ${target}): editors lose completion and checks; run destinations schema --write in the repository root, or point it at an existing schema`,
    });
  }
  return problems;
}
