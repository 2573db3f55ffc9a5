// What `destinations plan` compares: the destinations and syncs a side holds, read from a folder
// tree (a checkout, or a git ref extracted into a temporary folder) or from a running daemon's
// admin report. A tree knows its files; a daemon report knows only versions and sync states.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { checkEvent } from '../../daemon/events/index.js';
import { loadDestinations, previewParameters, renderEventRequest, syncEgress, type LoadedDestination, type LoadedSync, type ResolvedParameters } from '../../daemon/registry/index.js';
import { isJsonContentType, type RenderedRequest } from '../../daemon/render/index.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';

export interface SyncState {
  id: string;
  enabled: boolean;
  /** Sync file content hash (trees only). */
  fileHash?: string;
  /** Where a new consumer starts: "new" (default), "all", or an ISO time (trees only). */
  startAt?: string;
  /** Parameters given by reference: name → the reference as JSON, e.g. {"env":"API_KEY"} (trees only). */
  references?: Record<string, string>;
  /** References the environment of this process does not resolve: name → why (the proposed tree only). */
  unresolved?: Record<string, string>;
  /** Where its requests (and token requests) go, host[:port]; a daemon report gives its own list. */
  egressHosts?: string[];
}

export interface DestinationState {
  slug: string;
  version: string;
  /** Path within the folder → content hash (trees only). */
  files?: Record<string, string>;
  /** Each example (examples/NAME.json) rendered through its sync, secrets as placeholders, as text (trees only). */
  examples?: Record<string, ExampleRequest>;
  syncs: Record<string, SyncState>;
}

export interface ExampleRequest {
  sync: string;
  /** The request as lines: method and URL, headers in name order, a blank line, the body (JSON indented). */
  request: string;
}

export interface PlanSide {
  /** What this side is, for the output: "destinations", "git ref main", "daemon at http://…". */
  label: string;
  destinations: Record<string, DestinationState>;
  /** Folders that fail validation (trees only): the daemon would keep their last good version. */
  rejected: Record<string, number>;
}

/** Every file of a folder (hidden names skipped, as the loader skips them), with a content hash. */
function fileHashes(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
    }
  };
  walk(dir);
  return files;
}

/** A destinations tree on disk. With `resolveSecrets`, each sync's references are tried in `env`. */
export async function treeSide(dir: string, label: string, options: { resolveSecrets: boolean; env?: NodeJS.ProcessEnv }): Promise<PlanSide> {
  const destinations: Record<string, DestinationState> = {};
  const rejected: Record<string, number> = {};
  if (!existsSync(dir)) return { label, destinations, rejected };
  const result = await loadDestinations(dir, { resolveSecrets: options.resolveSecrets, env: options.env, checkExamples: false });
  for (const folder of result.folders) {
    const errors = folder.problems.filter((problem) => problem.severity === 'error');
    // A sync with an unresolved secret is reported under secrets, not as a rejected folder.
    if (!folder.destination) {
      rejected[folder.slug] = errors.length;
      continue;
    }
    const destination = folder.destination;
    const syncs: Record<string, SyncState> = {};
    for (const sync of destination.syncs) {
      const given = sync.definition.parameters ?? {};
      const references: Record<string, string> = {};
      for (const name of sync.parameters.referenced) references[name] = JSON.stringify(given[name]);
      const startAt = (sync.definition as { startAt?: unknown }).startAt;
      syncs[sync.id] = {
        id: sync.id,
        enabled: sync.enabled,
        fileHash: createHash('sha256').update(readFileSync(sync.file)).digest('hex').slice(0, 16),
        startAt: typeof startAt === 'string' ? startAt : 'new',
        references,
        unresolved: options.resolveSecrets ? Object.fromEntries(sync.parameters.unresolved) : undefined,
        egressHosts: syncEgress(sync, previewParameters(placeholderSecrets(sync), 'mask').values),
      };
    }
    destinations[destination.slug] = { slug: destination.slug, version: destination.version, files: fileHashes(destination.dir), examples: exampleRequests(destination), syncs };
  }
  return { label, destinations, rejected };
}

/** A sync whose secrets all render as <secret:NAME>, resolved or not: both sides of a plan show the same placeholder. */
function placeholderSecrets(sync: LoadedSync): ResolvedParameters {
  return { ...sync.parameters, unresolved: new Map() };
}

/** The request each example's event gives through its sync (the first in name order when it names none), as text. */
function exampleRequests(destination: LoadedDestination): Record<string, ExampleRequest> {
  const requests: Record<string, ExampleRequest> = {};
  const dir = join(destination.dir, 'examples');
  if (!existsSync(dir)) return requests;
  const syncs = [...destination.syncs].sort((a, b) => a.name.localeCompare(b.name));
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json') && !file.startsWith('.')).sort()) {
    let example: { sync?: unknown; event?: unknown };
    try {
      example = JSON.parse(readFileSync(join(dir, name), 'utf8')) as typeof example;
    } catch {
      continue; // validate reports it
    }
    const sync = typeof example.sync === 'string' ? syncs.find((candidate) => candidate.name === example.sync) : syncs[0];
    if (!sync) continue;
    const checked = checkEvent(example.event);
    let request: string;
    if (!checked.ok) request = `invalid event: ${checked.message}`;
    else {
      try {
        request = requestText(renderEventRequest({ ...sync, parameters: placeholderSecrets(sync) }, checked.event, 'mask').request);
      } catch (error) {
        request = `cannot render: ${(error as Error).message}`;
      }
    }
    requests[`examples/${name}`] = { sync: sync.name, request };
  }
  return requests;
}

function requestText(request: RenderedRequest): string {
  const headers = Object.entries(request.headers).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => `${name}: ${value}`);
  let body = request.body;
  try {
    if (isJsonContentType(request.headers['content-type'] ?? '')) body = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON after all: shown as it is
  }
  return [`${request.method} ${request.url}`, ...headers, '', body].join('\n');
}

/** A running daemon's admin report (GET /destinations). */
export function daemonSide(report: AdminReport, label: string): PlanSide {
  const destinations: Record<string, DestinationState> = {};
  for (const destination of report.destinations) {
    const syncs: Record<string, SyncState> = {};
    for (const sync of destination.syncs) syncs[sync.id] = { id: sync.id, enabled: sync.enabled, egressHosts: sync.egressHosts };
    destinations[destination.slug] = { slug: destination.slug, version: destination.version, syncs };
  }
  return { label, destinations, rejected: {} };
}

/** A git ref's version of `dir`, extracted with git archive into a temporary folder; the caller's working tree is never touched. */
export async function gitRefSide(dir: string, ref: string): Promise<PlanSide> {
  if (ref.startsWith('-')) throw new Error(`not a git ref: ${ref}`);
  const git = (...args: string[]) => execFileSync('git', ['-C', resolve(dir), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  let top: string;
  let prefix: string;
  try {
    top = git('rev-parse', '--show-toplevel');
    prefix = git('rev-parse', '--show-prefix');
    git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`cannot read git ref ${ref} in ${dir}: ${stderr || (error as Error).message}`);
  }
  const temp = mkdtempSync(join(tmpdir(), 'destinations-plan-'));
  try {
    const archive = join(temp, 'ref.tar');
    const tree = join(temp, 'tree');
    mkdirSync(tree);
    // The folder may not exist at that ref (everything is new): git archive of a missing path fails, which is that case.
    let exists = true;
    try {
      execFileSync('git', ['-C', top, 'archive', '--format=tar', `--output=${archive}`, ref, '--', prefix || '.'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      exists = false;
    }
    if (exists) execFileSync('tar', ['-xf', archive, '-C', tree], { stdio: ['ignore', 'ignore', 'pipe'] });
    return await treeSide(join(tree, prefix), `git ref ${ref}`, { resolveSecrets: false });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
