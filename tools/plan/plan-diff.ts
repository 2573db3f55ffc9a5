// What merging would change: one side (what runs, or the base branch) against another (the pull
// request's tree). Pure: both sides are read before (plan-state.ts). The JSON form is the
// contract for scripts; the text form is for a pull request's description.
import type { DestinationState, PlanSide, SyncState } from './plan-state.js';
import { DEFAULT_START_AT } from '../../daemon/defaults.js';

export interface FileChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface Plan {
  before: string;
  after: string;
  destinations: {
    added: Array<{ slug: string; version: string }>;
    changed: Array<{ slug: string; versionBefore: string; versionAfter: string; files?: FileChanges }>;
    removed: Array<{ slug: string; version: string }>;
    /** Fail validation in the proposed tree: a daemon keeps their last good version. */
    rejected: Array<{ slug: string; errors: number }>;
  };
  syncs: {
    added: Array<{ id: string; enabled: boolean; startAt: string; starts: string }>;
    changed: Array<{ id: string; why: string }>;
    removed: Array<{ id: string }>;
    disabled: Array<{ id: string }>;
    enabled: Array<{ id: string }>;
  };
  /** References new in the proposed tree that this process's environment does not resolve: named, never shown. */
  unresolvedSecrets: Array<{ sync: string; parameter: string; reference: string; why: string }>;
  /** What leaves the network: the hosts (host[:port]) each enabled sync that is added, enabled, changed or
   *  whose destination changed sends to (requests and token requests); hostsBefore when it ran before
   *  and that side knows them, newHosts those it did not reach before. Explains changes above: not counted. */
  egress: Array<{ sync: string; hosts: string[]; hostsBefore?: string[]; newHosts: string[] }>;
  /** For each changed destination (both sides trees), the examples whose rendered request differs:
   *  the request as text before and after (absent on a side without that example), secrets as placeholders. Not counted. */
  requests: Array<{ slug: string; example: string; sync: string; before?: string; after?: string }>;
  changes: number;
}

/** What a new sync's startAt means, in words. */
export function describeStart(startAt: string): string {
  if (startAt === 'new') return 'events published from when it starts (startAt "new", the default)';
  if (startAt === 'all') return 'every event the stream still holds (startAt "all": replays history)';
  return `events published from ${startAt} on (startAt)`;
}

function fileChanges(before: DestinationState, after: DestinationState): FileChanges | undefined {
  if (!before.files || !after.files) return undefined;
  const names = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])].sort();
  return {
    added: names.filter((name) => !(name in before.files!)),
    changed: names.filter((name) => name in before.files! && name in after.files! && before.files![name] !== after.files![name]),
    removed: names.filter((name) => !(name in after.files!)),
  };
}

function allSyncs(side: PlanSide): Map<string, SyncState> {
  const syncs = new Map<string, SyncState>();
  for (const destination of Object.values(side.destinations)) for (const sync of Object.values(destination.syncs)) syncs.set(sync.id, sync);
  return syncs;
}

export function planChanges(before: PlanSide, after: PlanSide): Plan {
  const plan: Plan = {
    before: before.label,
    after: after.label,
    destinations: { added: [], changed: [], removed: [], rejected: [] },
    syncs: { added: [], changed: [], removed: [], disabled: [], enabled: [] },
    unresolvedSecrets: [],
    egress: [],
    requests: [],
    changes: 0,
  };
  const slugs = [...new Set([...Object.keys(before.destinations), ...Object.keys(after.destinations), ...Object.keys(after.rejected)])].sort();
  const keptByRejection = new Set<string>();
  for (const slug of slugs) {
    const old = before.destinations[slug];
    const next = after.destinations[slug];
    if (slug in after.rejected) {
      plan.destinations.rejected.push({ slug, errors: after.rejected[slug] });
      keptByRejection.add(slug);
    } else if (!old && next) plan.destinations.added.push({ slug, version: next.version });
    else if (old && !next) plan.destinations.removed.push({ slug, version: old.version });
    else if (old && next && old.version !== next.version) {
      plan.destinations.changed.push({ slug, versionBefore: old.version, versionAfter: next.version, files: fileChanges(old, next) });
    }
  }
  const oldSyncs = allSyncs(before);
  const newSyncs = allSyncs(after);
  const slugOf = (id: string) => id.slice(0, id.indexOf('.'));
  for (const id of [...new Set([...oldSyncs.keys(), ...newSyncs.keys()])].sort()) {
    if (keptByRejection.has(slugOf(id))) continue; // the daemon keeps the folder's last good version
    const old = oldSyncs.get(id);
    const next = newSyncs.get(id);
    if (!old && next) {
      const startAt = next.startAt ?? DEFAULT_START_AT;
      plan.syncs.added.push({ id, enabled: next.enabled, startAt, starts: next.enabled ? describeStart(startAt) : 'nothing: it is disabled' });
    } else if (old && !next) plan.syncs.removed.push({ id });
    else if (old && next) {
      if (old.enabled && !next.enabled) plan.syncs.disabled.push({ id });
      else if (!old.enabled && next.enabled) plan.syncs.enabled.push({ id });
      else if (old.fileHash !== undefined && next.fileHash !== undefined && old.fileHash !== next.fileHash) plan.syncs.changed.push({ id, why: 'its sync file changed' });
    }
    // Secrets: references that are new (or point elsewhere) and do not resolve here.
    for (const [name, why] of Object.entries(next?.unresolved ?? {})) {
      const reference = next!.references?.[name] ?? '';
      const known = old?.references?.[name];
      if (next!.enabled && known !== reference) plan.unresolvedSecrets.push({ sync: id, parameter: name, reference, why });
    }
  }
  const changedSlugs = new Set(plan.destinations.changed.map((row) => row.slug));
  for (const [id, next] of newSyncs) {
    if (keptByRejection.has(slugOf(id)) || !next.enabled || !next.egressHosts) continue;
    const old = oldSyncs.get(id);
    const touched = !old || !old.enabled || (old.fileHash !== undefined && old.fileHash !== next.fileHash) || changedSlugs.has(slugOf(id));
    if (!touched) continue;
    const hostsBefore = old?.enabled ? old.egressHosts : undefined;
    plan.egress.push({ sync: id, hosts: next.egressHosts, ...(hostsBefore ? { hostsBefore } : {}), newHosts: next.egressHosts.filter((host) => !hostsBefore?.includes(host)) });
  }
  plan.egress.sort((a, b) => a.sync.localeCompare(b.sync));
  for (const { slug } of plan.destinations.changed) {
    const old = before.destinations[slug].examples;
    const next = after.destinations[slug].examples;
    if (!old || !next) continue;
    for (const example of [...new Set([...Object.keys(old), ...Object.keys(next)])].sort()) {
      if (old[example]?.request === next[example]?.request) continue;
      plan.requests.push({ slug, example, sync: (next[example] ?? old[example]).sync, before: old[example]?.request, after: next[example]?.request });
    }
  }
  const { destinations: d, syncs: s } = plan;
  plan.changes = d.added.length + d.changed.length + d.removed.length + d.rejected.length + s.added.length + s.changed.length + s.removed.length + s.disabled.length + s.enabled.length + plan.unresolvedSecrets.length;
  return plan;
}

function files(changes: FileChanges | undefined): string {
  if (!changes) return '';
  const parts = [...changes.added.map((name) => `+${name}`), ...changes.changed.map((name) => `~${name}`), ...changes.removed.map((name) => `-${name}`)];
  return parts.length ? `; files ${parts.join(' ')}` : '';
}

/** The plan as text for a pull request's description (Markdown-friendly, one line per change). */
export function formatPlan(plan: Plan): string {
  const lines = [`destinations plan: ${plan.after} against ${plan.before}`];
  if (plan.changes === 0) return `${lines[0]}\nno changes`;
  const { destinations: d, syncs: s } = plan;
  const section = (title: string, rows: string[]) => rows.length && lines.push('', title, ...rows.map((row) => `  ${row}`));
  section('destinations', [
    ...d.added.map((row) => `+ ${row.slug}  new, version ${row.version}`),
    ...d.changed.map((row) => `~ ${row.slug}  version ${row.versionBefore} -> ${row.versionAfter}${files(row.files)}`),
    ...d.removed.map((row) => `- ${row.slug}  removed (was version ${row.version}): its syncs stop consuming; their consumers are kept`),
    ...d.rejected.map((row) => `! ${row.slug}  fails validation (${row.errors} error${row.errors === 1 ? '' : 's'}): a daemon keeps its last good version; run destinations validate`),
  ]);
  section('syncs', [
    ...s.added.map((row) => `+ ${row.id}  new${row.enabled ? '' : ', disabled'}: starts with ${row.starts}`),
    ...s.changed.map((row) => `~ ${row.id}  ${row.why}: restarts with it`),
    ...s.enabled.map((row) => `+ ${row.id}  enabled: consumes again (from its kept consumer's position if it ran before, else as startAt says)`),
    ...s.disabled.map((row) => `- ${row.id}  disabled: stops consuming (its consumer is kept)`),
    ...s.removed.map((row) => `- ${row.id}  removed: stops consuming (its consumer is kept)`),
  ]);
  section(
    'secrets not resolved here (a daemon with the same environment rejects the folder on reload)',
    plan.unresolvedSecrets.map((row) => `! ${row.sync}  ${row.parameter} ${row.reference}: ${row.why}`),
  );
  section(
    'what leaves the network (where each new or changed sync sends, token requests included)',
    plan.egress.map((row) => `> ${row.sync}  ${row.hosts.join(', ') || '(no host)'}${row.hostsBefore === undefined ? '  (new)' : row.newHosts.length ? `  (new: ${row.newHosts.join(', ')}; was ${row.hostsBefore.join(', ') || 'none'})` : '  (as before)'}`),
  );
  if (plan.requests.length) {
    lines.push('', 'rendered requests of the examples that change (secrets as placeholders; - before, + after)');
    for (const row of plan.requests) {
      lines.push(`  ${row.slug}/${row.example} (sync ${row.sync})`, ...lineDiff(row.before, row.after).map((line) => `    ${line}`));
    }
  }
  return lines.join('\n');
}

/** Beyond this many lines a side, the diff is both sides in full (a longest-common-subsequence table is quadratic). */
const MAX_DIFF_LINES = 400;

/** A line diff of two texts: ' ' kept, '-' before only, '+' after only. */
export function lineDiff(before: string | undefined, after: string | undefined): string[] {
  const a = before === undefined ? [] : before.split('\n');
  const b = after === undefined ? [] : after.split('\n');
  if (a.length > MAX_DIFF_LINES || b.length > MAX_DIFF_LINES) return [...a.map((line) => `- ${line}`), ...b.map((line) => `+ ${line}`)];
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (i < a.length && (j === b.length || common[i + 1][j] >= common[i][j + 1])) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}
