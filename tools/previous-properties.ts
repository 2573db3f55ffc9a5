// preview --previous FILE: the user properties last delivered for a user, as a JSON object, read
// like an event file (depth first, exact integers); every problem is one line naming the file.
import { readFileSync } from 'node:fs';

import { DEFAULT_MAX_EVENT_DEPTH } from '../daemon/defaults.js';
import { JSON_SCAN, jsonSyntaxError, parseJsonExact, scanJson } from '../daemon/json/index.js';
import { terminalLine } from './terminal-text.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The object in `file`, or undefined after printing why it cannot be used. */
export function readPreviousProperties(file: string): Record<string, unknown> | undefined {
  const problem = (message: string) => void console.error(terminalLine(`${file}: ${message}`));
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return problem(`cannot read the previous properties: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const scan = scanJson(data, DEFAULT_MAX_EVENT_DEPTH);
  if (scan === JSON_SCAN.tooDeep) return problem(`nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels`);
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return problem('not UTF-8');
  }
  const syntax = jsonSyntaxError(text);
  if (syntax) return void console.error(terminalLine(`${file}:${syntax.place.line}:${syntax.place.column}: invalid JSON: ${syntax.message}`));
  const value: unknown = scan === JSON_SCAN.longDigits ? parseJsonExact(text) : JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return problem('--previous must be a JSON object: each user property last delivered and its value, e.g. {"plan": "free"}');
  }
  return value as Record<string, unknown>;
}
