// npm run bench [-- --quick] [-- --events N] …: the daemon against a no-frills baseline in the same run.
// Starts its own nats-server and a sink process on loopback, pre-publishes the events, measures every
// scenario of issue 5, prints a table with PASS/MISS per target and writes bench/results/latest.json.
// Everything is bounded: each window closes at an event count or a time limit, whichever comes first.
// See bench/README.md for what each figure means.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { coarseGroups, formatProfile, latestProfile, summariseProfile, type ProfileSummary } from './profile.js';
import {
  countPlan,
  prepareMain,
  runBaseline,
  runDaemon,
  runFanout,
  runLatency,
  runMemory,
  runRate,
  type BenchContext,
  type LatencyResult,
  type MemoryResult,
  stops,
  type RateResult,
  type Throughput,
} from './scenarios.js';
import { formatStages, measureStages, type StageCost } from './stages-micro.js';
import { makeScratchDist, PatchNotApplicableError, removeScratch, SCRATCH_VARIANTS } from './scratch.js';
import { BenchSink } from './sink.js';

const SCENARIOS = ['baseline', 'daemon', 'batched', 'fanout', 'latency', 'memory', 'rate'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const USAGE = `usage: npm run bench -- [options]
  --quick                 about a minute: fewer events, shorter windows
  --events N              events pre-published for the throughput scenarios (default 100000; quick 20000)
  --repeat R              run the baseline/daemon pairs R times, alternating, and keep the median (default 1)
  --only LIST             comma list of ${SCENARIOS.join(',')} (default all)
  --fanout LIST           sync counts for fan-out (default 1,10,50; quick 1,50)
  --fanout-seconds S      measuring window per fan-out case (default 10; quick 2)
  --latency-rate R        events/s for the latency case (default 2000)
  --latency-seconds S     (default 10; quick 2)
  --memory-events M       backlog for the memory case (default 1000000; quick 50000)
  --memory-seconds S      (default 15; quick 4)
  --rate-seconds S        rate-limit window (default 60; quick 6)
  --profile               also run the daemon and baseline single scenarios under node --cpu-prof and summarise
  --experiments           also measure the issue's optimisations (baseline variants, scratch copies of the daemon)
  --experiment-events N   events per experiment (default 60000; quick 20000)
  --out FILE              JSON results (default bench/results/latest.json)`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    repeat: { type: 'string' },
    only: { type: 'string' },
    fanout: { type: 'string' },
    'fanout-seconds': { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-seconds': { type: 'string' },
    'memory-events': { type: 'string' },
    'memory-seconds': { type: 'string' },
    'rate-seconds': { type: 'string' },
    profile: { type: 'boolean', default: false },
    experiments: { type: 'boolean', default: false },
    'experiment-events': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(parsed) || parsed <= 0) {
    console.error(`--${name} must be a positive number, got ${value}\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed;
}

const quick = flags.quick;
const options = {
  quick,
  events: Math.round(numberFlag('events', flags.events, quick ? 20_000 : 100_000)),
  repeat: Math.round(numberFlag('repeat', flags.repeat, 1)),
  fanout: (flags.fanout ?? (quick ? '1,50' : '1,10,50')).split(',').map((value) => Math.round(numberFlag('fanout', value, 1))),
  fanoutSeconds: numberFlag('fanout-seconds', flags['fanout-seconds'], quick ? 2 : 10),
  latencyRate: numberFlag('latency-rate', flags['latency-rate'], 2_000),
  latencySeconds: numberFlag('latency-seconds', flags['latency-seconds'], quick ? 2 : 10),
  memoryEvents: Math.round(numberFlag('memory-events', flags['memory-events'], quick ? 50_000 : 1_000_000)),
  memorySeconds: numberFlag('memory-seconds', flags['memory-seconds'], quick ? 4 : 15),
  rateSeconds: numberFlag('rate-seconds', flags['rate-seconds'], quick ? 6 : 60),
  profile: flags.profile,
  experiments: flags.experiments,
  experimentEvents: Math.round(numberFlag('experiment-events', flags['experiment-events'], quick ? 20_000 : 60_000)),
  only: new Set<ScenarioName>((flags.only?.split(',') as ScenarioName[] | undefined) ?? SCENARIOS),
  out: flags.out ?? fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url)),
};
for (const name of options.only) {
  if (!SCENARIOS.includes(name)) {
    console.error(`--only: unknown scenario ${name}\n\n${USAGE}`);
    process.exit(2);
  }
}
/** Issue 5: Braze's documented limit. */
const RATE_LIMIT = { requests: 50_000, periodSeconds: 60 };
/** Longest a count-bounded throughput window may take. */
const MAX_WINDOW_SECONDS = quick ? 15 : 60;

function machine() {
  let natsServer = 'unknown';
  try {
    natsServer = execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  let commit = 'unknown';
  let daemonChanges = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'daemon'], { encoding: 'utf8' }).trim();
    daemonChanges = status === '' ? 'none' : `${status.split('\n').length} uncommitted file(s) under daemon/`;
  } catch {
    // not a git checkout
  }
  return { commit, daemonChanges, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, natsServer, platform: `${process.platform} ${process.arch}` };
}

const runStarted = performance.now();
const log = (message: string) => console.log(message);
/** Progress lines carry the run's elapsed time, so a slow scenario shows. */
const progress = (message: string) => console.log(`[${((performance.now() - runStarted) / 1_000).toFixed(0).padStart(3)} s] ${message}`);
const fmt = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)} %` : '—');

interface Target {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

interface Experiment {
  group: string;
  name: string;
  what: string;
  result?: Throughput;
  /** Relative to the reference row of its group. */
  vsReference?: number;
  error?: string;
}

interface Results {
  machine: ReturnType<typeof machine>;
  options: Omit<typeof options, 'only'> & { only: string[] };
  startedAt: string;
  durationSeconds?: number;
  publish?: { events: number; eventsPerSecond: number };
  throughput: Record<string, Throughput>;
  fanout: Record<string, Throughput>;
  latency: Record<string, LatencyResult>;
  memory?: MemoryResult;
  rate?: RateResult;
  /** The same limit, one sync run by two daemon processes (scale-out; not one of issue 5's targets). */
  rateShared?: RateResult;
  targets: Target[];
  profile?: Record<string, { summary: ProfileSummary; modules: Record<string, number>; eventsPerSecond: number }>;
  experiments?: Experiment[];
  /** The daemon's hot path stage by stage, in this process (bench/stages-micro.ts). */
  stages?: StageCost[];
  /** SIGTERM → exit of every daemon of the throughput scenarios (drain bound 2 s). */
  daemonStops?: typeof stops;
  errors: string[];
}

async function main(): Promise<void> {
  const started = performance.now();
  const results: Results = {
    machine: machine(),
    options: { ...options, only: [...options.only] },
    startedAt: new Date().toISOString(),
    throughput: {},
    fanout: {},
    latency: {},
    targets: [],
    errors: [],
  };
  log(`destinations bench: ${results.machine.cores} cores (${results.machine.cpu}), Node ${results.machine.node}, ${results.machine.natsServer}`);
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url, name: 'bench' });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const sink = await BenchSink.start();
  // Every daemon of the run comes from this copy of dist/ (see bench/scratch.ts).
  const snapshot = makeScratchDist({ name: 'snapshot', what: 'dist/ as built when the run started', patches: [] });
  const ctx: BenchContext = { distDir: snapshot, stopGraceMs: quick ? 5_000 : 20_000, nats, nc, js, jsm, sink, main: { name: 'BENCH_EVENTS', subjects: ['benchevents.>'] }, mainEvents: options.events, log };
  const attempt = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      const message = `${name}: ${(error as Error).stack ?? error}`;
      results.errors.push(message);
      log(`  FAILED ${message}`);
      return undefined;
    }
  };
  const only = options.only;
  try {
    const needsMain = ['baseline', 'daemon', 'batched', 'fanout', 'rate'].some((name) => only.has(name as ScenarioName)) || options.profile || options.experiments;
    if (needsMain) {
      progress(`publishing ${fmt(options.events)} events…`);
      const eventsPerSecond = await prepareMain(ctx);
      results.publish = { events: options.events, eventsPerSecond };
      log(`  ${fmt(eventsPerSecond)} events/s published`);
    }
    const plan = countPlan(options.events, MAX_WINDOW_SECONDS);
    const runs: Record<string, Throughput[]> = {};
    const throughput = async (key: string, run: () => Promise<Throughput>) => {
      progress(`${key}…`);
      const result = await attempt(key, run);
      if (result) {
        (runs[key] ??= []).push(result);
        log(`  ${fmt(result.eventsPerSecond)} events/s, ${fmt(result.cpuPer1k.subject, 3)} CPU s per 1k events${result.partial ? ' (time limit reached)' : ''}`);
      }
    };
    // Baseline and daemon alternate, so a busy neighbour hurts both alike; with --repeat, the median run counts.
    for (let round = 1; round <= options.repeat; round++) {
      const suffix = options.repeat > 1 ? `-${round}` : '';
      if (options.repeat > 1) progress(`round ${round} of ${options.repeat}`);
      if (only.has('baseline')) await throughput('baseline single', () => runBaseline(ctx, 'baseline loop, 1 event/request', plan));
      if (only.has('daemon')) await throughput('daemon single', () => runDaemon(ctx, 'daemon, 1 event/request', plan, { slug: `bench-single${suffix}`, syncs: 1 }));
      if (only.has('batched')) {
        await throughput('baseline batched', () => runBaseline(ctx, 'baseline loop, 100 events/request', plan, { mode: 'batched', inFlight: 16 }));
        await throughput('daemon batched', () => runDaemon(ctx, 'daemon, 100 events/request', plan, { slug: `bench-batched${suffix}`, syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } }));
      }
    }
    for (const [key, list] of Object.entries(runs)) {
      const sorted = [...list].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
      results.throughput[key] = { ...sorted[Math.floor((sorted.length - 1) / 2)], repeats: list.map((result) => Math.round(result.eventsPerSecond)) };
    }
    if (only.has('fanout')) {
      for (const syncs of options.fanout) {
        progress(`fan-out to ${syncs} sync(s)…`);
        const result = await attempt(`fanout ${syncs}`, () => runFanout(ctx, syncs, options.fanoutSeconds));
        if (result) {
          results.fanout[String(syncs)] = result;
          log(`  ${fmt(result.eventsPerSecond)} deliveries/s aggregate`);
        }
      }
    }
    if (only.has('latency')) {
      // Quick runs measure the daemon only; the baseline's latency shows what NATS and HTTP alone cost.
      for (const which of quick ? (['daemon'] as const) : (['baseline', 'daemon'] as const)) {
        progress(`latency, ${which}, ${fmt(options.latencyRate)} events/s for ${options.latencySeconds} s…`);
        const result = await attempt(`latency ${which}`, () => runLatency(ctx, which, options.latencyRate, options.latencySeconds));
        if (result) {
          results.latency[which] = result;
          log(`  p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms`);
        }
      }
    }
    if (only.has('rate')) {
      progress(`rate limit ${fmt(RATE_LIMIT.requests)}/min for ${options.rateSeconds} s…`);
      results.rate = await attempt('rate', () => runRate(ctx, RATE_LIMIT, options.rateSeconds));
      progress(`rate limit ${fmt(RATE_LIMIT.requests)}/min shared by 2 daemons for ${options.rateSeconds} s…`);
      results.rateShared = await attempt('rate, 2 daemons', () => runRate(ctx, RATE_LIMIT, options.rateSeconds, 2));
    }
    if (only.has('memory')) {
      progress(`memory: ${fmt(options.memoryEvents)} events backlogged, destination answering 500…`);
      results.memory = await attempt('memory', () => runMemory(ctx, options.memoryEvents, options.memorySeconds));
    }
    if (options.profile) await profile(ctx, results, attempt);
    if (options.experiments) await experiments(ctx, results, attempt);
  } finally {
    await sink.stop().catch(() => undefined);
    await nc.drain().catch(() => undefined);
    await nats.stop();
    removeScratch();
  }
  results.durationSeconds = (performance.now() - started) / 1_000;
  results.daemonStops = stops;
  results.targets = targets(results);
  printReport(results);
  mkdirSync(join(options.out, '..'), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults written to ${options.out} (${fmt(results.durationSeconds, 0)} s)`);
  if (results.errors.length > 0) process.exitCode = 1;
}

type Attempt = <T>(name: string, run: () => Promise<T>) => Promise<T | undefined>;

async function profile(ctx: BenchContext, results: Results, attempt: Attempt): Promise<void> {
  results.profile = {};
  const plan = countPlan(options.events, MAX_WINDOW_SECONDS);
  for (const which of ['daemon', 'daemon batched', 'baseline'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `destinations-bench-prof-${which.replace(' ', '-')}-`));
    progress(`profiling ${which} (node --cpu-prof)…`);
    const result = await attempt(`profile ${which}`, () =>
      which === 'daemon'
        ? runDaemon(ctx, 'daemon, 1 event/request, profiled', plan, { slug: 'bench-profile', syncs: 1 }, { cpuProfileDir: dir })
        : which === 'daemon batched'
          ? runDaemon(ctx, 'daemon, 100 events/request, profiled', plan, { slug: 'bench-profile-batched', syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } }, { cpuProfileDir: dir })
          : runBaseline(ctx, 'baseline, profiled', plan, {}, dir),
    );
    const file = latestProfile(dir);
    if (result && file) {
      // The whole process was profiled, start-up included: charge it to every event it delivered
      // (what the sink counted from its start until it stopped).
      const delivered = (await ctx.sink.stats()).events;
      const summary = summariseProfile(file, delivered);
      results.profile[which] = { summary, modules: coarseGroups(summary), eventsPerSecond: result.eventsPerSecond };
      log(formatProfile(summary, `${which} profile (${fmt(result.eventsPerSecond)} events/s while profiled)`));
    } else if (result) {
      results.errors.push(`profile ${which}: no .cpuprofile written in ${dir}`);
    }
    if (file) {
      const keep = fileURLToPath(new URL(`../../bench/results/${which.replace(' ', '-')}.cpuprofile`, import.meta.url));
      mkdirSync(join(keep, '..'), { recursive: true });
      copyFileSync(file, keep);
      log(`  kept as ${keep} (open in Chrome DevTools → Performance)`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function experiments(ctx: BenchContext, results: Results, attempt: Attempt): Promise<void> {
  const plan = countPlan(Math.min(options.experimentEvents, options.events), MAX_WINDOW_SECONDS);
  const list: Experiment[] = (results.experiments = []);
  progress('the daemon\'s hot path, stage by stage (bench/stages-micro.ts)…');
  results.stages = await attempt('stages', () => measureStages());
  if (results.stages) log(formatStages(results.stages));
  const run = async (group: string, name: string, what: string, go: () => Promise<Throughput>) => {
    progress(`experiment ${group} / ${name}…`);
    const experiment: Experiment = { group, name, what };
    list.push(experiment);
    try {
      experiment.result = await go();
      log(`  ${fmt(experiment.result.eventsPerSecond)} events/s, ${fmt(experiment.result.cpuPer1k.subject, 3)} CPU s/1k, nats ${fmt(experiment.result.cpuPer1k.nats, 3)}`);
    } catch (error) {
      experiment.error = error instanceof PatchNotApplicableError ? error.message : String((error as Error).stack ?? error);
      log(`  ${experiment.error}`);
    }
  };
  const single = 'baseline, 1 event/request';
  await run(single, 'reference', 'iterator, acks per event-loop turn, max_messages 512, 64 connections, 64 in flight', () => runBaseline(ctx, 'ref', plan));
  await run(single, 'ack each', 'msg.ack() in each response handler: one socket write per ack', () => runBaseline(ctx, 'ack each', plan, { ack: 'each' }));
  await run(single, 'callback', 'consume({callback}) with a local queue behind the same gate', () => runBaseline(ctx, 'callback', plan, { consume: 'callback' }));
  for (const maxMessages of [64, 128, 1_000]) {
    await run(single, `max_messages ${maxMessages}`, `consume({ max_messages: ${maxMessages} })`, () => runBaseline(ctx, `mm ${maxMessages}`, plan, { maxMessages }));
  }
  for (const connections of [8, 16, 128]) {
    await run(single, `${connections} connections`, `undici Pool({ connections: ${connections} })`, () => runBaseline(ctx, `conn ${connections}`, plan, { connections }));
  }
  await run(single, '256 in flight', "the daemon's default gate (maxInFlightPerSync 256) instead of 64", () => runBaseline(ctx, 'if256', plan, { inFlight: 256 }));
  await run(single, 'reference', 'again, to see the drift of a shared machine', () => runBaseline(ctx, 'ref again', plan));

  // Batched loops are fast: they read the whole stream, so their windows are long enough to compare.
  const batchedPlan = countPlan(options.events, MAX_WINDOW_SECONDS);
  const batched = 'baseline, 100 events/request';
  const batchedBase = { mode: 'batched', inFlight: 16 } as const;
  await run(batched, 'reference', 'acks per turn, AckPolicy.Explicit, max_ack_pending 1000', () => runBaseline(ctx, 'b ref', batchedPlan, batchedBase));
  await run(batched, 'ack each', 'msg.ack() per message (a batch\'s 100 acks still share one flush)', () => runBaseline(ctx, 'b each', batchedPlan, { ...batchedBase, ack: 'each' }));
  await run(batched, 'watermark (AckPolicy.All)', 'one cumulative ack per turn for the highest message below which all are done', () => runBaseline(ctx, 'b wm', batchedPlan, { ...batchedBase, ack: 'watermark' }));
  await run(batched, '5000 pending', 'max_ack_pending 5000, max_messages 1000, 64 requests in flight', () =>
    runBaseline(ctx, 'b 5k', batchedPlan, { ...batchedBase, maxAckPending: 5_000, maxMessages: 1_000, inFlight: 64 }),
  );
  await run(batched, 'watermark, 5000 pending', 'AckPolicy.All, max_ack_pending 5000, max_messages 1000, 64 requests', () =>
    runBaseline(ctx, 'b wm 5k', batchedPlan, { ...batchedBase, ack: 'watermark', maxAckPending: 5_000, maxMessages: 1_000, inFlight: 64 }),
  );
  await run(batched, 'reference', 'again', () => runBaseline(ctx, 'b ref again', batchedPlan, batchedBase));

  const daemon = 'daemon, 1 event/request';
  let slug = 0;
  const destination = () => ({ slug: `bench-exp-${++slug}`, syncs: 1 });
  await run(daemon, 'reference', 'this checkout', () => runDaemon(ctx, 'd ref', plan, destination()));
  for (const variant of SCRATCH_VARIANTS) {
    await run(daemon, variant.name, variant.what, () => runDaemon(ctx, variant.name, plan, destination(), { distDir: makeScratchDist(variant, ctx.distDir) }));
  }
  await run(daemon, 'maxInFlightPerSync 64', 'config: 64 requests in flight per sync (default 256)', () => runDaemon(ctx, 'if64', plan, destination(), { settings: { maxInFlightPerSync: 64 } }));
  await run(daemon, 'maxAckPending 5000', 'config: stream.maxAckPending 5000 (default 1000)', () => runDaemon(ctx, 'map5k', plan, destination(), { settings: { stream: { maxAckPending: 5_000 } } }));
  await run(daemon, 'reference', 'again', () => runDaemon(ctx, 'd ref again', plan, destination()));

  const fanout = 'daemon, 50 syncs on one origin';
  await run(fanout, 'reference', 'defaults: 256 in flight per sync and 256 for the destination, for a 64-connection pool', () => runFanout(ctx, 50, options.fanoutSeconds, undefined, `bench-exp-${++slug}`));
  await run(fanout, 'no destination cap', 'config: maxInFlightPerDestination 12,800, so 50 × 256 requests on the pool (as before the cap)', () =>
    runFanout(ctx, 50, options.fanoutSeconds, { maxInFlightPerDestination: 12_800 }, `bench-exp-${++slug}`),
  );
  await run(fanout, 'maxInFlightPerSync 8', 'config: 8 per sync (400 for 50 syncs, so the destination cap of 256 still binds)', () => runFanout(ctx, 50, options.fanoutSeconds, { maxInFlightPerSync: 8 }, `bench-exp-${++slug}`));

  const daemonBatched = 'daemon, 100 events/request';
  const batchedDestination = () => ({ slug: `bench-exp-${++slug}`, syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } });
  await run(daemonBatched, 'reference', 'this checkout', () => runDaemon(ctx, 'db ref', batchedPlan, batchedDestination()));
  await run(daemonBatched, 'maxAckPending 5000', 'config: stream.maxAckPending 5000', () => runDaemon(ctx, 'db map5k', batchedPlan, batchedDestination(), { settings: { stream: { maxAckPending: 5_000 } } }));
  await run(daemonBatched, 'reference', 'again', () => runDaemon(ctx, 'db ref again', batchedPlan, batchedDestination()));

  // Each group measured its reference first and last: the variants are compared with their mean.
  for (const experiment of list) {
    const references = list.filter((other) => other.group === experiment.group && other.name === 'reference' && other.result).map((other) => other.result!.eventsPerSecond);
    const reference = references.reduce((sum, value) => sum + value, 0) / references.length;
    if (experiment.result && references.length > 0) experiment.vsReference = experiment.result.eventsPerSecond / reference;
  }
}

/** Events/s the measured CPU per event would allow on two otherwise idle cores: the process's main
 *  thread gets at most one core, and it, nats-server and the sink share two. */
function cpuBound(result: Throughput): number {
  const { subject, nats, sink } = result.cpuPer1k;
  return Math.min(1_000 / subject, 2_000 / (subject + nats + sink));
}

function targets(results: Results): Target[] {
  const list: Target[] = [];
  const t = results.throughput;
  const ratio = (a: Throughput | undefined, b: Throughput | undefined) => (a && b ? a.eventsPerSecond / b.eventsPerSecond : undefined);
  const single = ratio(t['daemon single'], t['baseline single']);
  const cpuNote = (daemon: Throughput | undefined, baseline: Throughput | undefined) =>
    daemon && baseline ? ` (CPU per event: daemon ${fmt(daemon.cpuPer1k.subject * 1_000, 0)} µs, baseline ${fmt(baseline.cpuPer1k.subject * 1_000, 0)} µs → ${pct(baseline.cpuPer1k.subject / daemon.cpuPer1k.subject)})` : '';
  list.push({
    target: 'daemon ≥ 80 % of baseline events/s (1 event/request)',
    measured: single === undefined ? 'not run' : pct(single) + cpuNote(t['daemon single'], t['baseline single']),
    pass: single === undefined ? undefined : single >= 0.8,
  });
  const batched = ratio(t['daemon batched'], t['baseline batched']);
  list.push({
    target: 'batched daemon ≥ 90 % of the batched loop',
    measured: batched === undefined ? 'not run' : pct(batched) + cpuNote(t['daemon batched'], t['baseline batched']),
    pass: batched === undefined ? undefined : batched >= 0.9,
  });
  const counts = Object.keys(results.fanout).map(Number);
  const most = Math.max(...counts);
  const fan = counts.includes(1) && most > 1 ? ratio(results.fanout[String(most)], results.fanout['1']) : undefined;
  list.push({ target: `${most > 1 ? most : 50} syncs aggregate ≥ 70 % of one sync`, measured: fan === undefined ? 'not run' : pct(fan), pass: fan === undefined ? undefined : fan >= 0.7 });
  const latency = results.latency.daemon;
  list.push({
    target: `p99 latency < 25 ms at ${fmt(options.latencyRate)} events/s`,
    measured: latency ? `p99 ${fmt(latency.p99, 1)} ms (p50 ${fmt(latency.p50, 1)})` : 'not run',
    pass: latency ? latency.p99 < 25 && latency.delivered >= latency.published : undefined,
  });
  const memory = results.memory;
  list.push({
    target: `RSS < 150 MB with ${fmt(memory?.backlog ?? options.memoryEvents)} events backlogged${(memory?.backlog ?? options.memoryEvents) < 1_000_000 ? ' (scaled down)' : ''}`,
    measured: memory ? `peak ${fmt(memory.peakRssMB, 1)} MB` : 'not run',
    pass: memory ? memory.peakRssMB < 150 : undefined,
  });
  const rate = results.rate;
  const perSecondCap = Math.floor(RATE_LIMIT.requests / RATE_LIMIT.periodSeconds);
  list.push({
    target: `limiter never over ${perSecondCap} requests in any second (at the sink)`,
    measured: rate ? `max ${fmt(rate.maxPerSecond)} per whole second (busiest sliding second: ${fmt(rate.maxSlidingSecond)})` : 'not run',
    pass: rate ? rate.maxPerSecond <= perSecondCap : undefined,
  });
  list.push({
    target: `limiter within 1 % of its rate over ${rate && rate.windowSeconds < 60 ? `${rate.windowSeconds} s (a minute when not --quick)` : 'a minute'}`,
    measured: rate ? `mean ${fmt(rate.mean, 1)}/s (${rate.meanErrorPercent >= 0 ? '+' : ''}${fmt(rate.meanErrorPercent, 2)} %)` : 'not run',
    pass: rate ? Math.abs(rate.meanErrorPercent) <= 1 && rate.mean <= rate.limitPerSecond : undefined,
  });
  return list;
}

function printReport(results: Results): void {
  const m = results.machine;
  log(`\n=== destinations bench — ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.natsServer}${options.quick ? ', --quick' : ''} ===`);
  if (results.publish) log(`pre-published ${fmt(results.publish.events)} events at ${fmt(results.publish.eventsPerSecond)} events/s`);
  const baselineSingle = results.throughput['baseline single'];
  const baselineBatched = results.throughput['baseline batched'];
  const header = `${'scenario'.padEnd(34)} ${'events/s'.padStart(9)} ${'req/s'.padStart(8)} ${'vs base'.padStart(8)}  ${'CPU s/1k ev: proc'.padStart(17)} ${'nats'.padStart(6)} ${'sink'.padStart(6)}  ${'cores'.padStart(5)} ${'RSS MB'.padStart(7)} ${'others'.padStart(7)} ${'CPU-bound'.padStart(9)}`;
  log(`\n${header}\n${'-'.repeat(header.length)}`);
  const row = (result: Throughput, reference?: Throughput) => {
    const vs = reference ? pct(result.eventsPerSecond / reference.eventsPerSecond) : '';
    log(
      `${(result.label + (result.partial ? ' *' : '') + (result.warmupIncomplete ? ' !' : '')).padEnd(34)} ${fmt(result.eventsPerSecond).padStart(9)} ${fmt(result.requestsPerSecond).padStart(8)} ${vs.padStart(8)}  ${fmt(result.cpuPer1k.subject, 3).padStart(17)} ${fmt(result.cpuPer1k.nats, 3).padStart(6)} ${fmt(result.cpuPer1k.sink, 3).padStart(6)}  ${fmt(result.subjectCores, 2).padStart(5)} ${fmt(result.peakRssMB, 0).padStart(7)} ${fmt(result.cpu.others, 1).padStart(6)}s ${fmt(cpuBound(result)).padStart(9)}`,
    );
  };
  const t = results.throughput;
  if (t['baseline single']) row(t['baseline single'], baselineSingle);
  if (t['daemon single']) row(t['daemon single'], baselineSingle);
  if (t['baseline batched']) row(t['baseline batched'], baselineBatched);
  if (t['daemon batched']) row(t['daemon batched'], baselineBatched);
  const fanoutOne = results.fanout['1'];
  for (const result of Object.values(results.fanout)) row({ ...result, label: `fan-out: ${result.label}` }, fanoutOne);
  log('  vs base: daemon rows vs the baseline loop of the same shape; fan-out rows vs 1 sync. cores: the process\'s CPU as a share of one core.');
  log('  others: CPU seconds other processes on the machine used during the window (noise). * = time limit reached first. ! = never warmed up (see the log).');
  log('  CPU-bound: events/s the measured CPU costs would allow on 2 idle cores (process ≤ 1 core; process + nats + sink ≤ 2) — an estimate, for noisy machines.');
  for (const latency of Object.values(results.latency)) {
    log(
      `latency ${latency.label.padEnd(9)} ${fmt(latency.ratePerSecond)} events/s: p50 ${fmt(latency.p50, 2)} ms, p90 ${fmt(latency.p90, 2)} ms, p99 ${fmt(latency.p99, 2)} ms, max ${fmt(latency.max, 1)} ms (${fmt(latency.delivered)}/${fmt(latency.published)} delivered; ${fmt(latency.cpuPer1k.subject, 3)} CPU s/1k)`,
    );
  }
  const memory = results.memory;
  if (memory) {
    log(
      `memory   ${fmt(memory.backlog)} backlogged (published at ${fmt(memory.publishPerSecond)}/s), destination 500: peak RSS ${fmt(memory.peakRssMB, 1)} MB, last ${fmt(memory.finalRssMB, 1)} MB, peak heap used ${fmt(memory.peakHeapUsedMB, 1)} MB of ${fmt(memory.heapTotalMB, 1)}; ${fmt(memory.requestsPerSecond)} req/s over ${fmt(memory.seconds, 0)} s; left in stream ${fmt(memory.backlogLeft)}, ack pending ${fmt(memory.ackPending)}`,
    );
  }
  const rate = results.rate;
  if (rate) {
    log(
      `rate     limit ${fmt(rate.limitPerMinute)}/min = ${fmt(rate.limitPerSecond, 1)}/s over ${rate.windowSeconds} s: max ${fmt(rate.maxPerSecond)} per whole second, ${fmt(rate.maxSlidingSecond)} in any sliding second, mean ${fmt(rate.mean, 1)}/s (${fmt(rate.meanErrorPercent, 2)} %), ${fmt(rate.inWindow)} in the window`,
    );
    log(`         per second: ${rate.perSecond.join(' ')}`);
  }
  const shared = results.rateShared;
  if (shared) {
    log(
      `rate     the same limit, one sync on ${shared.daemons} daemons: max ${fmt(shared.maxPerSecond)} per whole second, ${fmt(shared.maxSlidingSecond)} in any sliding second, mean ${fmt(shared.mean, 1)}/s (${fmt(shared.meanErrorPercent, 2)} %)`,
    );
    log(`         per second: ${shared.perSecond.join(' ')}`);
  }
  if (results.experiments) {
    log('\nexperiments (events/s vs the reference row of the group; CPU s per 1k events of the process and of nats-server):');
    let group = '';
    for (const experiment of results.experiments) {
      if (experiment.group !== group) {
        group = experiment.group;
        log(`  ${group}`);
      }
      const r = experiment.result;
      log(
        r
          ? `    ${experiment.name.padEnd(28)} ${fmt(r.eventsPerSecond).padStart(8)}/s ${(experiment.vsReference ? `${experiment.vsReference >= 1 ? '+' : ''}${fmt((experiment.vsReference - 1) * 100, 0)} %` : '').padStart(7)}  proc ${fmt(r.cpuPer1k.subject, 3)}  nats ${fmt(r.cpuPer1k.nats, 3)}  ${experiment.what}`
          : `    ${experiment.name.padEnd(28)} not measured: ${experiment.error?.split('\n')[0]}`,
      );
    }
  }
  log('\ntargets (issue 5):');
  for (const target of results.targets) log(`  ${target.pass === undefined ? 'SKIP' : target.pass ? 'PASS' : 'MISS'}  ${target.target.padEnd(62)} ${target.measured}`);
  const slowStops = (results.daemonStops ?? []).filter((stop) => stop.seconds > 5);
  if (slowStops.length > 0) {
    log(`\ndaemon stops over 5 s (drainTimeoutMs is 2 s): ${slowStops.map((stop) => `${stop.label} ${fmt(stop.seconds, 1)} s${stop.killed ? ' (SIGKILL)' : ''}`).join(', ')}`);
  }
  if (results.errors.length > 0) log(`\n${results.errors.length} scenario(s) failed:\n  ${results.errors.map((error) => error.split('\n')[0]).join('\n  ')}`);
}

await main();
