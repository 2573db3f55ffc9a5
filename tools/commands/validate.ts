// destinations validate [DIR] [--verbose]
// Checks every destination folder under DIR (or DIR itself when it is one) and prints every
// problem at once as path:line:col: message. Exit 0 valid, 1 invalid, 2 usage.
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_DESTINATIONS_DIR } from '../../daemon/defaults.js';
import {
  formatProblem,
  loadDestination,
  loadDestinations,
  type DestinationLoad,
  type LoadResult,
  type ParameterUsage,
} from '../../daemon/registry/index.js';
import { parseCommandArgs, UsageError } from './usage.js';
import { terminalText } from '../terminal-text.js';

const USAGE = 'destinations validate [DIR] [--verbose]';
const HELP = `usage: ${USAGE}

Checks every destination folder under DIR (default: ${DEFAULT_DESTINATIONS_DIR}), or DIR itself when it holds a
destination.json: schema, templates, DECLARED vs USED parameters, syncs (parameters, secrets by
reference, required mappings, limits), the logo, and that every example renders to its expect.
Every problem is printed to stderr as path:line:col: message.

  --verbose, -v   print each destination's DECLARED vs USED parameter table

Exit 0 when everything is valid (warnings allowed), 1 when anything is invalid, 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { verbose: { type: 'boolean', short: 'v', default: false }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR\n\nusage: ${USAGE}`);
  const dir = positionals[0] ?? DEFAULT_DESTINATIONS_DIR;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no such directory: ${dir}`);

  // Secrets are not read: validation must not depend on the machine it runs on.
  const options = { resolveSecrets: false, checkExamples: true };
  const result: LoadResult = existsSync(join(dir, 'destination.json'))
    ? fromOne(await loadDestination(dir, options))
    : await loadDestinations(dir, options);

  for (const problem of result.problems) console.error(terminalText(formatProblem(problem)));
  for (const folder of result.folders) {
    if (values.verbose) console.log(usageTable(folder));
    const destination = folder.destination;
    if (destination) {
      const syncs = destination.syncs.map((sync) => sync.name);
      console.log(`ok  ${destination.slug}  version ${destination.version}  syncs: ${syncs.length ? syncs.join(', ') : 'none'}`);
    }
  }
  const errors = result.problems.filter((problem) => problem.severity === 'error').length;
  const warnings = result.problems.length - errors;
  const total = result.folders.length;
  const where = relative(process.cwd(), dir) || '.';
  if (errors > 0) {
    console.error(
      `${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''} in ${result.rejected.length} of ${plural(total, 'destination')} under ${where}: ${result.rejected.join(', ')}`,
    );
    return 1;
  }
  if (total === 0) {
    console.error(`no destination folders under ${where}`);
    return 1;
  }
  console.log(`${plural(total, 'destination')} valid${warnings ? ` (${plural(warnings, 'warning')})` : ''}`);
  return 0;
}

function fromOne(folder: DestinationLoad): LoadResult {
  return {
    destinations: folder.destination ? [folder.destination] : [],
    problems: folder.problems,
    rejected: folder.destination ? [] : [folder.slug],
    folders: [folder],
  };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The partner guide's DECLARED vs USED table: every parameter, whether declared, where used. */
export function usageTable(folder: DestinationLoad): string {
  const rows: ParameterUsage[] = folder.parameterUsage ?? [];
  if (!folder.parameterUsage) return `${folder.slug}: DECLARED vs USED unavailable (destination.json could not be read)`;
  if (rows.length === 0) return `${folder.slug}: no parameters declared or used`;
  const table = [
    ['PARAMETER', 'DECLARED', 'USED IN', ''],
    ...rows.map((row) => [
      row.name,
      row.declared ? (row.secret ? 'yes, secret' : 'yes') : 'no',
      row.usedIn.length ? row.usedIn.join(', ') : '-',
      !row.declared ? '<- used but not declared' : row.usedIn.length === 0 ? '<- declared but not used' : '',
    ]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...table.map((row) => row[column].length)));
  const lines = table.map((row) => `  ${row.slice(0, 3).map((cell, column) => cell.padEnd(widths[column])).join('  ')}  ${row[3]}`.trimEnd());
  return `${folder.slug}: DECLARED vs USED\n${lines.join('\n')}`;
}
