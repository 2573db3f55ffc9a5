// What merging would change: one side (what runs, or the base branch) against another (the pull
// request's tree). Pure: both sides are read before (plan-state.ts). The JSON form is the
// contract for scripts; the text form is for a pull request's description.
import type { DestinationState, PlanSide, SyncState } from './plan-state.js';

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
      const startAt = next.startAt ?? 'new';
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
  return lines.join('\n');
}
