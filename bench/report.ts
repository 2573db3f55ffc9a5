// What a bench run found: the results record, the machine it ran on, and the printed report.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { IngestBenchResult } from './ingest.js';
import type { BenchOptions } from './options.js';
import type { ProfileSummary } from './profile.js';
import { mostPending, type OrderingFailuresResult } from './ordering-failures.js';
import type { LatencyResult, MemoryResult, RateResult, stops, Throughput } from './scenarios.js';
import type { StageCost } from './stages-micro.js';

export function machine() {
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
export const log = (message: string) => console.log(message);
/** Progress lines carry the run's elapsed time, so a slow scenario shows. */
export const progress = (message: string) => console.log(`[${((performance.now() - runStarted) / 1_000).toFixed(0).padStart(3)} s] ${message}`);
export const fmt = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const pct = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)} %` : '—');


export interface Target {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

export interface PeerInfo {
  /** Why the BullMQ rows were not run (no Redis answered). */
  skipped?: string;
  bullmq?: string;
  redis?: { url: string; version: string; persistence: string; pid?: number; cpuNote?: string; keyPrefix: string; keysLeft?: number };
  /** BullMQ's limiter at the bench's rate limit, counted at the sink. */
  rate?: RateResult;
}

export interface Experiment {
  group: string;
  name: string;
  what: string;
  result?: Throughput;
  /** Relative to the reference row of its group. */
  vsReference?: number;
  error?: string;
}

export interface Results {
  machine: ReturnType<typeof machine>;
  options: Omit<BenchOptions, 'only'> & { only: string[] };
  startedAt: string;
  durationSeconds?: number;
  publish?: { events: number; eventsPerSecond: number };
  throughput: Record<string, Throughput>;
  fanout: Record<string, Throughput>;
  latency: Record<string, LatencyResult>;
  memory?: MemoryResult;
  rate?: RateResult;
  /** destinations ingest over HTTP against publishing straight to NATS (issue 25). */
  ingest?: IngestBenchResult;
  /** ordering "user" beside an unordered sync while 2 % of the users fail (issue 28, outcome 3). */
  orderingFailures?: OrderingFailuresResult;
  /** The same limit, one sync run by two daemon processes (scale-out; not one of issue 5's targets). */
  rateShared?: RateResult;
  /** The BullMQ peer (issue 14): its throughput rows are in `throughput` ('bullmq single', 'bullmq batched', and 'bullmq batched-by-producer', which no target reads). */
  peer?: PeerInfo;
  targets: Target[];
  profile?: Record<string, { summary: ProfileSummary; modules: Record<string, number>; eventsPerSecond: number }>;
  experiments?: Experiment[];
  /** The daemon's hot path stage by stage, in this process (bench/stages-micro.ts). */
  stages?: StageCost[];
  /** SIGTERM → exit of every daemon of the throughput scenarios (drain bound 2 s). */
  daemonStops?: typeof stops;
  errors: string[];
}

/** Events/s the measured CPU per event would allow on two otherwise idle cores: the process's main
 *  thread gets at most one core, and it, its broker (nats-server or redis-server) and the sink share two. */
export function cpuBound(result: Throughput): number {
  const { subject, broker, sink } = result.cpuPer1k;
  return Math.min(1_000 / subject, 2_000 / (subject + broker + sink));
}

export function printReport(results: Results, options: BenchOptions): void {
  const m = results.machine;
  log(`\n=== destinations bench — ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.natsServer}${options.quick ? ', --quick' : ''} ===`);
  if (results.publish) log(`pre-published ${fmt(results.publish.events)} events at ${fmt(results.publish.eventsPerSecond)} events/s`);
  const baselineSingle = results.throughput['baseline single'];
  const baselineBatched = results.throughput['baseline batched'];
  const header = `${'scenario'.padEnd(34)} ${'events/s'.padStart(9)} ${'req/s'.padStart(8)} ${'vs base'.padStart(8)}  ${'CPU s/1k ev: proc'.padStart(17)} ${'broker'.padStart(6)} ${'sink'.padStart(6)}  ${'cores'.padStart(5)} ${'RSS MB'.padStart(7)} ${'others'.padStart(7)} ${'CPU-bound'.padStart(9)}`;
  log(`\n${header}\n${'-'.repeat(header.length)}`);
  const row = (result: Throughput, reference?: Throughput) => {
    const vs = reference ? pct(result.eventsPerSecond / reference.eventsPerSecond) : '';
    log(
      `${(result.label + (result.partial ? ' *' : '') + (result.warmupIncomplete ? ' !' : '')).padEnd(34)} ${fmt(result.eventsPerSecond).padStart(9)} ${fmt(result.requestsPerSecond).padStart(8)} ${vs.padStart(8)}  ${fmt(result.cpuPer1k.subject, 3).padStart(17)} ${fmt(result.cpuPer1k.broker, 3).padStart(6)} ${fmt(result.cpuPer1k.sink, 3).padStart(6)}  ${fmt(result.subjectCores, 2).padStart(5)} ${fmt(result.peakRssMB, 0).padStart(7)} ${fmt(result.cpu.others, 1).padStart(6)}s ${fmt(cpuBound(result)).padStart(9)}`,
    );
  };
  const t = results.throughput;
  if (t['baseline single']) row(t['baseline single'], baselineSingle);
  if (t['daemon single']) row(t['daemon single'], baselineSingle);
  if (t['daemon ordering']) row(t['daemon ordering'], baselineSingle);
  if (t['baseline batched']) row(t['baseline batched'], baselineBatched);
  if (t['daemon batched']) row(t['daemon batched'], baselineBatched);
  if (t['bullmq single']) row(t['bullmq single'], baselineSingle);
  if (t['bullmq batched']) row(t['bullmq batched'], baselineBatched);
  if (t['bullmq batched-by-producer']) row(t['bullmq batched-by-producer'], baselineBatched);
  // Scale-out rows: vs one daemon of the same run (CPU is the daemons' together).
  if (t['scaleout 1']) row({ ...t['scaleout 1'], label: `scale-out: ${t['scaleout 1'].label}` }, t['scaleout 1']);
  if (t['scaleout 2']) row({ ...t['scaleout 2'], label: `scale-out: ${t['scaleout 2'].label}` }, t['scaleout 1']);
  const fanoutOne = results.fanout['1'];
  for (const result of Object.values(results.fanout)) row({ ...result, label: `fan-out: ${result.label}` }, fanoutOne);
  log('  vs base: daemon and BullMQ rows vs the baseline loop of the same shape; fan-out rows vs 1 sync. cores: the process\'s CPU as a share of one core.');
  log('  broker: nats-server\'s CPU, or redis-server\'s for the BullMQ rows (a BullMQ 5 worker; a job an event: 64 at once, or fetched by hand 100 a request,');
  log('          at most 1,000 held; "producer": 100 events a job, put together before the queue, no target reads that row).');
  log('  others: CPU seconds other processes on the machine used during the window (noise). * = time limit reached first. ! = never warmed up (see the log).');
  log('  CPU-bound: events/s the measured CPU costs would allow on 2 idle cores (process ≤ 1 core; process + broker + sink ≤ 2) — an estimate, for noisy machines.');
  const peer = results.peer;
  if (peer?.skipped) log(`  BullMQ rows skipped: ${peer.skipped}.`);
  else if (peer?.redis) log(`  BullMQ ${peer.bullmq ?? ''} on Redis ${peer.redis.version} at ${peer.redis.url} (${peer.redis.persistence}; pid ${peer.redis.pid ?? `unknown: ${peer.redis.cpuNote}`}; keys under ${peer.redis.keyPrefix}:, ${peer.redis.keysLeft ?? '?'} left after cleanup).`);
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
  const peerRate = results.peer?.rate;
  if (peerRate) {
    log(
      `rate     BullMQ's limiter at the same limit ({ max: ${Math.floor(peerRate.limitPerSecond)}, duration: 1000 }): max ${fmt(peerRate.maxPerSecond)} per whole second, ${fmt(peerRate.maxSlidingSecond)} in any sliding second, mean ${fmt(peerRate.mean, 1)}/s (${fmt(peerRate.meanErrorPercent, 2)} %)`,
    );
    log(`         per second: ${peerRate.perSecond.join(' ')}`);
  }
  const shared = results.rateShared;
  if (shared) {
    log(
      `rate     the same limit, one sync on ${shared.daemons} daemons: max ${fmt(shared.maxPerSecond)} per whole second, ${fmt(shared.maxSlidingSecond)} in any sliding second, mean ${fmt(shared.mean, 1)}/s (${fmt(shared.meanErrorPercent, 2)} %)`,
    );
    log(`         per second: ${shared.perSecond.join(' ')}`);
  }
  const ordering = results.orderingFailures;
  if (ordering) printOrderingFailures(ordering);
  const ingest = results.ingest;
  if (ingest) {
    log(`\ningest (${fmt(ingest.events)} events, HTTP batches of ${ingest.batch}, ${ingest.requestsInFlight} requests in flight; load ${fmt(ingest.load, 1)}):`);
    log(`  destinations ingest   ${fmt(ingest.ingest.eventsPerSecond).padStart(8)} events/s  ${fmt(ingest.ingest.cpuUsPerEvent, 1).padStart(6)} CPU µs/event`);
    log(`  direct to NATS        ${fmt(ingest.direct.eventsPerSecond).padStart(8)} events/s  ${fmt(ingest.direct.cpuUsPerEvent, 1).padStart(6)} CPU µs/event   (ingest ${fmt(ingest.cpuRatio, 2)}×)`);
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
  log('\ntargets (issues 5, 14 and 23):');
  for (const target of results.targets) log(`  ${target.pass === undefined ? 'SKIP' : target.pass ? 'PASS' : 'MISS'}  ${target.target.padEnd(62)} ${target.measured}`);
  const slowStops = (results.daemonStops ?? []).filter((stop) => stop.seconds > 5);
  if (slowStops.length > 0) {
    log(`\ndaemon stops over 5 s (drainTimeoutMs is 2 s): ${slowStops.map((stop) => `${stop.label} ${fmt(stop.seconds, 1)} s${stop.killed ? ' (SIGKILL)' : ''}`).join(', ')}`);
  }
  if (results.errors.length > 0) log(`\n${results.errors.length} scenario(s) failed:\n  ${results.errors.map((error) => error.split('\n')[0]).join('\n  ')}`);
}

function printOrderingFailures(result: OrderingFailuresResult): void {
  log(
    `\nordering-failures: ${fmt(result.ratePerSecond)} events/s for ${fmt(result.seconds)} s over ${fmt(result.users)} users; ${result.failingUsers.length} of them (${result.failingUsers.join(', ')}) answered 500 on each event's first attempt, default retry schedule`,
  );
  log(`  daemon ${fmt(result.cpuPer1k.daemon, 3)} + nats-server ${fmt(result.cpuPer1k.nats, 3)} CPU s per 1k deliveries, peak RSS ${fmt(result.peakRssMB, 0)} MB, others ${fmt(result.othersCpuSeconds, 1)} CPU s`);
  for (const [name, figures] of [['ordered', result.ordered], ['unordered', result.unordered]] as const) {
    const maxPending = mostPending(result, figures);
    log(
      `  ${name.padEnd(9)} users without failures: ${fmt(figures.delivered)}/${fmt(figures.expected)} delivered, p50 ${fmt(figures.p50, 1)} ms, p90 ${fmt(figures.p90, 1)} ms, p99 ${fmt(figures.p99, 1)} ms, max ${fmt(figures.max, 0)} ms; drained ${figures.drainSeconds === undefined ? 'not within the bound' : `${fmt(figures.drainSeconds, 1)} s`} after publishing; failing users: ${fmt(figures.failedFirst)} first attempts failed, ${fmt(figures.retriedOk)} retries delivered; most pending while publishing ${fmt(maxPending)}`,
    );
    log(`    every 5 s (pending/ack pending${name === 'ordered' ? '/held' : ''}): ${figures.backlog.map((sample) => `${fmt(sample.pending)}/${fmt(sample.ackPending)}${name === 'ordered' ? `/${fmt(sample.held)}` : ''}`).join(' ')}`);
  }
}
