// The parent's handle on the sink process (bench/sink-process.ts): start it, tell it what to answer
// and what to record, await event-count milestones, read its figures, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SinkCommand, SinkMessage, SinkStats } from './sink-process.js';

export type { SinkStats } from './sink-process.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface Milestone {
  events: number;
  requests: number;
  /** CLOCK_MONOTONIC milliseconds in the sink when the count crossed the threshold. */
  atMs: number;
  /** performance.now() in this process when it heard of it. */
  heardAt: number;
}

export interface SinkOptions {
  status?: number;
  latency?: boolean;
  latencyFromMs?: number;
  rate?: boolean;
  milestones?: number[];
  /** The first request of each event of these users is answered 500 (per URL path); figures per path (SinkStats.paths). */
  failUsers?: string[];
}

export class BenchSink {
  readonly url: string;
  private nextId = 1;
  private readonly replies = new Map<number, (stats: SinkStats | undefined) => void>();
  private reached: Milestone[] = [];
  private milestoneWaiters: Array<() => void> = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    child.on('message', (message: SinkMessage) => {
      if (message.type === 'reply') {
        this.replies.get(message.id)?.(message.stats);
        this.replies.delete(message.id);
      } else if (message.type === 'milestone') {
        this.reached.push({ events: message.events, requests: message.requests, atMs: message.atMs, heardAt: performance.now() });
        for (const wake of this.milestoneWaiters.splice(0)) wake();
      }
    });
  }

  static async start(): Promise<BenchSink> {
    const child = fork(fileURLToPath(new URL('./sink-process.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the sink did not start within 10 s')), 10_000);
      child.once('message', (message: SinkMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message.port);
        else reject(new Error(`unexpected first message from the sink: ${JSON.stringify(message)}`));
      });
      child.once('exit', (code) => reject(new Error(`the sink exited with ${code} before it was ready`)));
    });
    return new BenchSink(child, port);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private request(command: DistributiveOmit<SinkCommand, 'id'>): Promise<SinkStats | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`the sink did not answer ${command.cmd} within 30 s`));
      }, 30_000);
      this.replies.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.child.send({ ...command, id });
    });
  }

  /** Resets every counter and sets what to answer and record. */
  async configure(options: SinkOptions = {}): Promise<void> {
    this.reached = [];
    await this.request({ cmd: 'configure', status: options.status ?? 200, latency: options.latency, latencyFromMs: options.latencyFromMs, rate: options.rate, milestones: options.milestones, failUsers: options.failUsers });
  }

  async stats(window?: { fromMs: number; toMs: number }): Promise<SinkStats> {
    return (await this.request({ cmd: 'stats', windowFromMs: window?.fromMs, windowToMs: window?.toMs }))!;
  }

  /** The first milestone at or past `events`, or undefined if none came by `deadline` (performance.now()). */
  async waitForMilestone(events: number, deadline: number): Promise<Milestone | undefined> {
    for (;;) {
      const found = this.reached.find((milestone) => milestone.events >= events);
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.milestoneWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ cmd: 'stop', id: 0 });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** CLOCK_MONOTONIC in milliseconds: the same clock in every process on this machine. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
