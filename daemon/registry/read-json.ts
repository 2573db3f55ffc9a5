// Reading a folder's JSON files and the paths destination.json names: every problem is collected
// with its place, nothing is thrown.
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { jsonSyntaxError } from '../json/index.js';
import type { JsonDocument, Problems } from './problems.js';

export function readJson(file: string, problems: Problems): JsonDocument | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.error(file, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const syntax = jsonSyntaxError(text);
  if (syntax) {
    problems.error(file, `invalid JSON: ${syntax.message}`, syntax.place);
    return undefined;
  }
  return { file, text, value: JSON.parse(text) as unknown };
}

/** A path named in destination.json, which must stay inside the folder. */
export function insideFolder(dir: string, name: string): string | undefined {
  const path = resolve(dir, name);
  return path.startsWith(dir + sep) ? path : undefined;
}
