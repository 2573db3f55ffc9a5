// Loading destination folders: discovered by scanning (the folder name is the slug), every file
// checked, every problem of every folder collected with its place. A folder with an error is
// rejected as a whole; the others load. What each file holds is read by read-definition.ts
// (destination.json and its templates), read-sync.ts (syncs/*.json) and examples.ts.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { DestinationExample } from '../../schema/generated/example.js';
import { checkSyncOnCorpus } from './check-corpus.js';
import { checkExample, readExamples, warnAboutMissingExamples } from './examples.js';
import { Problems, sortProblems } from './problems.js';
import { readDefinition } from './read-definition.js';
import { readSync, syncNameOf, type SyncReadSettings } from './read-sync.js';
import type { DestinationLoad, LoadedDestination, LoadedSync, LoadResult, ParameterUsage } from './types.js';
import { declaredVariables, overridesVariables, readVariables, type Variables } from './variables.js';

export const SYNCS_DIR = 'syncs';

export interface LoadOptions {
  /** Read secret references (environment, files). Default true; validate passes false. */
  resolveSecrets?: boolean;
  /** Environment for {"env": …} references and ${VAR} in file paths. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Render every example and compare it with its expect. Default true. */
  checkExamples?: boolean;
  /** validate's checks beyond what loading needs: every template of every sync rendered for
   *  generated events, and warnings for missing examples. Default false (the daemon). */
  authoringChecks?: boolean;
  /** This host's values for the folder's variables (the daemon configuration's "variables"). */
  variables?: Readonly<Record<string, string | undefined>>;
  /** Already read by loadDestinations for every folder (with its problems reported once, there). */
  readVariables?: Variables;
}

interface Settings extends SyncReadSettings {
  checkExamples: boolean;
  authoringChecks: boolean;
}

/** `destinationsDir` is the folder holding the destination folders (and variables.json). */
function settingsOf(options: LoadOptions, destinationsDir: string): Settings {
  return {
    resolveSecrets: options.resolveSecrets ?? true,
    env: options.env ?? process.env,
    checkExamples: options.checkExamples ?? true,
    authoringChecks: options.authoringChecks ?? false,
    variables: options.readVariables ?? readVariables(destinationsDir, options.variables),
  };
}

/** Every destination folder under `dir`, in slug order. Files and hidden folders are skipped. */
export async function loadDestinations(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    const problem = { file: root, severity: 'error' as const, message: `cannot read the destinations folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    return { destinations: [], problems: [problem], rejected: [], folders: [] };
  }
  const variables = readVariables(root, options.variables);
  const folders: DestinationLoad[] = [];
  for (const name of entries) folders.push(await loadDestination(join(root, name), { ...options, readVariables: variables }));
  return {
    destinations: folders.flatMap((folder) => (folder.destination ? [folder.destination] : [])),
    problems: [...variables.problems, ...folders.flatMap((folder) => folder.problems)],
    rejected: folders.filter((folder) => !folder.destination).map((folder) => folder.slug),
    folders,
  };
}

/** One destination folder, its syncs and (unless turned off) its examples. */
export async function loadDestination(folder: string, options: LoadOptions = {}): Promise<DestinationLoad> {
  const dir = resolve(folder);
  const settings = settingsOf(options, dirname(dir));
  const problems = new Problems();
  // Loaded on its own (validate or preview of one folder), it reports the variables file's problems itself.
  if (!options.readVariables) problems.addAll(settings.variables.problems);
  const definition = readDefinition(dir, problems);
  const syncFiles = listSyncFiles(dir, problems);
  const byName = new Map<string, LoadedSync | undefined>();
  for (const file of syncFiles) {
    const sync = readSync(definition.destination, file, settings, problems);
    byName.set(syncNameOf(file), sync);
  }
  const names = [...byName.keys()];
  const examples = readExamples(dir, problems);
  // Examples are the author's: rendered with the variables file's values, not a host's.
  const exampleSyncs = settings.checkExamples && examples.length > 0 && overridesVariables(settings.variables) ? syncsAsDeclared(definition.destination, syncFiles, settings) : byName;
  for (const document of examples) {
    if (!definition.destination || !settings.checkExamples) continue;
    checkExample(document, document.value as DestinationExample, { names, byName: exampleSyncs }, problems);
  }
  if (definition.destination && settings.authoringChecks) {
    warnAboutMissingExamples(dir, definition.destination, examples, problems);
    const seen = new Set<string>();
    for (const sync of byName.values()) if (sync) checkSyncOnCorpus(sync, problems, seen);
  }
  const destination = definition.destination;
  if (destination) destination.syncs.push(...[...byName.values()].filter((sync): sync is LoadedSync => sync !== undefined));
  return finish(dir, problems, destination, definition.parameterUsage);
}

/** The syncs read again with the variables file's own values (their problems were reported by the first read). */
function syncsAsDeclared(destination: LoadedDestination | undefined, syncFiles: string[], settings: Settings): Map<string, LoadedSync | undefined> {
  const asDeclared = { ...settings, variables: declaredVariables(settings.variables) };
  return new Map(syncFiles.map((file) => [syncNameOf(file), readSync(destination, file, asDeclared, new Problems())]));
}

/** destination.json, its templates and logo, without syncs or examples (what preview and send need first). */
export async function loadDestinationDefinition(folder: string): Promise<DestinationLoad> {
  const dir = resolve(folder);
  const problems = new Problems();
  const definition = readDefinition(dir, problems);
  return finish(dir, problems, definition.destination, definition.parameterUsage);
}

/** One sync file (in the folder's syncs/ or anywhere else) of a loaded destination. It is not added to `destination.syncs`. */
export async function loadSync(
  destination: LoadedDestination,
  file: string,
  options: LoadOptions = {},
): Promise<{ sync?: LoadedSync; problems: DestinationLoad['problems'] }> {
  const problems = new Problems();
  const settings = settingsOf(options, dirname(destination.dir));
  problems.addAll(settings.variables.problems);
  const sync = readSync(destination, resolve(file), settings, problems);
  return { sync: problems.hasErrors ? undefined : sync, problems: sortProblems(problems.list) };
}

/** The .json files of a folder's syncs/, in name order (the first is the one preview uses by default). */
export function listSyncFiles(folder: string, problems?: Problems): string[] {
  const dir = join(resolve(folder), SYNCS_DIR);
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile() && entry.name.endsWith('.json')) files.push(join(dir, entry.name));
    else problems?.warning(join(dir, entry.name), 'ignored: a sync is a .json file in syncs/');
  }
  return files;
}

function finish(dir: string, problems: Problems, destination: LoadedDestination | undefined, parameterUsage?: ParameterUsage[]): DestinationLoad {
  return {
    slug: basename(dir),
    dir,
    destination: problems.hasErrors ? undefined : destination,
    problems: sortProblems(problems.list),
    parameterUsage,
  };
}
