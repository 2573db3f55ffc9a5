// Collecting problems instead of throwing the first: every file, every mistake, each with its place.
import { relative } from 'node:path';
import { placeOfPointer, type TextPlace } from '../json/index.js';
import type { LoadProblem } from './types.js';

/** A JSON file already read: its text gives places for JSON pointers. */
export interface JsonDocument {
  file: string;
  text: string;
  value: unknown;
}

export class Problems {
  readonly list: LoadProblem[] = [];

  get hasErrors(): boolean {
    return this.list.some((problem) => problem.severity === 'error');
  }

  error(file: string, message: string, place?: TextPlace): void {
    this.list.push({ file, message, severity: 'error', ...place });
  }

  warning(file: string, message: string, place?: TextPlace): void {
    this.list.push({ file, message, severity: 'warning', ...place });
  }

  /** A problem about the value at a JSON pointer of a document, placed at its line and column. */
  at(document: JsonDocument, pointer: string, message: string, severity: LoadProblem['severity'] = 'error'): void {
    const place = placeOfPointer(document.text, pointer);
    this.list.push({ file: document.file, message, severity, pointer: pointer || undefined, ...place });
  }

  addAll(problems: readonly LoadProblem[]): void {
    this.list.push(...problems);
  }
}

/** Builds a JSON pointer from segments, escaping ~ and /. */
export function pointerOf(...segments: Array<string | number>): string {
  return segments.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Errors first by file, then by place; stable otherwise. */
export function sortProblems(problems: readonly LoadProblem[]): LoadProblem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}

/** `path:line:col: message` (path relative to `cwd`), the form editors and CI annotate. */
export function formatProblem(problem: LoadProblem, cwd = process.cwd()): string {
  const path = relative(cwd, problem.file) || problem.file;
  const place = problem.line !== undefined ? `${path}:${problem.line}:${problem.column ?? 1}` : path;
  const severity = problem.severity === 'warning' ? 'warning: ' : '';
  const pointer = problem.pointer ? ` (at ${problem.pointer})` : '';
  return `${place}: ${severity}${problem.message}${pointer}`;
}
