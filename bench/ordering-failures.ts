// The ordering-failures row (issue 28, outcome 3): does per-user order keep up while some users wait
// out retries? One daemon, two syncs of one destination on the same events, `ordering: "user"` and
// none; events published at a fixed rate over `users` users; the sink answers 500 to the first
// request of every event of 2 % of the users (a retry gets 200), so with the default schedule those
// users wait 60 s (± 20 %) per event while the others never fail. Figures per sync: latency of the
// users without failures, how long they took to drain after publishing stopped, and the consumer's
// backlog (num_pending) and ack pending over time.
import { DaemonChild } from './daemon-child.js';
import { deleteStream, freshStream, publishAtRate, type StreamSpec } from './events.js';
import { cpuBetween, readCpu } from './proc.js';
import type { BenchContext } from './scenarios.js';
import { monotonicMs, type SinkStats } from './sink.js';

/** Share of the users whose events fail their first attempt. */
export const FAILING_SHARE = 0.02;
const SLUG = 'bench-order-fail';
const SYNCS = { ordered: { ordering: 'user', path: 'ordered' }, unordered: { path: 'unordered' } } as const;
type SyncName = keyof typeof SYNCS;
const SAMPLE_MS = 5_000;
const WARMUP_SECONDS = 5;

export interface BacklogSample {
  /** Seconds since publishing started. */
  atSeconds: number;
  /** The consumer's num_pending: events in the stream not yet handed to the daemon. */
  pending: number | undefined;
  /** num_ack_pending: handed out, not yet acked (in the daemon, or waiting in the stream for a retry). */
  ackPending: number | undefined;
  /** ordering "user": events held in hand behind an earlier event of their user. */
  held?: number;
}

export interface SyncFigures {
  /** Events of the users without failures delivered (200), and how many were published. */
  delivered: number;
  expected: number;
  /** Their latency, publish → sink, after the warm-up (ms). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Seconds from the end of publishing until the last of them arrived; undefined when not all arrived within the bound. */
  drainSeconds: number | undefined;
  /** The failing users' requests: first attempts answered 500, retries answered 200. */
  failedFirst: number;
  retriedOk: number;
  backlog: BacklogSample[];
  counters?: Record<string, number>;
}

export interface OrderingFailuresResult {
  ratePerSecond: number;
  users: number;
  failingUsers: string[];
  seconds: number;
  published: number;
  ordered: SyncFigures;
  unordered: SyncFigures;
  /** CPU seconds per 1,000 deliveries (both syncs), publishing and drain included. */
  cpuPer1k: { daemon: number; nats: number };
  peakRssMB: number;
  othersCpuSeconds: number;
}

/** The users whose events fail their first attempt: FAILING_SHARE of them, spread over the range. */
export function failingUsers(users: number): string[] {
  const count = Math.max(1, Math.round(users * FAILING_SHARE));
  return Array.from({ length: count }, (_, index) => `user-${Math.floor((index * users) / count)}`);
}

export async function runOrderingFailures(ctx: BenchContext, ratePerSecond: number, users: number, seconds: number, drainBoundSeconds: number): Promise<OrderingFailuresResult> {
  const stream: StreamSpec = { name: 'BENCH_ORDER_FAIL', subjects: ['benchorderfail.>'] };
  await freshStream(ctx.jsm, stream);
  const failing = failingUsers(users);
  await ctx.sink.configure({ status: 200, failUsers: failing });
  const daemon = await DaemonChild.start({
    natsUrl: ctx.nats.url,
    sinkUrl: ctx.sink.url,
    stream,
    destination: { slug: SLUG, syncs: 2, named: SYNCS },
    distDir: ctx.distDir,
  });
  const backlog: Record<SyncName, BacklogSample[]> = { ordered: [], unordered: [] };
  const started = monotonicMs();
  let sampling = true;
  const sample = async () => {
    const atSeconds = (monotonicMs() - started) / 1_000;
    const counters = await daemon.countersBySync().catch(() => undefined);
    for (const name of Object.keys(SYNCS) as SyncName[]) {
      const info = await ctx.jsm.consumers.info(stream.name, `${SLUG}__${name}`).catch(() => undefined);
      const held = counters?.[`${SLUG}.${name}`]?.heldByUserBarrier;
      backlog[name].push({ atSeconds, pending: info?.num_pending, ackPending: info?.num_ack_pending, ...(name === 'ordered' ? { held } : {}) });
    }
  };
  const sampler = (async () => {
    while (sampling) {
      await sample();
      const next = started + backlog.ordered.length * SAMPLE_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - monotonicMs())));
    }
  })();
  try {
    const before = readCpu({ subject: daemon.pid, nats: ctx.nats.process.pid, sink: ctx.sink.pid, bench: process.pid });
    await ctx.sink.configure({ status: 200, failUsers: failing, latency: true, latencyFromMs: monotonicMs() + WARMUP_SECONDS * 1_000 });
    const published = await publishAtRate(ctx.nc, 'benchorderfail.e', ratePerSecond, seconds + WARMUP_SECONDS, users);
    const publishedAt = monotonicMs();
    const failingSet = new Set(failing);
    let expected = 0;
    for (let index = 0; index < published; index++) if (!failingSet.has(`user-${index % users}`)) expected++;
    // The users without failures drain (or the bound passes).
    const deadline = performance.now() + drainBoundSeconds * 1_000;
    let stats: SinkStats = await ctx.sink.stats();
    const done = (path: string) => (stats.paths?.[path]?.delivered ?? 0) >= expected;
    while (!(done('ordered') && done('unordered')) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      stats = await ctx.sink.stats();
    }
    const after = readCpu({ subject: daemon.pid, nats: ctx.nats.process.pid, sink: ctx.sink.pid, bench: process.pid });
    sampling = false;
    await sampler;
    await sample();
    const counters = await daemon.countersBySync().catch(() => undefined);
    const cpu = cpuBetween(before, after);
    const figures = (name: SyncName): SyncFigures => {
      const path = stats.paths?.[SYNCS[name].path];
      return {
        delivered: path?.delivered ?? 0,
        expected,
        p50: path?.latency.p50 ?? NaN,
        p90: path?.latency.p90 ?? NaN,
        p99: path?.latency.p99 ?? NaN,
        max: path?.latency.max ?? NaN,
        drainSeconds: path && path.delivered >= expected ? Math.max(0, (path.lastAtMs - publishedAt) / 1_000) : undefined,
        failedFirst: path?.failedFirst ?? 0,
        retriedOk: path?.retriedOk ?? 0,
        backlog: backlog[name],
        counters: counters?.[`${SLUG}.${name}`],
      };
    };
    const deliveries = stats.events;
    return {
      ratePerSecond,
      users,
      failingUsers: failing,
      seconds: seconds + WARMUP_SECONDS,
      published,
      ordered: figures('ordered'),
      unordered: figures('unordered'),
      cpuPer1k: { daemon: (1_000 * cpu.byName.subject) / deliveries, nats: (1_000 * cpu.byName.nats) / deliveries },
      peakRssMB: daemon.peakRss / 1_048_576,
      othersCpuSeconds: cpu.others,
    };
  } finally {
    sampling = false;
    await sampler.catch(() => undefined);
    await daemon.stop(ctx.stopGraceMs);
    await deleteStream(ctx.jsm, stream.name);
  }
}

/** The most a sync had pending (num_pending) while publishing, after the warm-up. */
export function mostPending(result: OrderingFailuresResult, figures: SyncFigures): number {
  let most = 0;
  for (const sample of figures.backlog) {
    if (sample.atSeconds < WARMUP_SECONDS || sample.atSeconds > result.seconds) continue;
    most = Math.max(most, sample.pending ?? Infinity);
  }
  return most;
}

/**
 * Whether the ordered sync's backlog stayed flat: at no sample while publishing more than one second
 * of events behind the unordered sync's (the same daemon on the same events: a busy machine lifts
 * both alike), and the users without failures drained within 10 s of the end of publishing.
 */
export function backlogFlat(result: OrderingFailuresResult): { flat: boolean; mostAhead: number; drainSeconds: number | undefined } {
  let mostAhead = 0;
  result.ordered.backlog.forEach((sample, index) => {
    const unordered = result.unordered.backlog[index];
    if (sample.atSeconds < WARMUP_SECONDS || sample.atSeconds > result.seconds) return;
    mostAhead = Math.max(mostAhead, (sample.pending ?? Infinity) - (unordered?.pending ?? 0));
  });
  const drainSeconds = result.ordered.drainSeconds;
  return { flat: mostAhead <= result.ratePerSecond && drainSeconds !== undefined && drainSeconds <= 10, mostAhead, drainSeconds };
}
