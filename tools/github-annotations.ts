// GitHub Actions workflow commands for validate's problems, so a pull request shows each one on
// the line it is about: ::error file=PATH,line=L,col=C,title=…::MESSAGE. Paths are relative to
// the working directory (the checkout), which is what GitHub matches against the diff.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { LoadProblem, LoadResult } from '../daemon/registry/index.js';

/** Data of a workflow command: %, CR and LF are escaped (a message keeps its lines). */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value: also : and , (they separate properties). */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Control characters other than newline are shown as \uXXXX: a folder cannot drive the log viewer. */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function githubAnnotation(problem: LoadProblem, cwd = process.cwd()): string {
  const properties = [`file=${escapeProperty(relative(cwd, problem.file) || problem.file)}`];
  if (problem.line !== undefined) properties.push(`line=${problem.line}`, `col=${problem.column ?? 1}`);
  properties.push(`title=${escapeProperty(`destinations validate${problem.pointer ? ` ${problem.pointer}` : ''}`)}`);
  const command = problem.severity === 'warning' ? 'warning' : 'error';
  return `::${command} ${properties.join(',')}::${escapeData(visible(problem.message))}`;
}

/** A Markdown table of the folders, appended to the job summary when GitHub gives a file for it. */
export function githubSummary(result: LoadResult, file: string | undefined, cwd = process.cwd()): void {
  if (!file) return;
  const rows = result.folders.map((folder) => {
    const errors = folder.problems.filter((problem) => problem.severity === 'error').length;
    const warnings = folder.problems.length - errors;
    const state = folder.destination ? (warnings ? 'valid, with warnings' : 'valid') : 'invalid';
    return `| ${folder.slug} | ${state} | ${folder.destination?.version ?? '-'} | ${errors} | ${warnings} |`;
  });
  const lines = [
    '### destinations validate',
    '',
    '| destination | result | version | errors | warnings |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...result.problems.slice(0, 50).map((problem) => `- \`${relative(cwd, problem.file) || problem.file}${problem.line ? `:${problem.line}` : ''}\` ${visible(problem.message.split('\n')[0]).replace(/\|/g, '\\|')}`),
    '',
  ];
  appendFileSync(file, `${lines.join('\n')}\n`);
}
