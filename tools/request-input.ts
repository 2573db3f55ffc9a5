// What preview and send share: a destination folder, one of its syncs (or another sync file) and
// an event file (one event, a JSON array of events, or one event per line), loaded and checked,
// with every problem printed as path:line:col: message.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RenderError } from '../daemon/render/index.js';
import { checkEvent, type AmplitudeEvent } from '../daemon/events/index.js';
import { DEFAULT_MAX_EVENT_DEPTH } from '../daemon/defaults.js';
import { JSON_SCAN, jsonSyntaxError, parseJsonExact, scanJson, scanJsonText } from '../daemon/json/index.js';
import { formatProblem, listSyncFiles, loadDestinationDefinition, loadSync, type LoadedSync, type LoadProblem } from '../daemon/registry/index.js';
import { UsageError } from './commands/usage.js';
import { terminalLine } from './terminal-text.js';

export interface RequestInput {
  sync: LoadedSync;
  /** The first event (the only one, usually). */
  event: AmplitudeEvent;
  /** Every event of the file, in order. */
  events: AmplitudeEvent[];
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
  const events = readEvents(options.eventFile);
  return events && { sync: loaded.sync, event: events[0], events };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an event file as the daemon decodes a message (depth first, exact integers): one event, a
 * JSON array of events, or one event per line. Every problem is one line naming the file (and the
 * line, or the array item).
 */
function readEvents(file: string): AmplitudeEvent[] | undefined {
  const problem = (message: string) => console.error(terminalLine(`${file}: ${message}`));
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    problem(`cannot read the event: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  // Before anything recurses over it (the syntax check, the schema, the template); a list adds one level.
  const scan = scanJson(data, DEFAULT_MAX_EVENT_DEPTH + 1);
  if (scan === JSON_SCAN.tooDeep) return void problem(`invalid event: nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels`);
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return void problem('invalid event: not UTF-8');
  }
  const parse = (json: string) => (scan === JSON_SCAN.longDigits ? parseJsonExact(json) : JSON.parse(json));
  const lines = text.split('\n');
  const nonEmpty = lines.filter((line) => line.trim() !== '');
  const syntax = jsonSyntaxError(text);
  // One event per line: the file as a whole is not JSON, but each of its lines is.
  if (syntax && nonEmpty.length > 1 && nonEmpty.every((line) => line.trim().startsWith('{'))) {
    const events: AmplitudeEvent[] = [];
    for (let index = 0; index < lines.length; index++) {
      if (lines[index].trim() === '') continue;
      const lineSyntax = jsonSyntaxError(lines[index]);
      if (lineSyntax) return void console.error(terminalLine(`${file}:${index + 1}:${lineSyntax.place.column}: invalid JSON: ${lineSyntax.message}`));
      const value = parse(lines[index]);
      if (scanJsonText(lines[index], DEFAULT_MAX_EVENT_DEPTH) === JSON_SCAN.tooDeep) return void problem(`line ${index + 1}: invalid event: nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels`);
      const checked = checkEvent(value);
      if (!checked.ok) return void console.error(terminalLine(`${file}:${index + 1}:1: invalid event: ${checked.message}`));
      events.push(checked.event);
    }
    return events;
  }
  if (syntax) {
    console.error(terminalLine(`${file}:${syntax.place.line}:${syntax.place.column}: invalid JSON: ${syntax.message}`));
    return undefined;
  }
  const value = parse(text);
  if (!Array.isArray(value)) {
    if (scanJsonText(text, DEFAULT_MAX_EVENT_DEPTH) === JSON_SCAN.tooDeep) return void problem(`invalid event: nests deeper than ${DEFAULT_MAX_EVENT_DEPTH} levels`);
    const checked = checkEvent(value);
    if (!checked.ok) return void problem(`invalid event: ${checked.message}`);
    return [checked.event];
  }
  if (value.length === 0) return void problem('no events: the list is empty');
  const events: AmplitudeEvent[] = [];
  for (const [index, item] of value.entries()) {
    const checked = checkEvent(item);
    if (!checked.ok) return void problem(`invalid event ${index + 1} of ${value.length}: ${checked.message}`);
    events.push(checked.event);
  }
  return events;
}

/**
 * A render failure as `path:line:col: message` with the template's path from the working directory
 * (`destinations/posthog/body.njk:14:9: …`), so an editor or CI jumps to it; other errors as they are.
 */
export function renderFailureText(command: string, dir: string, error: unknown): string {
  if (!(error instanceof RenderError)) return `destinations ${command}: ${(error as Error).message}`;
  const [file, pointer] = error.file.split('#');
  const path = relative(process.cwd(), join(dir, file)) || file;
  const place = error.line === undefined ? path : `${path}:${error.line}:${error.column ?? 1}`;
  return `${place}: ${pointer ? `${pointer}: ` : ''}${error.detail}`;
}
