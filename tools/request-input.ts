// What preview and send share: a destination folder, one of its syncs (or another sync file) and
// one event file, loaded and checked, with every problem printed as path:line:col: message.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { checkEvent, type AmplitudeEvent } from '../daemon/events/index.js';
import { jsonSyntaxError } from '../daemon/json/index.js';
import { formatProblem, listSyncFiles, loadDestinationDefinition, loadSync, type LoadedSync, type LoadProblem } from '../daemon/registry/index.js';
import { UsageError } from './commands/usage.js';

export interface RequestInput {
  sync: LoadedSync;
  event: AmplitudeEvent;
}

function printProblems(problems: readonly LoadProblem[]): boolean {
  for (const problem of problems) console.error(formatProblem(problem));
  return problems.some((problem) => problem.severity === 'error');
}

/** Loads the folder, the sync and the event; prints what is wrong and returns undefined when something is. */
export async function loadRequestInput(options: { dir: string; eventFile: string; syncFile?: string; resolveSecrets: boolean }): Promise<RequestInput | undefined> {
  if (!existsSync(options.dir) || !statSync(options.dir).isDirectory()) throw new UsageError(`no such destination folder: ${options.dir}`);
  const definition = await loadDestinationDefinition(options.dir);
  if (printProblems(definition.problems) || !definition.destination) return undefined;
  const syncFile = options.syncFile ?? listSyncFiles(options.dir)[0];
  if (!syncFile) {
    console.error(`${relative(process.cwd(), options.dir) || '.'}: no sync in syncs/: pass one with --sync FILE`);
    return undefined;
  }
  const loaded = await loadSync(definition.destination, syncFile, { resolveSecrets: options.resolveSecrets });
  if (printProblems(loaded.problems) || !loaded.sync) return undefined;
  const event = readEvent(options.eventFile);
  return event && { sync: loaded.sync, event };
}

function readEvent(file: string): AmplitudeEvent | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read the event: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  const syntax = jsonSyntaxError(text);
  if (syntax) {
    console.error(`${file}:${syntax.place.line}:${syntax.place.column}: invalid JSON: ${syntax.message}`);
    return undefined;
  }
  const checked = checkEvent(JSON.parse(text));
  if (!checked.ok) {
    console.error(`${file}: invalid event: ${checked.message}`);
    return undefined;
  }
  return checked.event;
}
