// The peer of issue 14, run as its own process so its CPU is read the same way as the daemon's: what
// a Node team would install for "consume events, POST them, retry with backoff, respect a rate
// limit" — a BullMQ 5 worker on Redis. It does the baseline loop's job on the same events, a job an
// event: the loop's hand-built body, an undici Pool POST to the sink, a failed job on a non-2xx
// answer so BullMQ retries it (attempts and backoff are set on the jobs, see bench/peer.ts).
//   single:            a Worker with a processor, concurrency 64 (the loop's in-flight gate); a
//                      limiter when the scenario sets one.
//   batched:           a Worker without a processor (BullMQ's "manually processing jobs"; batches of
//                      jobs are BullMQ Pro): up to 100 jobs gathered by getNextJob (bench/peer-batches.ts),
//                      one POST, then each job completed, or failed with BullMQ's attempts and backoff.
//   producer-batched:  a job carries 100 events, put together by the producer; not the daemon's job
//                      (Redis moves one job per 100 events), kept as an extra row that no target reads.
// It runs until the parent says stop, or maxSeconds passes, then closes the worker and exits.
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Worker, type JobJsonRaw } from 'bullmq';
import { Pool } from 'undici';
import { gatherBatch } from './peer-batches.js';
import { REDIS_PASSWORD_ENV } from './redis-broker.js';

export interface PeerConfig {
  connection: { host: string; port: number };
  prefix: string;
  queue: string;
  sinkUrl: string;
  token: string;
  mode: 'single' | 'batched' | 'producer-batched';
  /** Jobs processed at once (single and producer-batched). */
  concurrency: number;
  connections: number;
  /** The batched worker: events a request, the wait for a batch to fill, and the jobs it may hold at once. */
  batch: { size: number; maxWaitMs: number; maxHeldJobs: number };
  /** BullMQ's limiter: at most `max` jobs started per `duration` ms (single only: see below). */
  limiter?: { max: number; duration: number };
  maxSeconds: number;
}

export type PeerMessage = { type: 'ready' } | { type: 'failed'; error: string } | { type: 'stopped'; completed: number; failed: number; errors: number };

/** The event fields the loop's body reads (the whole ~600-byte event is the job's data). */
export interface PeerEvent {
  event_type: string;
  user_id?: string;
  insert_id?: string;
  event_properties?: { price?: unknown; item?: unknown; sent_at?: unknown };
}

const config = JSON.parse(process.argv[2]) as PeerConfig;
const send = (message: PeerMessage): void => void process.send?.(message);

const pool = new Pool(config.sinkUrl, { connections: config.connections });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${config.token}` };

async function post(path: string, body: string, idempotencyKey?: string): Promise<void> {
  const response = await pool.request({ method: 'POST', path, headers: idempotencyKey ? { ...headers, 'idempotency-key': idempotencyKey } : headers, body });
  await response.body.dump();
  // BullMQ's retry is the failed job: it goes back with its backoff, or to the failed set after its attempts.
  if (response.statusCode < 200 || response.statusCode > 299) throw new Error(`the sink answered ${response.statusCode}`);
}

async function processSingle(job: Job<PeerEvent>): Promise<void> {
  const event = job.data;
  const properties = event.event_properties ?? {};
  const body = JSON.stringify({
    event: event.event_type,
    user: event.user_id,
    insert_id: event.insert_id,
    properties: { price: properties.price, item: properties.item, sent_at: properties.sent_at },
  });
  await post('/track', body, event.insert_id);
}

/** The loop's batch body. */
function batchBody(events: PeerEvent[]): string {
  const bodies = events.map((event) => JSON.stringify({ event: event.event_type, insert_id: event.insert_id, sent_at: event.event_properties?.sent_at }));
  return `{"events":[${bodies.join(',')}]}`;
}

async function processProducerBatch(job: Job<{ events: PeerEvent[] }>): Promise<void> {
  await post('/batch', batchBody(job.data.events));
}

let completed = 0;
let failed = 0;
let errors = 0;
// BullMQ's limiter is enforced when a job is moved to active; a worker fetching by hand would have to
// wait out the limit itself (its rate-limit state is private), which this one does not do.
if (config.mode === 'batched' && config.limiter) {
  send({ type: 'failed', error: 'the batched BullMQ peer runs without a limiter' });
  process.exit(1);
}
/** BullMQ's default lock: a job not completed, failed or extended within it is taken back as stalled. */
const LOCK_MS = 30_000;
const processor = config.mode === 'single' ? processSingle : config.mode === 'producer-batched' ? processProducerBatch : null;
const worker = new Worker(config.queue, processor as ((job: Job) => Promise<void>) | null, {
  // The password never travels in the config (a command-line argument): it is inherited in the environment.
  connection: { ...config.connection, password: process.env[REDIS_PASSWORD_ENV] },
  prefix: config.prefix,
  concurrency: config.concurrency,
  // Batched: an idle blocking fetch gives up after 1 s (5 s by default), so a stop waits at most that long for it.
  ...(config.mode === 'batched' ? { drainDelay: 1, lockDuration: LOCK_MS } : {}),
  ...(config.limiter ? { limiter: config.limiter } : {}),
});
worker.on('completed', () => void completed++);
worker.on('failed', () => void failed++);
// An unobserved 'error' event would throw and end the process; connection trouble is counted instead.
worker.on('error', () => void errors++);
await worker.waitUntilReady();

// ---- batched: fetching by hand --------------------------------------------------------------
/** The lock owner of every job this worker fetches by hand (BullMQ's guide uses one token for its loop). */
const TOKEN = `${worker.id}:batched`;
let stopping = false;
/** Jobs a completion fetched (moveToCompleted's fetchNext), not yet in a batch. */
const prefetched: Job<PeerEvent>[] = [];
/** Jobs fetched and not yet completed or failed (prefetched, being gathered, or in a POST), by id. */
const locked = new Set<string>();
/** getNextJob calls under way: each may bring one more job. */
let fetching = 0;
const held = () => locked.size + fetching;

/** Every held job's lock extended, in one call, as BullMQ's lock manager does for a processor's jobs (a worker without a processor runs none). */
function renewLocks(): void {
  const ids = [...locked];
  if (ids.length > 0) void worker.extendJobLocks(ids, ids.map(() => TOKEN), LOCK_MS).catch(() => void errors++);
}

function hold(job: Job<PeerEvent>): Job<PeerEvent> {
  locked.add(job.id!);
  return job;
}

/**
 * One POST for the batch, then every job completed, or every job failed (a non-2xx answer or no
 * answer): moveToFailed applies each job's attempts and backoff, as a throwing processor would.
 * Completing a job also fetches the next one, in the same script call (where getNextJob would be
 * a second), as BullMQ's own worker and the loop in its manual-processing guide do.
 */
async function deliverBatch(jobs: Job<PeerEvent>[]): Promise<void> {
  const failure = await post('/batch', batchBody(jobs.map((job) => job.data))).then(
    () => undefined,
    (error: Error) => error,
  );
  await Promise.all(
    jobs.map(async (job) => {
      try {
        if (failure) {
          await job.moveToFailed(failure, TOKEN, false);
          failed++;
          return;
        }
        const [next, nextId] = ((await job.moveToCompleted(undefined, TOKEN, !stopping)) ?? []) as [JobJsonRaw | null | undefined, string | undefined];
        completed++;
        if (next) prefetched.push(hold(Job.fromJSON(worker, next, nextId)));
      } catch {
        errors++;
      } finally {
        locked.delete(job.id!);
      }
    }),
  );
}

/** Up to `count` jobs: the prefetched first, then one getNextJob each for the rest, asked all at once (pipelined on the connection). */
async function takeJobs(count: number): Promise<Job<PeerEvent>[]> {
  const jobs = prefetched.splice(0, count);
  const missing = count - jobs.length;
  if (missing === 0) return jobs;
  fetching += missing;
  try {
    const fetched = await Promise.all(Array.from({ length: missing }, () => worker.getNextJob(TOKEN, { block: false })));
    for (const job of fetched) if (job) jobs.push(hold(job));
    return jobs;
  } finally {
    fetching -= missing;
  }
}

async function waitForJob(): Promise<Job<PeerEvent> | undefined> {
  fetching++;
  try {
    const job = await worker.getNextJob(TOKEN, { block: true });
    return job && hold(job);
  } finally {
    fetching--;
  }
}

/**
 * Batches one after another, several in flight: at most maxHeldJobs jobs held at once (the batch
 * being gathered and the prefetched counted), as the loop's and the daemon's consumers hold at most
 * max_ack_pending messages.
 */
async function runBatches(): Promise<void> {
  const { size, maxWaitMs, maxHeldJobs } = config.batch;
  const inFlight = new Set<Promise<void>>();
  const deliver = (jobs: Job<PeerEvent>[]) => {
    const delivery = deliverBatch(jobs).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  };
  const source = { take: takeJobs, waitForOne: waitForJob };
  const options = { size, maxWaitMs, now: () => performance.now(), sleep: (ms: number) => sleep(ms), stopping: () => stopping };
  while (!stopping) {
    // Room for the jobs this batch may fetch (the prefetched are held already).
    while (held() + Math.max(0, size - prefetched.length) > maxHeldJobs && inFlight.size > 0) await Promise.race(inFlight);
    const jobs = await gatherBatch(source, options);
    if (jobs.length > 0) deliver(jobs);
  }
  await Promise.all(inFlight);
  // Completions fetch nothing once stopping; what they fetched before is delivered too, so no job stays locked.
  while (prefetched.length > 0) await deliverBatch(prefetched.splice(0, size));
}

let batches: Promise<void> = Promise.resolve();
let lockRenewal: NodeJS.Timeout | undefined;
if (config.mode === 'batched') {
  // A worker without a processor checks for stalled jobs only when told to (BullMQ's manual-processing guide).
  await worker.startStalledCheckTimer();
  lockRenewal = setInterval(renewLocks, LOCK_MS / 2);
  batches = runBatches();
}
send({ type: 'ready' });

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(deadline);
  // Waits for the jobs in progress, as a graceful shutdown does: the batches in flight, then BullMQ's own.
  await batches;
  clearInterval(lockRenewal);
  await worker.close().catch(() => undefined);
  await pool.close().catch(() => undefined);
  send({ type: 'stopped', completed, failed, errors });
  process.disconnect?.();
}

const deadline = setTimeout(() => void stop(), config.maxSeconds * 1_000);
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.on('unhandledRejection', (error) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
