// The bench's optional parts: CPU profiles (--profile) and experiments (--experiments).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxWindowSeconds, type BenchOptions } from './options.js';
import { makeScratchDist, PatchNotApplicableError, SCRATCH_VARIANTS } from './patched-dist.js';
import { coarseGroups, formatProfile, latestProfile, summariseProfile } from './profile.js';
import { fmt, log, progress, type Experiment, type Results } from './report.js';
import { BATCHED_LOOP, countPlan, runBaseline, runDaemon, runFanout, type BenchContext, type Throughput } from './scenarios.js';
import { formatStages, measureStages } from './stages-micro.js';

export type Attempt = <T>(name: string, run: () => Promise<T>) => Promise<T | undefined>;

/** The daemon and the baseline under node --cpu-prof, summarised by module. */
export async function profile(ctx: BenchContext, results: Results, attempt: Attempt, options: BenchOptions): Promise<void> {
  results.profile = {};
  const plan = countPlan(options.events, maxWindowSeconds(options));
  for (const which of ['daemon', 'daemon batched', 'baseline', 'baseline batched'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `destinations-bench-prof-${which.replace(' ', '-')}-`));
    progress(`profiling ${which} (node --cpu-prof)…`);
    const result = await attempt(`profile ${which}`, () =>
      which === 'daemon'
        ? runDaemon(ctx, 'daemon, 1 event/request, profiled', plan, { slug: 'bench-profile', syncs: 1 }, { cpuProfileDir: dir })
        : which === 'daemon batched'
          ? runDaemon(ctx, 'daemon, 100 events/request, profiled', plan, { slug: 'bench-profile-batched', syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } }, { cpuProfileDir: dir })
          : which === 'baseline'
            ? runBaseline(ctx, 'baseline, profiled', plan, {}, dir)
            : runBaseline(ctx, 'baseline, 100 events/request, profiled', plan, BATCHED_LOOP, dir),
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

/** The optimisations measured side by side: baseline variants, patched copies of the daemon, config changes. */
export async function experiments(ctx: BenchContext, results: Results, attempt: Attempt, options: BenchOptions): Promise<void> {
  const plan = countPlan(Math.min(options.experimentEvents, options.events), maxWindowSeconds(options));
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
  const batchedPlan = countPlan(options.events, maxWindowSeconds(options));
  const batched = 'baseline, 100 events/request';
  const batchedBase = BATCHED_LOOP;
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
