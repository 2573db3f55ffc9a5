// The benchmark's scenarios. Each starts the thing it measures (a baseline loop process or the
// daemon process), lets it warm up, and reads a window bounded by an event count AND a time limit:
// events/s from the sink's own count, CPU from /proc for the process under test, nats-server, the
// sink, this process, and what the rest of the machine used meanwhile.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { NatsServerHandle } from '../test/helpers/nats-server.js';
import { BASELINE_DEFAULTS, BaselineChild, type BaselineConfig } from './baseline.js';
import { DaemonChild, SINK_TOKEN, type DaemonRunOptions, type DestinationSpec } from './daemon-child.js';
import { deleteStream, freshStream, publishAtRate, publishBacklog, type StreamSpec } from './events.js';
import { cpuBetween, loadAverage, readCpu, rssBytes } from './proc.js';
import { monotonicMs, type BenchSink, type SinkStats } from './sink.js';

export interface BenchContext {
  nats: NatsServerHandle;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  sink: BenchSink;
  /** The stream every throughput scenario reads (pre-published). */
  main: StreamSpec;
  mainEvents: number;
  /** The compiled daemon every scenario runs (a snapshot of dist/ taken when the run started). */
  distDir?: string;
  /** How long a daemon gets to exit after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  log(message: string): void;
}

export interface CpuFigures {
  /** CPU seconds in the window. */
  subject: number;
  nats: number;
  /** The subject's broker: nats-server for ours, redis-server for the BullMQ peer. */
  broker: number;
  sink: number;
  bench: number;
  /** Everything else on the machine (other people's processes): noise. */
  others: number;
}

export interface Throughput {
  label: string;
  /** Events the sink counted in the measured window (after warm-up). */
  events: number;
  requests: number;
  seconds: number;
  eventsPerSecond: number;
  requestsPerSecond: number;
  cpu: CpuFigures;
  /** CPU seconds per 1,000 events. `broker` is nats-server for ours, redis-server for the BullMQ peer. */
  cpuPer1k: { subject: number; nats: number; broker: number; sink: number };
  /** The process whose CPU `broker` is. */
  broker: 'nats-server' | 'redis-server';
  /** Subject's CPU in the window as a share of one core. */
  subjectCores: number;
  peakRssMB: number;
  /** Daemon only: peak V8 heap used, from the probe. */
  peakHeapMB?: number;
  /** The time limit came before the event count: the figures are for what arrived. */
  partial: boolean;
  /** Fewer than the warm-up events arrived within the time limit; the window started anyway. */
  warmupIncomplete: boolean;
  loadAverage: number;
  counters?: Record<string, number>;
  /** Fan-out: decodes the syncs shared (hits) and made (misses), over the whole run. */
  sharedDecodes?: { hits: number; misses: number };
  /** With --repeat: events/s of every run; the figures above are the median run's. */
  repeats?: number[];
}

export interface LatencyResult {
  label: string;
  ratePerSecond: number;
  published: number;
  delivered: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  cpuPer1k: { subject: number; nats: number };
}

export interface MemoryResult {
  backlog: number;
  publishPerSecond: number;
  seconds: number;
  peakRssMB: number;
  finalRssMB: number;
  /** From the probe loaded into the daemon (process.memoryUsage over IPC). */
  peakHeapUsedMB: number;
  heapTotalMB: number;
  requestsPerSecond: number;
  statuses: Record<string, number>;
  backlogLeft: number | undefined;
  ackPending: number | undefined;
  rssSamplesMB: number[];
}

export interface RateResult {
  limitPerMinute: number;
  limitPerSecond: number;
  windowSeconds: number;
  perSecond: number[];
  maxPerSecond: number;
  maxSlidingSecond: number;
  mean: number;
  inWindow: number;
  /** mean / limitPerSecond − 1, in percent. */
  meanErrorPercent: number;
  /** Processes sharing the limit: daemons on the sync, or BullMQ workers on the queue. */
  daemons: number;
}

/** What a window measures: one process, or several doing the same job (`morePids`: scale-out), their CPU summed. */
type Subject = { pid: number | undefined; morePids?: Array<number | undefined>; stop(): Promise<unknown>; rss?: () => number; peakRss?: number };
/** The subject's broker when it is not the bench's nats-server (the BullMQ peer's redis-server). */
export type Broker = { name: 'redis-server'; pid: number | undefined };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const MB = 1_048_576;

function pids(ctx: BenchContext, subject: Subject, broker?: Broker) {
  const more = Object.fromEntries((subject.morePids ?? []).map((pid, index) => [`subject${index + 2}`, pid]));
  return { subject: subject.pid, ...more, nats: ctx.nats.process.pid, ...(broker ? { broker: broker.pid } : {}), sink: ctx.sink.pid, bench: process.pid };
}

/** The subject's CPU seconds: every process of it. */
function subjectCpu(byName: Record<string, number>): number {
  return Object.entries(byName).reduce((sum, [name, seconds]) => (/^subject\d*$/.test(name) && Number.isFinite(seconds) ? sum + seconds : sum), 0);
}

/**
 * Measures a subject already configured to send to the sink, whose milestones [warm, end] were set.
 * The window opens when the sink has counted `warm` events and closes at `end` events or after
 * `maxSeconds`, whichever comes first.
 */
export async function measureWindow(ctx: BenchContext, label: string, subject: Subject, warm: number, end: number, maxSeconds: number, broker?: Broker): Promise<Throughput> {
  // A subject that cannot even warm up in this time is measured as it is (its figures say so) instead of failing.
  let warmed = await ctx.sink.waitForMilestone(warm, performance.now() + Math.min(60_000, Math.max(5_000, 3 * maxSeconds * 1_000)));
  let warmupIncomplete = false;
  if (!warmed) {
    const stats = await ctx.sink.stats();
    warmed = { events: stats.events, requests: stats.requests, atMs: monotonicMs(), heardAt: performance.now() };
    warmupIncomplete = true;
    ctx.log(`  only ${stats.events} of ${warm} warm-up events arrived in time; measuring from here`);
  }
  const before = readCpu(pids(ctx, subject, broker));
  let peakRss = 0;
  const sampler = setInterval(() => {
    for (const pid of [subject.pid, ...(subject.morePids ?? [])]) {
      const rss = rssBytes(pid);
      if (Number.isFinite(rss)) peakRss = Math.max(peakRss, rss);
    }
  }, 250);
  const finished = await ctx.sink.waitForMilestone(end, performance.now() + maxSeconds * 1_000);
  let events: number;
  let requests: number;
  let atMs: number;
  if (finished) {
    ({ events, requests, atMs } = finished);
  } else {
    atMs = monotonicMs();
    ({ events, requests } = await ctx.sink.stats());
  }
  const after = readCpu(pids(ctx, subject, broker));
  clearInterval(sampler);
  const cpu = cpuBetween(before, after);
  cpu.byName.subject = subjectCpu(cpu.byName);
  const brokerCpu = broker ? cpu.byName.broker : cpu.byName.nats;
  const seconds = (atMs - warmed.atMs) / 1_000;
  const measured = events - warmed.events;
  const per1k = (value: number) => (measured > 0 ? (1_000 * value) / measured : NaN);
  return {
    label,
    events: measured,
    requests: requests - warmed.requests,
    seconds,
    eventsPerSecond: seconds > 0 ? measured / seconds : 0,
    requestsPerSecond: (requests - warmed.requests) / seconds,
    cpu: { subject: cpu.byName.subject, nats: cpu.byName.nats, broker: brokerCpu, sink: cpu.byName.sink, bench: cpu.byName.bench, others: cpu.others },
    cpuPer1k: { subject: per1k(cpu.byName.subject), nats: per1k(cpu.byName.nats), broker: per1k(brokerCpu), sink: per1k(cpu.byName.sink) },
    broker: broker?.name ?? 'nats-server',
    subjectCores: cpu.byName.subject / cpu.seconds,
    peakRssMB: Math.max(peakRss, subject.peakRss ?? 0) / MB,
    partial: !finished,
    warmupIncomplete,
    loadAverage: loadAverage(),
  };
}

let consumerCounter = 0;

/** How long each daemon took to stop after SIGTERM (drainTimeoutMs is 2 s in every scenario). */
export const stops: Array<{ label: string; seconds: number; killed: boolean }> = [];

export function baselineConfig(ctx: BenchContext, stream: string, overrides: Partial<BaselineConfig> = {}): BaselineConfig {
  consumerCounter += 1;
  return {
    ...BASELINE_DEFAULTS,
    natsUrl: ctx.nats.url,
    stream,
    consumer: `bench_baseline_${process.pid}_${consumerCounter}`,
    sinkUrl: ctx.sink.url,
    token: SINK_TOKEN,
    ...overrides,
  };
}

export interface ThroughputPlan {
  /** Events (deliveries) the whole run would produce: N × syncs. */
  total: number;
  warm: number;
  /** Close the window at this many events… */
  end: number;
  /** …or after this long. */
  maxSeconds: number;
}

export function countPlan(events: number, maxSeconds: number): ThroughputPlan {
  return { total: events, warm: Math.max(1, Math.floor(events * 0.1)), end: events, maxSeconds };
}

/** A baseline loop over the main stream. */
/** The loop of 100 events a request: 16 requests in flight (1,600 events, within max_ack_pending). */
export const BATCHED_LOOP = { mode: 'batched', inFlight: 16 } as const satisfies Partial<BaselineConfig>;

export async function runBaseline(ctx: BenchContext, label: string, plan: ThroughputPlan, overrides: Partial<BaselineConfig> = {}, cpuProfileDir?: string): Promise<Throughput> {
  await ctx.sink.configure({ status: 200, milestones: [plan.warm, plan.end] });
  const child = await BaselineChild.start(baselineConfig(ctx, ctx.main.name, { maxSeconds: plan.maxSeconds + 120, ...overrides }), cpuProfileDir);
  try {
    return await measureWindow(ctx, label, child, plan.warm, plan.end, plan.maxSeconds);
  } finally {
    await child.stop();
  }
}

/** The daemon over the main stream, through a real destination folder; `daemons` processes share
 *  the sync's durable consumer (scale-out), their CPU summed and RSS the largest of one. */
export async function runDaemon(
  ctx: BenchContext,
  label: string,
  plan: ThroughputPlan,
  destination: DestinationSpec,
  extra: Pick<DaemonRunOptions, 'settings' | 'distDir' | 'cpuProfileDir'> & { daemons?: number } = {},
): Promise<Throughput> {
  await ctx.sink.configure({ status: 200, milestones: [plan.warm, plan.end] });
  const { daemons: count = 1, ...options } = extra;
  const children = await Promise.all(Array.from({ length: count }, () => DaemonChild.start({ natsUrl: ctx.nats.url, sinkUrl: ctx.sink.url, stream: ctx.main, destination, distDir: ctx.distDir, ...options })));
  const [daemon, ...others] = children;
  const subject: Subject = {
    pid: daemon.pid,
    morePids: others.map((other) => other.pid),
    stop: () => Promise.all(children.map((child) => child.stop())),
    get peakRss() {
      return Math.max(...children.map((child) => child.peakRss));
    },
  };
  try {
    const result = await measureWindow(ctx, label, subject, plan.warm, plan.end, plan.maxSeconds);
    result.counters = await daemon.counters().catch(() => undefined);
    result.sharedDecodes = await daemon.sharedDecodes().catch(() => undefined);
    result.peakHeapMB = daemon.peakHeapUsed / MB;
    return result;
  } catch (error) {
    // Say what the daemon was doing: its own counters explain most stalls.
    const counters = await daemon.counters().catch(() => undefined);
    throw new Error(`${(error as Error).message}; daemon counters ${JSON.stringify(counters)}; last output ${daemon.output.join('').slice(-400)}`);
  } finally {
    const codes = await Promise.all(children.map((child) => child.stop(ctx.stopGraceMs)));
    children.forEach((child, index) => {
      // The daemon's drain bound is 2 s here (drainTimeoutMs); a longer stop is a finding of its own.
      if (child.stopSeconds !== undefined && child.stopSeconds > 5) ctx.log(`  (graceful stop took ${child.stopSeconds.toFixed(1)} s${child.killed ? ', then SIGKILL' : ''})`);
      stops.push({ label, seconds: child.stopSeconds ?? NaN, killed: child.killed });
      if (codes[index] !== 0 && !child.killed) ctx.log(`  (daemon exited with ${codes[index]}: ${child.output.join('').slice(-500)})`);
    });
  }
}

/** Fan-out: one destination with `syncs` syncs on the same stream; aggregate deliveries/s. */
export async function runFanout(ctx: BenchContext, syncs: number, seconds: number, settings?: Record<string, unknown>, slug = `bench-fanout-${syncs}`): Promise<Throughput> {
  const total = ctx.mainEvents * syncs;
  const plan: ThroughputPlan = { total, warm: Math.min(Math.floor(total * 0.2), Math.max(5_000, syncs * 200)), end: Math.floor(total * 0.9), maxSeconds: seconds };
  return runDaemon(ctx, `daemon, ${syncs} sync${syncs === 1 ? '' : 's'}`, plan, { slug, syncs }, { settings });
}

/** Latency at a fixed publish rate, publish → sink, on a stream of its own that starts empty. */
export async function runLatency(ctx: BenchContext, which: 'baseline' | 'daemon', ratePerSecond: number, seconds: number): Promise<LatencyResult> {
  const stream: StreamSpec = { name: `BENCH_LAT_${which.toUpperCase()}`, subjects: [`benchlat${which}.>`] };
  await freshStream(ctx.jsm, stream);
  await ctx.sink.configure({ status: 200 });
  let subject: Subject;
  if (which === 'baseline') {
    const child = await BaselineChild.start(baselineConfig(ctx, stream.name, { maxSeconds: seconds + 120 }));
    subject = child;
  } else {
    const daemon = await DaemonChild.start({ natsUrl: ctx.nats.url, sinkUrl: ctx.sink.url, stream, destination: { slug: 'bench-latency', syncs: 1 }, distDir: ctx.distDir });
    subject = { pid: daemon.pid, stop: () => daemon.stop() };
  }
  try {
    const warmupMs = 1_000;
    await ctx.sink.configure({ status: 200, latency: true, latencyFromMs: monotonicMs() + warmupMs });
    const before = readCpu(pids(ctx, subject));
    const published = await publishAtRate(ctx.nc, `benchlat${which}.e`, ratePerSecond, seconds + warmupMs / 1_000);
    // Whatever has not arrived within this bound counts as not delivered (the figures say how many).
    const deadline = performance.now() + Math.max(5_000, seconds * 1_000);
    let stats: SinkStats = await ctx.sink.stats();
    while (stats.events < published && performance.now() < deadline) {
      await sleep(100);
      stats = await ctx.sink.stats();
    }
    const after = readCpu(pids(ctx, subject));
    const cpu = cpuBetween(before, after);
    const latency = stats.latency!;
    return {
      label: which,
      ratePerSecond,
      published,
      delivered: stats.events,
      p50: latency.p50,
      p90: latency.p90,
      p99: latency.p99,
      max: latency.max,
      mean: latency.mean,
      cpuPer1k: { subject: (1_000 * cpu.byName.subject) / stats.events, nats: (1_000 * cpu.byName.nats) / stats.events },
    };
  } finally {
    await subject.stop();
    await deleteStream(ctx.jsm, stream.name);
  }
}

/** Memory: the daemon with `backlog` events waiting and the destination answering 500. */
export async function runMemory(ctx: BenchContext, backlog: number, seconds: number): Promise<MemoryResult> {
  const stream: StreamSpec = { name: 'BENCH_MEMORY', subjects: ['benchmem.>'] };
  await freshStream(ctx.jsm, stream);
  let lastLog = 0;
  const publishPerSecond = await publishBacklog(ctx.nc, ctx.js, ctx.jsm, stream.name, 'benchmem.e', backlog, (done) => {
    if (performance.now() - lastLog > 5_000) {
      lastLog = performance.now();
      ctx.log(`  published ${done.toLocaleString('en')} of ${backlog.toLocaleString('en')}`);
    }
  });
  await ctx.sink.configure({ status: 500, milestones: [1] });
  const daemon = await DaemonChild.start({ natsUrl: ctx.nats.url, sinkUrl: ctx.sink.url, stream, destination: { slug: 'bench-memory', syncs: 1 }, distDir: ctx.distDir });
  try {
    const first = await ctx.sink.waitForMilestone(1, performance.now() + 30_000);
    if (!first) throw new Error('memory: no request reached the sink');
    const samples: number[] = [];
    const started = monotonicMs();
    const startStats = await ctx.sink.stats();
    while (monotonicMs() - started < seconds * 1_000) {
      await sleep(250);
      const rss = daemon.rss();
      if (Number.isFinite(rss)) samples.push(rss / MB);
    }
    const stats = await ctx.sink.stats();
    const elapsed = (monotonicMs() - started) / 1_000;
    const consumerName = 'bench-memory__main';
    const info = await ctx.jsm.consumers.info(stream.name, consumerName).catch(() => undefined);
    return {
      backlog,
      publishPerSecond,
      seconds: elapsed,
      peakRssMB: daemon.peakRss / MB,
      finalRssMB: samples[samples.length - 1] ?? NaN,
      peakHeapUsedMB: daemon.peakHeapUsed / MB,
      heapTotalMB: (daemon.memory?.heapTotal ?? NaN) / MB,
      requestsPerSecond: (stats.requests - startStats.requests) / elapsed,
      statuses: stats.byStatus,
      backlogLeft: info?.num_pending,
      ackPending: info?.num_ack_pending,
      rssSamplesMB: samples.filter((_, index) => index % 4 === 0).map((value) => Math.round(value * 10) / 10),
    };
  } finally {
    await daemon.stop();
    await deleteStream(ctx.jsm, stream.name);
  }
}

/** Rate-limit accuracy: a destination limited to `limit`, counted per second at the sink. */
/** `daemons` processes run the same sync (one durable consumer): together they must keep the limit. */
export async function runRate(ctx: BenchContext, limit: { requests: number; periodSeconds: number }, seconds: number, daemons = 1): Promise<RateResult> {
  await ctx.sink.configure({ status: 200, rate: true, milestones: [1] });
  const destination = { slug: daemons === 1 ? 'bench-rate' : `bench-rate-${daemons}-daemons`, syncs: 1, rate: limit };
  const children: DaemonChild[] = [];
  try {
    for (let i = 0; i < daemons; i++) children.push(await DaemonChild.start({ natsUrl: ctx.nats.url, sinkUrl: ctx.sink.url, stream: ctx.main, destination, distDir: ctx.distDir }));
    return await rateAtSink(ctx, limit, seconds, daemons);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/**
 * The sink's count per second of a subject already sending under `limit` (the sink configured with
 * `rate: true, milestones: [1]`), for `seconds` from its very first request: the start, with its
 * credit, counts too. `processes` is how many processes share the limit.
 */
export async function rateAtSink(ctx: BenchContext, limit: { requests: number; periodSeconds: number }, seconds: number, processes: number): Promise<RateResult> {
  const first = await ctx.sink.waitForMilestone(1, performance.now() + 30_000);
  if (!first) throw new Error('rate: no request reached the sink');
  // From the very first request: the start, with its credit, counts too.
  const fromMs = first.atMs - 0.001;
  const toMs = fromMs + seconds * 1_000;
  while (monotonicMs() < toMs + 200) await sleep(Math.min(1_000, Math.max(10, toMs + 200 - monotonicMs())));
  const stats = await ctx.sink.stats({ fromMs, toMs });
  const rate = stats.rate!;
  const limitPerSecond = limit.requests / limit.periodSeconds;
  return {
    limitPerMinute: (limit.requests * 60) / limit.periodSeconds,
    limitPerSecond,
    windowSeconds: rate.windowSeconds,
    perSecond: rate.perSecond,
    maxPerSecond: rate.maxPerSecond,
    maxSlidingSecond: rate.maxSlidingSecond,
    mean: rate.mean,
    inWindow: rate.inWindow,
    meanErrorPercent: (100 * (rate.mean - limitPerSecond)) / limitPerSecond,
    daemons: processes,
  };
}

/** Publishes the main stream's backlog. */
export async function prepareMain(ctx: BenchContext): Promise<number> {
  await freshStream(ctx.jsm, ctx.main);
  return publishBacklog(ctx.nc, ctx.js, ctx.jsm, ctx.main.name, `${ctx.main.subjects[0].replace(/>$/, '')}e`, ctx.mainEvents);
}
