// The BullMQ peer's scenarios (issue 14), measured as the daemon's are: the same events, the same
// sink, the same window (bench/scenarios.ts measureWindow), with redis-server's CPU in the broker
// column where the daemon has nats-server's. The queue is filled before the worker starts, as the
// stream is published before the daemon starts, and removed afterwards.
import { PEER_DEFAULTS, PeerChild, dropQueue, fillQueue, type PeerConfig } from './peer.js';
import type { RedisBroker } from './redis-broker.js';
import { SINK_TOKEN } from './daemon-child.js';
import { measureWindow, rateAtSink, type BenchContext, type RateResult, type Throughput, type ThroughputPlan } from './scenarios.js';

let queueCounter = 0;

function peerConfig(ctx: BenchContext, broker: RedisBroker, queue: string, overrides: Partial<PeerConfig>): PeerConfig {
  return { ...PEER_DEFAULTS, connection: broker.connection, prefix: broker.prefix, queue, sinkUrl: ctx.sink.url, token: SINK_TOKEN, ...overrides };
}

/** Fills a queue, runs the worker in `config`'s shape and hands it to `measure`; drops the queue whatever happens. */
async function withWorker<T>(ctx: BenchContext, broker: RedisBroker, mode: PeerConfig['mode'], events: number, overrides: Partial<PeerConfig>, measure: (worker: PeerChild) => Promise<T>): Promise<T> {
  queueCounter += 1;
  const queue = `bench-${mode}-${queueCounter}`;
  try {
    const jobsPerSecond = await fillQueue(broker, queue, mode, events);
    ctx.log(`  ${events.toLocaleString('en')} events queued as BullMQ jobs (${Math.round(jobsPerSecond).toLocaleString('en')} jobs/s)`);
    const worker = await PeerChild.start(peerConfig(ctx, broker, queue, { mode, ...overrides }));
    try {
      return await measure(worker);
    } finally {
      const stopped = await worker.stop();
      if (stopped && (stopped.failed > 0 || stopped.errors > 0)) ctx.log(`  (the worker saw ${stopped.failed} failed job(s), ${stopped.errors} error(s))`);
    }
  } finally {
    await dropQueue(broker, queue).catch((error: Error) => ctx.log(`  (could not remove queue ${queue}: ${error.message})`));
  }
}

/** Throughput of a BullMQ worker over the same events as the main stream: a job an event, sent one or 100 a request, or 100 events a job (batched by the producer). */
export async function runPeer(ctx: BenchContext, broker: RedisBroker, label: string, plan: ThroughputPlan, mode: PeerConfig['mode']): Promise<Throughput> {
  await ctx.sink.configure({ status: 200, milestones: [plan.warm, plan.end] });
  return withWorker(ctx, broker, mode, ctx.mainEvents, { maxSeconds: plan.maxSeconds + 120 }, (worker) =>
    measureWindow(ctx, label, worker, plan.warm, plan.end, plan.maxSeconds, { name: 'redis-server', pid: broker.pid }),
  );
}

/** BullMQ's limiter at the same limit, counted per second at the sink as the daemon's is. */
export async function runPeerRate(ctx: BenchContext, broker: RedisBroker, limit: { requests: number; periodSeconds: number }, seconds: number): Promise<RateResult> {
  const perSecond = limit.requests / limit.periodSeconds;
  // BullMQ's limiter counts jobs per window: 50,000/min written as BullMQ's guide writes a rate, per second (833 per 1,000 ms).
  const limiter = { max: Math.floor(perSecond), duration: 1_000 };
  // Enough jobs that the queue never runs dry in the window, however loosely the limiter holds.
  const events = Math.ceil(perSecond * (seconds + 10) * 2);
  await ctx.sink.configure({ status: 200, rate: true, milestones: [1] });
  return withWorker(ctx, broker, 'single', events, { limiter, maxSeconds: seconds + 120 }, () => rateAtSink(ctx, limit, seconds, 1));
}
