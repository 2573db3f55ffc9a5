// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time grouped by module
// (nats, xstate, undici, nunjucks, bottleneck, ajv, ours, node internals, gc …), the top self-time
// functions, and inclusive time of our own functions, each also in µs per event.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  group: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
  usPerEvent: number;
}

export interface ProfileSummary {
  file: string;
  events: number;
  wallMs: number;
  busyMs: number;
  groups: Array<{ group: string; ms: number; percent: number; usPerEvent: number }>;
  topSelf: ProfileRow[];
  topInclusiveOurs: ProfileRow[];
}

const PACKAGE_GROUPS: Record<string, string> = {
  '@nats-io': 'nats',
  xstate: 'xstate',
  undici: 'undici',
  nunjucks: 'nunjucks',
  bottleneck: 'bottleneck',
  ajv: 'ajv',
};

/** Which module a frame belongs to. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (VM, native)';
    if (functionName === '(root)') return 'root';
    return 'builtins (JSON, RegExp, …)';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? rest[0] : rest[0];
    return PACKAGE_GROUPS[name] ?? `other: ${name}`;
  }
  if (url.startsWith('node:')) return 'node core (net, http, streams, timers)';
  const dist = url.indexOf('/dist/');
  if (dist !== -1) {
    const area = url.slice(dist + '/dist/'.length).split('/');
    return area[0] === 'daemon' ? `ours: ${area[1]?.replace(/\.js$/, '') ?? ''}` : `ours: ${area[0]}`;
  }
  return 'other';
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

export function latestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort();
  return files.length > 0 ? join(dir, files[files.length - 1]) : undefined;
}

export function summariseProfile(file: string, events: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; charge it to the sample it ends at.
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + profile.timeDeltas[i] / 1_000);
  const wallMs = (profile.endTime - profile.startTime) / 1_000;
  let idleMs = 0;
  const keyOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'}\u0000${node.callFrame.url}\u0000${node.callFrame.lineNumber}`;
  const selfByKey = new Map<string, { node: ProfileNode; ms: number }>();
  const groups = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    const group = groupOf(node.callFrame);
    if (group === 'idle') idleMs += ms;
    groups.set(group, (groups.get(group) ?? 0) + ms);
    const key = keyOf(node);
    const entry = selfByKey.get(key);
    if (entry) entry.ms += ms;
    else selfByKey.set(key, { node, ms });
  }
  const busyMs = wallMs - idleMs;
  const row = (node: ProfileNode, ms: number): ProfileRow => ({
    name: node.callFrame.functionName || '(anonymous)',
    group: groupOf(node.callFrame),
    where: node.callFrame.url ? `${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}` : '',
    ms,
    percent: (100 * ms) / busyMs,
    usPerEvent: events > 0 ? (ms * 1_000) / events : NaN,
  });

  // Inclusive time per function, counting a recursive function once per stack.
  const subtree = new Map<number, number>();
  const total = (id: number): number => {
    const node = byId.get(id)!;
    let sum = self.get(id) ?? 0;
    for (const child of node.children ?? []) sum += total(child);
    subtree.set(id, sum);
    return sum;
  };
  const root = profile.nodes[0];
  total(root.id);
  const inclusive = new Map<string, { node: ProfileNode; ms: number }>();
  const active = new Map<string, number>();
  const walk = (id: number): void => {
    const node = byId.get(id)!;
    const key = keyOf(node);
    const depth = active.get(key) ?? 0;
    if (depth === 0) {
      const entry = inclusive.get(key);
      if (entry) entry.ms += subtree.get(id)!;
      else inclusive.set(key, { node, ms: subtree.get(id)! });
    }
    active.set(key, depth + 1);
    for (const child of node.children ?? []) walk(child);
    active.set(key, depth);
  };
  walk(root.id);

  return {
    file,
    events,
    wallMs,
    busyMs,
    groups: [...groups]
      .filter(([group]) => group !== 'idle' && group !== 'root')
      .map(([group, ms]) => ({ group, ms, percent: (100 * ms) / busyMs, usPerEvent: events > 0 ? (ms * 1_000) / events : NaN }))
      .sort((a, b) => b.ms - a.ms),
    topSelf: [...selfByKey.values()]
      .filter(({ node }) => !['idle', 'root'].includes(groupOf(node.callFrame)))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(({ node, ms }) => row(node, ms)),
    topInclusiveOurs: [...inclusive.values()]
      .filter(({ node }) => groupOf(node.callFrame).startsWith('ours'))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(({ node, ms }) => row(node, ms)),
  };
}

/** Module totals grouped the way the issue asks: nats, xstate, undici, nunjucks, bottleneck, ours, the rest. */
export function coarseGroups(summary: ProfileSummary): Record<string, number> {
  const coarse: Record<string, number> = {};
  for (const { group, percent } of summary.groups) {
    const key = group.startsWith('ours') ? 'ours' : group.startsWith('other') ? 'other packages' : group;
    coarse[key] = (coarse[key] ?? 0) + percent;
  }
  return coarse;
}

export function formatProfile(summary: ProfileSummary, title: string): string {
  const lines: string[] = [];
  const f = (value: number, digits = 1) => value.toFixed(digits);
  lines.push(`\n${title}`);
  lines.push(`  profile ${summary.file}`);
  lines.push(`  wall ${f(summary.wallMs / 1_000, 1)} s, busy ${f(summary.busyMs / 1_000, 1)} s, ${summary.events.toLocaleString('en')} events → ${f((summary.busyMs * 1_000) / summary.events, 1)} µs busy per event`);
  lines.push('  self time by module:');
  for (const group of summary.groups.slice(0, 16)) {
    lines.push(`    ${group.group.padEnd(42)} ${f(group.percent).padStart(5)} %  ${f(group.usPerEvent, 2).padStart(7)} µs/event`);
  }
  lines.push('  top self-time functions:');
  for (const row of summary.topSelf.slice(0, 20)) {
    lines.push(`    ${f(row.percent).padStart(5)} %  ${f(row.usPerEvent, 2).padStart(6)} µs/ev  ${row.group.padEnd(24).slice(0, 24)} ${row.name.slice(0, 36).padEnd(36)} ${row.where}`);
  }
  lines.push('  our functions, inclusive time:');
  for (const row of summary.topInclusiveOurs.slice(0, 15)) {
    lines.push(`    ${f(row.percent).padStart(5)} %  ${f(row.usPerEvent, 2).padStart(6)} µs/ev  ${row.name.slice(0, 36).padEnd(36)} ${row.where}`);
  }
  return lines.join('\n');
}
