// The embedded default: when no NATS server answers, start nats-server from nats.conf (JetStream
// on, store folder beside the config) and stop it when the daemon stops.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';

export interface EmbeddedServer {
  stop(): Promise<void>;
}

export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startEmbeddedServer(configFile: string, log: Logger, readyTimeoutMs = 10_000): Promise<EmbeddedServer> {
  const child: ChildProcess = spawn('nats-server', ['-c', configFile], {
    cwd: dirname(configFile),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not become ready within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stderr?.resume();
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
  log.info('started embedded nats-server', { config: configFile, pid: child.pid });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
