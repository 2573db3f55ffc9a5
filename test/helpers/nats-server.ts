// Starts a real nats-server with JetStream on a free loopback port and its own store folder.
// Every test that touches NATS uses this; nothing talks to the machine's shared server.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  /** SIGTERM by default; SIGKILL for a crash. A store folder of the helper's own is removed. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface NatsServerOptions {
  storeDir?: string;
  port?: number;
  /**
   * A nats-server configuration file (a shipped one): run from a copy whose `store_dir` is the
   * test's store folder, on loopback and the test's port. JetStream must be on in the file.
   */
  config?: string;
  /** Added to nats-server's environment (the variables a configuration file refers to). */
  env?: NodeJS.ProcessEnv;
  /** With a clustered `config`: the loopback port its routes listen on (the file's own is replaced). */
  clusterPort?: number;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const port = options.port ?? (await freePort());
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'destinations-nats-'));
  const ownsStore = options.storeDir === undefined;
  let args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (options.config !== undefined) {
    // nats-server refuses -sd beside a store_dir in the file, so the copy names the test's folder.
    const copy = join(storeDir, 'nats-server.conf');
    const text = readFileSync(options.config, 'utf8');
    writeFileSync(copy, text.replace(/^(\s*store_dir\s*:\s*).*$/m, (_line, key: string) => `${key}${JSON.stringify(join(storeDir, 'jetstream'))}`));
    // nats-server reads an `include` relative to the including file, even an absolute path: copy it beside.
    for (const [, file] of text.matchAll(/^\s*include\s+["']?([^"'\s;]+)["']?/gm)) {
      mkdirSync(dirname(join(storeDir, file)), { recursive: true });
      copyFileSync(join(dirname(options.config), file), join(storeDir, file));
    }
    args = ['-c', copy, '-a', '127.0.0.1', '-p', String(port)];
    if (options.clusterPort !== undefined) args.push('--cluster', `nats://127.0.0.1:${options.clusterPort}`);
  }
  const child = spawn('nats-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (error) => reject(new Error(`cannot start nats-server (is it installed?): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`nats-server exited with code ${code} before it was ready:\n${output}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    process: child,
    stop(signal = 'SIGTERM') {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }).then(() => {
        if (ownsStore) rmSync(storeDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}

export interface TestStreams {
  name: string;
  subjects: string[];
  deadLetterStream: string;
  deadLetterSubjectPrefix: string;
  ackWaitMs: number;
  /** A subject of the stream to publish to. */
  subject: string;
}

export interface SharedNats {
  readonly url: string;
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  /** Streams of a test's own, so its consumers never see another test's events. */
  streams(prefix: string, ackWaitMs?: number): TestStreams;
}

/** One nats-server (and a client connection) for the tests of a file: started before them, stopped after.
 *  Call it at the top level of the file: after hooks run in the order they were registered, so inside a
 *  describe the server would stop before that describe's own after hook stops a daemon, whose last
 *  JetStream requests would then wait out their 5 s timeout. */
export function useNatsServer(): SharedNats {
  let server: NatsServerHandle | undefined;
  let connection: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let counter = 0;
  before(async () => {
    server = await startNatsServer();
    connection = await connect({ servers: server.url });
    js = jetstream(connection);
  });
  after(async () => {
    await connection?.drain();
    await server?.stop();
  });
  return {
    get url() {
      return server!.url;
    },
    get connection() {
      return connection!;
    },
    get js() {
      return js!;
    },
    streams(prefix, ackWaitMs = 5_000) {
      counter += 1;
      const upper = prefix.toUpperCase();
      return {
        name: `${upper}_${counter}`,
        subjects: [`${prefix}${counter}.>`],
        deadLetterStream: `${upper}DEAD_${counter}`,
        deadLetterSubjectPrefix: `${prefix}dead${counter}`,
        ackWaitMs,
        subject: `${prefix}${counter}.test`,
      };
    },
  };
}
