// The parent's side of the BullMQ peer (issue 14): the jobs it adds (the bench's events, with the
// retry settings a team would give them) and its handle on the worker process (bench/peer-process.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, type JobsOptions } from 'bullmq';
import { DAEMON_NODE_FLAGS } from '../daemon/defaults.js';
import { benchEvent } from './events.js';
import type { PeerConfig, PeerMessage } from './peer-process.js';
import { REDIS_PASSWORD_ENV, type RedisBroker } from './redis-broker.js';

export type { PeerConfig } from './peer-process.js';

/** Events a request in the batched rows: the loop's and the daemon's batch size (BullMQ's own batches are Pro only). */
export const PEER_BATCH_SIZE = 100;

export const PEER_DEFAULTS = {
  mode: 'single',
  // The loop's in-flight gate and pool, so the peer sends as the loop does.
  concurrency: 64,
  connections: 64,
  // The daemon's and the loop's batch (100 events, 50 ms wait); at most 1,000 jobs held, as their
  // consumers hold at most max_ack_pending (1,000) messages: 10 batches, the one being gathered counted.
  batch: { size: PEER_BATCH_SIZE, maxWaitMs: 50, maxHeldJobs: 1_000 },
  maxSeconds: 300,
} as const satisfies Partial<PeerConfig>;

/**
 * What every job gets: the daemon's default schedule as BullMQ writes it (9 attempts, exponential
 * from 60 s with 20 % jitter); a delivered job is removed, as BullMQ's docs advise for a busy queue
 * (kept, 100,000 completed jobs would fill Redis), a failed one kept (BullMQ's dead letters).
 */
export const PEER_JOB_OPTIONS: JobsOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 60_000, jitter: 0.2 },
  removeOnComplete: true,
  removeOnFail: false,
};

/** addBulk calls in flight while filling a queue: Redis runs one at a time, the next one is already on the wire. */
const FILL_CALLS = 4;

/** Adds `events` of the bench's events to a fresh queue, one a job (PEER_BATCH_SIZE a job when batched by the producer); returns jobs added per second. */
export async function fillQueue(broker: RedisBroker, name: string, mode: PeerConfig['mode'], events: number): Promise<number> {
  const queue = new Queue(name, { connection: { ...broker.connection, password: process.env[REDIS_PASSWORD_ENV] }, prefix: broker.prefix, defaultJobOptions: PEER_JOB_OPTIONS });
  queue.on('error', () => undefined);
  const started = performance.now();
  try {
    await queue.obliterate({ force: true });
    // Bounded: at most ~600 KB of jobs in one addBulk call, at most FILL_CALLS calls outstanding.
    const byProducer = mode === 'producer-batched';
    const perJob = byProducer ? PEER_BATCH_SIZE : 1;
    const jobsPerCall = byProducer ? 10 : 1_000;
    let jobs = 0;
    const outstanding = new Set<Promise<unknown>>();
    for (let from = 0; from < events; from += perJob * jobsPerCall) {
      const bulk: Array<{ name: string; data: unknown }> = [];
      for (let first = from; first < Math.min(events, from + perJob * jobsPerCall); first += perJob) {
        const last = Math.min(events, first + perJob);
        const data = byProducer ? { events: Array.from({ length: last - first }, (_, i) => benchEvent(first + i)) } : benchEvent(first);
        bulk.push({ name: 'deliver', data });
      }
      const call = queue.addBulk(bulk).finally(() => outstanding.delete(call));
      outstanding.add(call);
      jobs += bulk.length;
      if (outstanding.size >= FILL_CALLS) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
    // A queue that does not hold every job would measure something else.
    const waiting = await queue.getWaitingCount();
    if (waiting !== jobs) throw new Error(`queue ${name} holds ${waiting} waiting jobs, ${jobs} were added`);
    return jobs / ((performance.now() - started) / 1_000);
  } finally {
    await queue.close();
  }
}

/** The installed BullMQ's version (its index does not export one). */
export function bullmqVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../node_modules/bullmq/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Removes a queue and every job in it. */
export async function dropQueue(broker: RedisBroker, name: string): Promise<void> {
  const queue = new Queue(name, { connection: { ...broker.connection, password: process.env[REDIS_PASSWORD_ENV] }, prefix: broker.prefix });
  queue.on('error', () => undefined);
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
}

export class PeerChild {
  private result: Extract<PeerMessage, { type: 'stopped' }> | undefined;
  private failure: string | undefined;
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: PeerMessage) => {
      if (message.type === 'stopped') this.result = message;
      if (message.type === 'failed') this.failure = message.error;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the worker; resolves once it is connected (it takes jobs from then on). */
  static async start(config: PeerConfig): Promise<PeerChild> {
    // The daemon's V8 flags, as the loop gets them: the comparison is of the code, not of the heap settings.
    const child = fork(fileURLToPath(new URL('./peer-process.js', import.meta.url)), [JSON.stringify(config)], { execArgv: [...DAEMON_NODE_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new PeerChild(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the BullMQ worker did not start within 30 s')), 30_000);
      child.on('message', (message: PeerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`the BullMQ worker failed: ${message.error}`));
        }
      });
      child.once('exit', (code) => reject(new Error(`the BullMQ worker exited with ${code} before it was ready`)));
    });
    return handle;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(graceMs = 15_000): Promise<{ completed: number; failed: number; errors: number } | undefined> {
    if (this.child.connected) this.child.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    if (this.failure) throw new Error(`the BullMQ worker failed: ${this.failure}`);
    return this.result;
  }
}
