// destinations validate [DIR] [--verbose] [--strict] [--format text|github]
// Checks every destination folder under DIR (or DIR itself when it is one), renders every
// template for generated events, and prints every problem at once as path:line:col: message
// (or as GitHub Actions annotations). Exit 0 valid, 1 invalid, 2 usage.
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_DESTINATIONS_DIR } from '../../daemon/defaults.js';
import {
  formatProblem,
  loadDestination,
  sortProblems,
  loadDestinations,
  type DestinationLoad,
  type LoadResult,
  type ParameterUsage,
} from '../../daemon/registry/index.js';
import { schemaReferenceProblems } from '../schema-references.js';
import { githubAnnotation, githubSummary } from '../github-annotations.js';
import { parseCommandArgs, UsageError } from './usage.js';
import { terminalText } from '../terminal-text.js';

const USAGE = 'destinations validate [DIR] [--verbose] [--strict] [--format text|github]';
const HELP = `usage: ${USAGE}

Checks every destination folder under DIR (default: ${DEFAULT_DESTINATIONS_DIR}), or DIR itself when it holds a
destination.json: schema, templates, DECLARED vs USED parameters, syncs (parameters, secrets by
reference, required mappings, limits), the logo, that every example renders to its expect, and
that every template renders valid JSON, headers and URL for events generated from the event
schema and each sync's selections (each optional field absent and present, each property null,
string, number, list, object, awkward text; batches of 1, 2 and maxEvents).
Every problem is printed to stderr as path:line:col: message.

  --verbose, -v     print each destination's DECLARED vs USED parameter table
  --strict          warnings (no examples, no identify example, ignored files) are errors
  --format text     path:line:col: message on stderr (default)
  --format github   GitHub Actions annotations (::error file=…,line=…,col=…::message) on stdout,
                    and a summary appended to $GITHUB_STEP_SUMMARY when it is set

Exit 0 when everything is valid (warnings allowed), 1 when anything is invalid, 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      verbose: { type: 'boolean', short: 'v', default: false },
      strict: { type: 'boolean', default: false },
      format: { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR\n\nusage: ${USAGE}`);
  if (values.format !== 'text' && values.format !== 'github') throw new UsageError(`--format must be text or github, not ${JSON.stringify(values.format)}`);
  const dir = positionals[0] ?? DEFAULT_DESTINATIONS_DIR;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no such directory: ${dir}`);

  // Secrets are not read: validation must not depend on the machine it runs on.
  const options = { resolveSecrets: false, checkExamples: true, authoringChecks: true };
  const loaded: LoadResult = existsSync(join(dir, 'destination.json'))
    ? fromOne(await loadDestination(dir, options))
    : await loadDestinations(dir, options);
  for (const folder of loaded.folders) {
    const unresolved = schemaReferenceProblems(folder.dir);
    folder.problems.push(...unresolved);
    loaded.problems.push(...unresolved);
  }
  const checked = values.strict ? strict(loaded) : loaded;
  // One list for every folder, by file and place: the order an editor or a reviewer walks.
  const result = { ...checked, problems: sortProblems(checked.problems) };

  if (values.format === 'github') {
    for (const problem of result.problems) console.log(githubAnnotation(problem));
    githubSummary(result, process.env.GITHUB_STEP_SUMMARY);
  } else {
    for (const problem of result.problems) console.error(terminalText(formatProblem(problem)));
  }
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

/** --strict: every warning is an error, and a folder with one is rejected. */
function strict(result: LoadResult): LoadResult {
  const folders = result.folders.map((folder) => {
    const problems = folder.problems.map((problem) => ({ ...problem, severity: 'error' as const }));
    return { ...folder, problems, destination: problems.length ? undefined : folder.destination };
  });
  return {
    destinations: folders.flatMap((folder) => (folder.destination ? [folder.destination] : [])),
    problems: [...result.problems.filter((problem) => !result.folders.some((folder) => folder.problems.includes(problem))), ...folders.flatMap((folder) => folder.problems)].map(
      (problem) => ({ ...problem, severity: 'error' as const }),
    ),
    rejected: folders.filter((folder) => !folder.destination).map((folder) => folder.slug),
    folders,
  };
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
