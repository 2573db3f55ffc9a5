// What preview and send share: a destination folder, one of its syncs (or another sync file) and
// one event file, loaded and checked, with every problem printed as path:line:col: message.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { checkEvent, DEFAULT_MAX_EVENT_DEPTH, type AmplitudeEvent } from '../daemon/events/index.js';
import { JSON_SCAN, jsonSyntaxError, parseJsonExact, scanJson } from '../daemon/json/index.js';
import { formatProblem, listSyncFiles, loadDestinationDefinition, loadSync, type LoadedSync, type LoadProblem } from '../daemon/registry/index.js';
import { UsageError } from './commands/usage.js';
import { terminalLine } from './terminal-text.js';

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads an event file as the daemon decodes a message (depth first, exact integers); every problem is one line. */
function readEvent(file: string): AmplitudeEvent | undefined {
  const problem = (message: string) => console.error(terminalLine(`${file}: ${message}`));
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    problem(`cannot read the event: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  // Before anything recurses over it (the syntax check, the schema, the template).
  const scan = scanJson(data, DEFAULT_MAX_EVENT_DEPTH);
  if (scan === JSON_SCAN.tooDeep) return void problem(`invalid event: nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels`);
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return void problem('invalid event: not UTF-8');
  }
  const syntax = jsonSyntaxError(text);
  if (syntax) {
    console.error(terminalLine(`${file}:${syntax.place.line}:${syntax.place.column}: invalid JSON: ${syntax.message}`));
    return undefined;
  }
  const checked = checkEvent(scan === JSON_SCAN.longDigits ? parseJsonExact(text) : JSON.parse(text));
  if (!checked.ok) return void problem(`invalid event: ${checked.message}`);
  return checked.event;
}
