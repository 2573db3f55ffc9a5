// npm run fuzz -- [--minutes N] [--target NAME]… [--runs N] [--timeout-ms N] [--targets-dir DIR] [--work DIR]: coverage-guided fuzzing
// (Jazzer.js, libFuzzer) of what untrusted input reaches. The minutes are split evenly among the
// targets, which run one after another, each in its own process; each run starts from its committed
// seeds, its regression inputs and the corpus earlier runs grew in .fuzz/<target>/corpus. Prints per
// target the runs, execs/s, coverage, corpus and findings; exits 1 on any finding (a crash, a hang
// past the timeout, an out-of-memory), whose input is left in .fuzz/<target>/findings/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../daemon/paths.js';
import { compatibleAddon, PATCHED_ADDON_ENV } from './jazzer-addon.js';
import type { ChildRun } from './jazzer-child.js';
import { listTargets, loadTarget, type TargetPaths } from './targets.js';

/** Per input: a render's own budget is 1 s, so 10 s is a hang even on a loaded 2-core machine. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** Code whose branches guide the fuzzer: ours, and nunjucks' lexer, parser and compiler that templates go through. */
const INSTRUMENT = ['/dist/daemon/', '/nunjucks/src/'];
const FINDING_FILE = /^(crash|timeout|oom|leak)-/;
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'jazzer-child.js');
let interrupted = false;

interface Options {
  minutes: number;
  /** Compiled targets other than dist/fuzz/targets (the runner's own test uses one that crashes). */
  targetsDir?: string;
  /** Where each target's corpus, findings and log go, instead of .fuzz/ (the runner's test uses a temporary folder). */
  work?: string;
  runs?: number;
  targets: string[];
  timeoutMs: number;
}

interface Figures {
  name: string;
  seconds: number;
  runs: number;
  execsPerSecond: number;
  coverage: number;
  features: number;
  corpusFiles: number;
  corpusBytes: number;
  findings: string[];
  exitCode: number;
}

function usage(message: string): never {
  console.error(`${message}\nusage: npm run fuzz -- [--minutes N] [--target NAME]… [--runs N] [--timeout-ms N] [--targets-dir DIR] [--work DIR]\ntargets: ${listTargets().map((target) => target.name).join(', ')}`);
  process.exit(2);
}

function readOptions(argv: readonly string[]): Options {
  const options: Options = { minutes: 1, targets: [], timeoutMs: DEFAULT_TIMEOUT_MS };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = argv[++index];
    const number = Number(value);
    if (flag === '--target') for (const name of (value ?? '').split(',')) options.targets.push(name);
    else if (flag === '--minutes' && number > 0) options.minutes = number;
    else if (flag === '--runs' && Number.isInteger(number) && number > 0) options.runs = number;
    else if (flag === '--timeout-ms' && Number.isInteger(number) && number > 0) options.timeoutMs = number;
    else if (flag === '--targets-dir' && value) options.targetsDir = value;
    else if (flag === '--work' && value) options.work = value;
    else usage(`${flag} ${value ?? ''}: not an option, or not a positive number`);
  }
  return options;
}

/** libFuzzer's dictionary format: one quoted token a line, with \\, \" and \xNN escapes. */
function dictionaryText(tokens: readonly string[]): string {
  const line = (token: string) =>
    `"${[...Buffer.from(token, 'utf8')].map((byte) => (byte === 0x22 || byte === 0x5c ? `\\${String.fromCharCode(byte)}` : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('')}"`;
  return `${[...new Set(tokens)].filter((token) => token !== '').map(line).join('\n')}\n`;
}

function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith('.')) : [];
}

async function runTarget(target: TargetPaths, seconds: number, options: Options, addon: string | undefined): Promise<Figures> {
  const { info } = await loadTarget(target);
  const corpus = join(target.work, 'corpus');
  const findings = join(target.work, 'findings');
  mkdirSync(corpus, { recursive: true });
  mkdirSync(findings, { recursive: true });
  const dictionary = join(target.work, 'dictionary.txt');
  writeFileSync(dictionary, dictionaryText(info.dictionary));
  const before = new Set(filesIn(findings));
  const run: ChildRun = {
    module: target.module,
    corpus: [corpus, target.seeds, target.regressions].filter((dir) => existsSync(dir)),
    libFuzzerFlags: [
      options.runs === undefined ? `-max_total_time=${seconds}` : `-runs=${options.runs}`,
      `-max_len=${info.maxLen}`,
      `-dict=${dictionary}`,
      `-artifact_prefix=${findings}/`,
      '-print_final_stats=1',
    ],
    timeoutMs: options.timeoutMs,
    instrument: INSTRUMENT,
    disableBugDetectors: [...(info.disableBugDetectors ?? [])],
  };
  console.log(`\n${target.name}: ${info.summary}`);
  console.log(`  ${options.runs === undefined ? `${seconds} s` : `${options.runs} runs`}, log in ${relative(process.cwd(), join(target.work, 'log.txt'))}`);
  const log = createWriteStream(join(target.work, 'log.txt'));
  const lines: string[] = [];
  const started = performance.now();
  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(run)], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, ...(addon ? { [PATCHED_ADDON_ENV]: addon } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const take = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 400) lines.splice(0, lines.length - 200);
        if (/^#\d+\s+pulse\b/.test(line)) console.log(`  ${line.trim()}`);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // Ctrl-C: libFuzzer stops and prints its figures; no further target starts.
    const stop = () => {
      interrupted = true;
      child.kill('SIGINT');
    };
    process.once('SIGINT', stop);
    child.on('close', (code, signal) => {
      process.off('SIGINT', stop);
      if (pending) lines.push(pending);
      log.end();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  const figures = parseFigures(target, lines, (performance.now() - started) / 1000, exitCode);
  figures.findings = filesIn(findings).filter((name) => FINDING_FILE.test(name) && !before.has(name)).map((name) => join(findings, name));
  if (exitCode !== 0 || figures.findings.length > 0) {
    console.log(`  --- last lines of the log ---\n${lines.slice(-60).map((line) => `  ${line}`).join('\n')}`);
  }
  return figures;
}

function parseFigures(target: TargetPaths, lines: readonly string[], seconds: number, exitCode: number): Figures {
  const stat = (name: string) => Number(lines.map((line) => new RegExp(`^stat::${name}:\\s*(\\d+)`).exec(line)?.[1]).filter(Boolean).pop() ?? 0);
  const last = [...lines].reverse().find((line) => /^#\d+\s.*\bcov: \d+/.test(line)) ?? '';
  const field = (name: string) => Number(new RegExp(`\\b${name}: (\\d+)`).exec(last)?.[1] ?? 0);
  const corpus = join(target.work, 'corpus');
  const files = [...filesIn(corpus).map((name) => join(corpus, name)), ...filesIn(target.seeds).map((name) => join(target.seeds, name))];
  return {
    name: target.name,
    seconds,
    runs: stat('number_of_executed_units') || Number(/^#(\d+)/.exec(last)?.[1] ?? 0),
    execsPerSecond: stat('average_exec_per_sec'),
    coverage: field('cov'),
    features: field('ft'),
    corpusFiles: files.length,
    corpusBytes: files.reduce((total, file) => total + statSync(file).size, 0),
    findings: [],
    exitCode,
  };
}

function printTable(all: readonly Figures[]): void {
  const number = (value: number) => value.toLocaleString('en-US');
  const rows = [
    ['target', 'minutes', 'runs', 'execs/s', 'coverage', 'features', 'corpus', 'findings', 'exit'],
    ...all.map((figures) => [
      figures.name,
      (figures.seconds / 60).toFixed(1),
      number(figures.runs),
      number(figures.execsPerSecond),
      number(figures.coverage),
      number(figures.features),
      `${number(figures.corpusFiles)} (${Math.round(figures.corpusBytes / 1024)} KB)`,
      String(figures.findings.length),
      String(figures.exitCode),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  console.log('');
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
  for (const figures of all) for (const file of figures.findings) console.log(`finding: ${relative(process.cwd(), file)}`);
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const known = listTargets(options.targetsDir, options.work);
  const unknown = options.targets.filter((name) => !known.some((target) => target.name === name));
  if (unknown.length > 0) usage(`no target named ${unknown.join(', ')}`);
  const targets = options.targets.length === 0 ? known : known.filter((target) => options.targets.includes(target.name));
  const addon = compatibleAddon(join(PACKAGE_ROOT, '.fuzz', 'addon'));
  if (addon) console.log(`Jazzer.js's prebuilt fuzzer needs a newer glibc than this system's: using a patched copy (${relative(process.cwd(), addon)}, see fuzz/jazzer-addon.ts)`);
  const seconds = Math.max(1, Math.floor((options.minutes * 60) / targets.length));
  const all: Figures[] = [];
  for (const target of targets) {
    if (interrupted) break;
    all.push(await runTarget(target, seconds, options, addon));
  }
  printTable(all);
  const failed = all.some((figures) => figures.exitCode !== 0 || figures.findings.length > 0);
  process.exit(failed ? 1 : 0);
}

await main();
