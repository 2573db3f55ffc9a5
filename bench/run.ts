// npm run bench [-- --quick] [-- --events N] …: the daemon against a no-frills baseline in the same run.
// Starts its own nats-server and a sink process on loopback, pre-publishes the events, measures every
// scenario, prints a table with PASS/MISS per target and writes bench/results/latest.json.
// Everything is bounded: each window closes at an event count or a time limit, whichever comes first.
// See bench/README.md for what each figure means. The parts: options.ts (the command line),
// scenarios.ts (what is run), targets.ts (what is judged), report.ts (what is printed),
// experiments.ts (--profile and --experiments), patched-dist.ts (patched copies of dist/ for experiments).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { experiments, profile } from './experiments.js';
import { maxWindowSeconds, RATE_LIMIT, readOptions, type ScenarioName } from './options.js';
import { makeScratchDist, removeScratch } from './patched-dist.js';
import { fmt, log, machine, printReport, progress, type Results } from './report.js';
import { runPeer, runPeerRate } from './peer-scenarios.js';
import { bullmqVersion } from './peer.js';
import { RedisBroker } from './redis-broker.js';
import { BATCHED_LOOP, countPlan, prepareMain, runBaseline, runDaemon, runFanout, runLatency, runMemory, runRate, stops, type BenchContext, type Throughput } from './scenarios.js';
import { BenchSink } from './sink.js';
import { runIngestBench } from './ingest.js';
import { runOrderingFailures } from './ordering-failures.js';
import { targets } from './targets.js';

const options = readOptions();

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
  // Every daemon of the run comes from this copy of dist/ (see bench/patched-dist.ts).
  const snapshot = makeScratchDist({ name: 'snapshot', what: 'dist/ as built when the run started', patches: [] });
  const ctx: BenchContext = { distDir: snapshot, stopGraceMs: options.quick ? 5_000 : 20_000, nats, nc, js, jsm, sink, main: { name: 'BENCH_EVENTS', subjects: ['benchevents.>'] }, mainEvents: options.events, log };
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
  // The BullMQ peer (issue 14) needs a Redis that answers; without one its rows are skipped with the reason.
  const connected = only.has('bullmq') ? await RedisBroker.connect(options.redis) : undefined;
  const redis = connected instanceof RedisBroker ? connected : undefined;
  if (typeof connected === 'string') {
    results.peer = { skipped: connected };
    log(`  BullMQ peer skipped: ${connected}`);
  }
  if (redis) {
    results.peer = {
      bullmq: bullmqVersion(),
      redis: { url: redis.url, version: redis.version, persistence: redis.persistence, pid: redis.pid, cpuNote: redis.cpuNote, keyPrefix: redis.prefix },
    };
  }
  try {
    // The BullMQ peer reads the same events from its own queue; the stream gives it the count it measures against.
    const needsMain = ['baseline', 'daemon', 'batched', 'fanout', 'rate', 'ordering', 'scaleout'].some((name) => only.has(name as ScenarioName)) || redis !== undefined || options.profile || options.experiments;
    if (needsMain) {
      progress(`publishing ${fmt(options.events)} events…`);
      const eventsPerSecond = await prepareMain(ctx);
      results.publish = { events: options.events, eventsPerSecond };
      log(`  ${fmt(eventsPerSecond)} events/s published`);
    }
    const plan = countPlan(options.events, maxWindowSeconds(options));
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
      // The cost of ordering "user": one request in flight per user (the bench's events spread over 97 users).
      if (only.has('ordering')) await throughput('daemon ordering', () => runDaemon(ctx, 'daemon, 1 event/request, ordering', plan, { slug: `bench-ordering${suffix}`, syncs: 1, ordering: 'user' }));
      if (redis) await throughput('bullmq single', () => runPeer(ctx, redis, 'BullMQ, 1 event/job', plan, 'single'));
      if (only.has('batched')) {
        await throughput('baseline batched', () => runBaseline(ctx, 'baseline loop, 100 events/request', plan, BATCHED_LOOP));
        await throughput('daemon batched', () => runDaemon(ctx, 'daemon, 100 events/request', plan, { slug: `bench-batched${suffix}`, syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } }));
      }
      // Scale-out (issue 21): two daemon processes on one sync's durable consumer, against one, in the same round.
      if (only.has('scaleout')) {
        await throughput('scaleout 1', () => runDaemon(ctx, '1 daemon, 1 event/request', plan, { slug: `bench-scaleout-1${suffix}`, syncs: 1 }));
        await throughput('scaleout 2', () => runDaemon(ctx, '2 daemons, 1 event/request', plan, { slug: `bench-scaleout-2${suffix}`, syncs: 1 }, { daemons: 2 }));
      }
      if (redis) {
        await throughput('bullmq batched', () => runPeer(ctx, redis, 'BullMQ, 1 event/job, 100 jobs/req', plan, 'batched'));
        // Not the daemon's job (Redis moves a job per 100 events): shown for comparison, no target reads it.
        await throughput('bullmq batched-by-producer', () => runPeer(ctx, redis, 'BullMQ, 100 events/job (producer)', plan, 'producer-batched'));
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
          const shared = result.sharedDecodes;
          const hitRate = shared && shared.hits + shared.misses > 0 ? `; shared decodes ${fmt(shared.hits)} hits, ${fmt(shared.misses)} misses (${((100 * shared.hits) / (shared.hits + shared.misses)).toFixed(1)} % hits)` : '';
          log(`  ${fmt(result.eventsPerSecond)} deliveries/s aggregate${hitRate}`);
        }
      }
    }
    if (only.has('latency')) {
      // Quick runs measure the daemon only; the baseline's latency shows what NATS and HTTP alone cost.
      for (const which of options.quick ? (['daemon'] as const) : (['baseline', 'daemon'] as const)) {
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
    if (redis && results.peer) {
      progress(`BullMQ's limiter at ${fmt(RATE_LIMIT.requests)}/min for ${options.rateSeconds} s…`);
      results.peer.rate = await attempt('bullmq rate', () => runPeerRate(ctx, redis, RATE_LIMIT, options.rateSeconds));
    }
    if (only.has('ordering-failures')) {
      const { orderingRate: rate, orderingUsers: users, orderingSeconds: seconds } = options;
      progress(`ordering "user" beside an unordered sync: ${fmt(rate)} events/s over ${fmt(users)} users for ${fmt(seconds)} s, 2 % of the users failing each event's first attempt…`);
      results.orderingFailures = await attempt('ordering-failures', () => runOrderingFailures(ctx, rate, users, seconds, options.quick ? 90 : 240));
    }
    if (only.has('ingest')) {
      const events = Math.min(options.events, options.quick ? 20_000 : 50_000);
      progress(`ingest: ${fmt(events)} events over HTTP in batches of 100, against publishing them straight to NATS…`);
      results.ingest = await attempt('ingest', () => runIngestBench(ctx, events));
      if (results.ingest) log(`  ingest ${fmt(results.ingest.ingest.eventsPerSecond)} events/s, ${fmt(results.ingest.ingest.cpuUsPerEvent, 1)} CPU µs/event; direct ${fmt(results.ingest.direct.eventsPerSecond)} events/s, ${fmt(results.ingest.direct.cpuUsPerEvent, 1)} CPU µs/event`);
    }
    if (only.has('memory')) {
      progress(`memory: ${fmt(options.memoryEvents)} events backlogged, destination answering 500…`);
      results.memory = await attempt('memory', () => runMemory(ctx, options.memoryEvents, options.memorySeconds));
    }
    if (options.profile) await profile(ctx, results, attempt, options);
    if (options.experiments) await experiments(ctx, results, attempt, options);
  } finally {
    await sink.stop().catch(() => undefined);
    await nc.drain().catch(() => undefined);
    await nats.stop();
    removeScratch();
    if (redis) {
      // Every key this run wrote, whatever a scenario left behind.
      await redis.cleanup().catch((error: Error) => log(`  could not remove the bench's Redis keys (${redis.prefix}:*): ${error.message}`));
      if (results.peer?.redis) results.peer.redis.keysLeft = await redis.countKeys().catch(() => undefined);
      await redis.close();
    }
  }
  results.durationSeconds = (performance.now() - started) / 1_000;
  results.daemonStops = stops;
  results.targets = targets(results, options);
  printReport(results, options);
  mkdirSync(join(options.out, '..'), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults written to ${options.out} (${fmt(results.durationSeconds, 0)} s)`);
  if (results.errors.length > 0) process.exitCode = 1;
}

await main();
