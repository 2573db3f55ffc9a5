// The peer of issue 14, run as its own process so its CPU is read the same way as the daemon's: what
// a Node team would install for "consume events, POST them, retry with backoff, respect a rate
// limit" — a BullMQ 5 worker on Redis. It does the baseline loop's job on the same events: a job is
// an event (or, batched, 100 events: batches of jobs are BullMQ Pro only), the loop's hand-built
// body, an undici Pool POST to the sink, a throw on a non-2xx answer so BullMQ retries the job
// (attempts and backoff are set on the jobs, see bench/peer.ts). Concurrency 64, as the loop's
// in-flight gate; a limiter when the scenario sets one.
// It runs until the parent says stop, or maxSeconds passes, then closes the worker and exits.
import { Worker, type Job } from 'bullmq';
import { Pool } from 'undici';
import { REDIS_PASSWORD_ENV } from './redis-broker.js';

export interface PeerConfig {
  connection: { host: string; port: number };
  prefix: string;
  queue: string;
  sinkUrl: string;
  token: string;
  mode: 'single' | 'batched';
  concurrency: number;
  connections: number;
  /** BullMQ's limiter: at most `max` jobs started per `duration` ms. */
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
  // BullMQ's retry is the throw: the job goes back with its backoff, or to the failed set after its attempts.
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

async function processBatched(job: Job<{ events: PeerEvent[] }>): Promise<void> {
  const bodies = job.data.events.map((event) => JSON.stringify({ event: event.event_type, insert_id: event.insert_id, sent_at: event.event_properties?.sent_at }));
  await post('/batch', `{"events":[${bodies.join(',')}]}`);
}

let completed = 0;
let failed = 0;
let errors = 0;
const processor = (config.mode === 'single' ? processSingle : processBatched) as (job: Job) => Promise<void>;
const worker = new Worker(config.queue, processor, {
  // The password never travels in the config (a command-line argument): it is inherited in the environment.
  connection: { ...config.connection, password: process.env[REDIS_PASSWORD_ENV] },
  prefix: config.prefix,
  concurrency: config.concurrency,
  ...(config.limiter ? { limiter: config.limiter } : {}),
});
worker.on('completed', () => void completed++);
worker.on('failed', () => void failed++);
// An unobserved 'error' event would throw and end the process; connection trouble is counted instead.
worker.on('error', () => void errors++);
await worker.waitUntilReady();
send({ type: 'ready' });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(deadline);
  // Waits for the jobs in progress, as a graceful shutdown does.
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
