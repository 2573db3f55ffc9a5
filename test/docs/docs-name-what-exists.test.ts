// What the docs (README.md, docs/*.md) name exists: every `destinations <command>` is a command of
// the CLI, every flag written after one is in that command's --help, every metric is a family the
// daemon (or the ingest) exposes, every reason is in the vocabulary (daemon/reasons.ts). And the reverse where a
// reader depends on the docs being complete: every metric family and every reason is documented.
// docs/decisions.md is a record of what was decided when, not a description of today: left out.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { IngestMetrics } from '../../daemon/ingest/index.js';
import { REASONS } from '../../daemon/reasons.js';
import { renderMetrics } from '../../daemon/telemetry/index.js';
import type { DaemonView } from '../../daemon/telemetry/index.js';
import { HelpRequest } from '../../tools/commands/usage.js';
import { runCli } from '../helpers/cli.js';
import { cliReasonTable } from '../helpers/docs.js';

const DOCS = ['README.md', ...readdirSync(join(PACKAGE_ROOT, 'docs')).filter((name) => name.endsWith('.md') && name !== 'decisions.md').map((name) => join('docs', name))];
const texts = DOCS.map((file) => ({ file, text: readFileSync(join(PACKAGE_ROOT, file), 'utf8') }));

/** Inline code spans and fenced code blocks: where a doc writes a command line or a name. */
function codeOf(text: string): string[] {
  const fenced = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((match) => match[1]);
  const inline = [...text.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map((match) => match[1]);
  return [...fenced, ...inline];
}

/** `destinations <command>` where a shell would run it: first on the line (after `$`, sudo, npx, a path), or after &&, ;, | or $(. */
const COMMAND_LINE = /(?:^\s*(?:\$\s+)?(?:sudo\s+)?(?:npx\s+)?(?:\S*\/)?|&&\s*|;\s*|\|\s*|\$\(|ExecStart=\S*\/)destinations ([a-z][a-z-]*)([^|;&]*)/g;

/** `destinations <command> …` in code, with the flags that follow on its line. */
function commandLines(): Array<{ file: string; command: string; flags: string[] }> {
  const found: Array<{ file: string; command: string; flags: string[] }> = [];
  for (const { file, text } of texts) {
    for (const code of codeOf(text)) {
      for (const line of code.split('\n')) {
        // A shell comment is prose (`# what CI runs (npx --no destinations …)`).
        for (const match of line.replace(/(^|\s)#.*$/, '').matchAll(COMMAND_LINE)) {
          const flags = [...match[2].matchAll(/(?:^|[\s[(|])(--[a-z][a-z-]*)/g)].map((flag) => flag[1]);
          found.push({ file, command: match[1], flags });
        }
      }
    }
  }
  return found;
}

// Not a file name (/etc/prometheus/destinations_admin_token).
const METRIC = /(?<![\w/.-])((?:destinations|process|nodejs)_[a-z0-9_]+)|…(_[a-z0-9_]+)/g;

/** The metric names a text gives: `destinations_…` in full, and `…_suffix` after a full name (`x_queued_requests`, `…_running_requests`). */
function metricMentions(text: string, exists: (name: string) => boolean): { named: Set<string>; unknown: string[] } {
  const named = new Set<string>();
  const unknown: string[] = [];
  let previous: string | undefined;
  for (const match of text.matchAll(METRIC)) {
    if (match[1] !== undefined) {
      const name = familyOf(match[1], exists);
      if (name === undefined) unknown.push(match[1]);
      else named.add(name);
      previous = name ?? match[1];
      continue;
    }
    // …_suffix: the previous name with its last words replaced by the suffix.
    const words = previous?.split('_') ?? [];
    let resolved: string | undefined;
    for (let keep = words.length - 1; keep >= 1 && resolved === undefined; keep--) {
      const candidate = `${words.slice(0, keep).join('_')}${match[2]}`;
      if (exists(candidate)) resolved = candidate;
    }
    if (resolved === undefined) unknown.push(`…${match[2]} (after ${previous})`);
    else named.add(resolved);
  }
  return { named, unknown };
}

/** A name, or a histogram's series (`_bucket`, `_sum`, `_count`), as its family. */
function familyOf(name: string, exists: (name: string) => boolean): string | undefined {
  if (exists(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && exists(base) ? base : undefined;
}

/**
 * Where the docs name reasons: the reason table of docs/cli.md, "reason `x`", reason="x", and the
 * codes in the parenthesis after a metric or attribute that carries a reason ({reason}, destinations.reason).
 */
function reasonMentions(): Array<{ file: string; reason: string }> {
  const found: Array<{ file: string; reason: string }> = [];
  for (const { file, text } of texts) {
    if (file === join('docs', 'cli.md')) for (const reason of cliReasonTable(text)) found.push({ file, reason });
    for (const match of text.matchAll(/\breasons? `([a-z0-9_]+)`|reason="([a-z0-9_]+)"/g)) found.push({ file, reason: match[1] ?? match[2] });
    // The parenthesis right after a name that carries a reason lists codes: `…{reason}` | counter | … (`http_4xx`, …).
    for (const match of text.matchAll(/(?:\{reason\}`|`destinations\.reason`)[^(\n]*\(([^)\n]*)\)/g)) {
      for (const code of match[1].matchAll(/`([a-z][a-z0-9]*(?:_[a-z0-9]+)*)`/g)) found.push({ file, reason: code[1] });
    }
  }
  return found;
}

const GITOPS_VIEW = { branch: 'main' } as unknown as NonNullable<DaemonView['gitops']>;

/** Every family the daemon and the ingest expose, from their own expositions (gitops on, so its families are declared too). */
function exposedFamilies(): Set<string> {
  const view: DaemonView = {
    startedAt: new Date(),
    connected: true,
    ready: true,
    reloads: { ok: 0, rejected: 0, failed: 0 },
    gitops: GITOPS_VIEW,
    destinations: [],
  };
  const text = renderMetrics(view, new Map(), Date.now()) + new IngestMetrics().text(true);
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
}

/** A command's --help, in process (a process each took seconds on a busy machine): what it prints, or its usage line. */
async function helpOf(command: string): Promise<string> {
  const { run } = (await import(`../../tools/commands/${command}.js`)) as { run(args: string[]): Promise<number> };
  const printed: unknown[] = [];
  const { log, error } = console;
  console.log = console.error = (...parts: unknown[]) => void printed.push(...parts);
  try {
    await run(['--help']);
  } catch (thrown) {
    if (!(thrown instanceof HelpRequest)) throw thrown;
    printed.push(thrown.usage);
  } finally {
    Object.assign(console, { log, error });
  }
  return printed.join('\n');
}

describe('docs', () => {
  const help = new Map<string, string>();
  let commands: string[] = [];

  before(async () => {
    const top = await runCli(['--help']);
    commands = [...top.stdout.split('commands:')[1].matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((match) => match[1]);
    assert.ok(commands.length > 5, top.stdout);
    for (const command of commands) help.set(command, await helpOf(command));
  });

  it('every destinations command the docs write exists', () => {
    const unknown = commandLines().filter(({ command }) => !commands.includes(command)).map(({ file, command }) => `${file}: destinations ${command}`);
    assert.deepEqual([...new Set(unknown)], []);
  });

  it("every flag the docs write after a command is in that command's --help", () => {
    const lines = commandLines();
    assert.ok(lines.some(({ flags }) => flags.length > 0), 'the docs write command lines with flags (the check itself)');
    const unknown = new Set<string>();
    for (const { file, command, flags } of lines) {
      const text = help.get(command);
      if (text === undefined) continue;
      for (const flag of flags) if (flag !== '--help' && flag !== '--debug' && !new RegExp(`${flag}(?![a-z-])`).test(text)) unknown.add(`${file}: destinations ${command} ${flag}`);
    }
    assert.deepEqual([...unknown], []);
  });

  it('every metric the docs name is one the daemon exposes, and every family it exposes is documented', () => {
    const families = exposedFamilies();
    assert.ok(families.has('destinations_events_delivered_total'), 'the exposition lists families (the check itself)');
    const documented = new Set<string>();
    const unknown: string[] = [];
    for (const { file, text } of texts) {
      const mentions = metricMentions(text, (name) => families.has(name));
      for (const name of mentions.named) documented.add(name);
      unknown.push(...mentions.unknown.map((name) => `${file}: ${name}`));
    }
    assert.deepEqual(unknown, [], 'named in the docs, not exposed');
    assert.deepEqual([...families].filter((name) => !documented.has(name)), [], 'exposed, not in the docs');
  });

  it('every reason the docs name is in the vocabulary, and every reason is documented', () => {
    const vocabulary = new Set<string>(Object.values(REASONS));
    const mentions = reasonMentions();
    assert.deepEqual(mentions.filter(({ reason }) => !vocabulary.has(reason)).map(({ file, reason }) => `${file}: ${reason}`), [], 'named in the docs, not a reason');
    const documented = new Set(mentions.map(({ reason }) => reason));
    assert.deepEqual([...vocabulary].filter((reason) => !documented.has(reason)), [], 'a reason the docs do not name');
  });
});
