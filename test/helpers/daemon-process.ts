// Runs `destinations daemon` as a child process, the way systemd does, with its JSON log lines
// collected so a test can await a given message.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';

/** Daemons a test file started; any still running when its tests end (a failed assertion) are
 *  killed, so a failure cannot leave a daemon reconnecting forever and the test file never exiting. */
const spawned = new Set<ChildProcess>();
after(() => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface DaemonProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr: string[];
  /** Resolves with the first log line (from the start) whose msg matches, or that a predicate accepts. */
  waitForLog(message: string | RegExp | ((line: Record<string, unknown>) => boolean), timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, 'destinations-test-config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** `executable`: another `destinations` to run (an installed one) instead of this checkout's dist/. */
export function spawnDaemon(configFile: string, env: NodeJS.ProcessEnv = {}, executable?: string): DaemonProcess {
  return spawnDaemonCommand([...(executable ? [executable] : CHECKOUT_COMMAND), 'daemon', '--config', configFile], env);
}

/** `destinations` as this checkout runs it: node and dist/tools/cli.js. */
export const CHECKOUT_COMMAND = [process.execPath, join(PACKAGE_ROOT, 'dist/tools/cli.js')];

/** A daemon from a whole command line (a systemd unit's ExecStart, say). */
export function spawnDaemonCommand(argv: readonly string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const [command, ...args] = argv;
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text, unparsed: true };
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    logs,
    stderr,
    exited,
    waitForLog(message, timeoutMs = 20_000) {
      const match = (line: Record<string, unknown>) => (typeof message === 'function' ? message(line) : typeof message === 'string' ? line.msg === message : message.test(String(line.msg)));
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log ${message} within ${timeoutMs} ms; stderr: ${stderr.join('')}; last logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        const onExit = () => {
          clearTimeout(timer); // or a daemon that failed to start holds the test file open for the whole timeout
          reject(new Error(`daemon exited before logging ${message}; stderr: ${stderr.join('')}`));
        };
        void exited.then(onExit);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}
