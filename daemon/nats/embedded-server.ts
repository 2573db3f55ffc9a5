// A nats-server of our own, stopped when we stop: the daemon's embedded default (when no NATS
// server answers, start one from nats.conf) and the quick start's private server. JetStream's store
// folder in nats.conf is relative, so it lands in the folder the server is started in.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';

export interface EmbeddedServer {
  /** The port it listens on (the file's, `port`, or the one it chose for -1). */
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** Overrides the file's listen port; -1 lets the server choose a free one. */
  port?: number;
  /** Where it runs, and so where a relative store_dir lands. Default: the config file's folder. */
  workDir?: string;
  readyTimeoutMs?: number;
}

export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startEmbeddedServer(configFile: string, log: Logger, options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const args = ['-c', configFile, ...(options.port === undefined ? [] : ['-p', String(options.port)])];
  // Its own process group: a Ctrl-C in the terminal reaches us only, so the server stays up while
  // the daemon drains, and is stopped after it.
  const child: ChildProcess = spawn('nats-server', args, { cwd: options.workDir ?? dirname(configFile), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let output = '';
  let port = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not become ready within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          port = Number(/Listening for client connections on [^\s]*:(\d+)/.exec(output)?.[1] ?? 0);
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with code ${code}:\n${output.trim()}`));
      });
    });
  } catch (error) {
    process.off('exit', killOnExit);
    child.kill('SIGTERM');
    throw error;
  }
  log.info('started embedded nats-server', { config: configFile, pid: child.pid, port });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
