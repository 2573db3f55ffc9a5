// The parent's handle on a baseline loop process (bench/baseline-process.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../daemon/defaults.js';
import type { BaselineConfig, BaselineMessage } from './baseline-process.js';

export type { BaselineConfig } from './baseline-process.js';

export const BASELINE_DEFAULTS = {
  mode: 'single',
  batchSize: 100,
  batchWaitMs: 50,
  inFlight: 64,
  consume: 'iterator',
  ack: 'turn',
  maxMessages: 512,
  maxAckPending: 1_000,
  connections: 64,
  maxSeconds: 300,
} as const satisfies Partial<BaselineConfig>;

export class BaselineChild {
  private result: Extract<BaselineMessage, { type: 'stopped' }> | undefined;
  private failure: string | undefined;
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: BaselineMessage) => {
      if (message.type === 'stopped') this.result = message;
      if (message.type === 'failed') this.failure = message.error;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the loop; resolves once it is consuming. */
  static async start(config: BaselineConfig, cpuProfileDir?: string): Promise<BaselineChild> {
    // The same V8 flags as the daemon, so the comparison is of the code, not of the heap settings.
    const execArgv: string[] = [...DAEMON_NODE_FLAGS, ...(cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [])];
    const child = fork(fileURLToPath(new URL('./baseline-process.js', import.meta.url)), [JSON.stringify(config)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new BaselineChild(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the baseline loop did not start within 30 s')), 30_000);
      child.on('message', (message: BaselineMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`the baseline loop failed: ${message.error}`));
        }
      });
      child.once('exit', (code) => reject(new Error(`the baseline loop exited with ${code} before it was ready`)));
    });
    return handle;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(graceMs = 15_000): Promise<{ handled: number; non200: number; errors: number } | undefined> {
    if (this.child.connected) this.child.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    if (this.failure) throw new Error(`the baseline loop failed: ${this.failure}`);
    return this.result;
  }
}
