// Runs the real daemon for a scenario: writes a destinations folder and a config file, starts
// `node dist/tools/cli.js daemon --config <file>` as a child process (with the memory probe, and
// --cpu-prof when profiling), waits for /readyz on its admin port, and stops it with SIGTERM.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';
import { DAEMON_NODE_FLAGS } from '../daemon/defaults.js';
import { TEST_BATCH_BODY, TEST_BODY, testDefinition, writeDestinationFolder } from '../test/helpers/destination-folder.js';
import { freePort } from '../test/helpers/nats-server.js';
import { SELECTED_PROPERTIES } from './events.js';
import type { MemoryReport } from './memory-probe.js';
import { rssBytes } from './proc.js';

export const SINK_TOKEN_ENV = 'BENCH_SINK_TOKEN';
export const SINK_TOKEN = 'bench-token-not-a-secret';

const PACKAGE_DIST = fileURLToPath(new URL('..', import.meta.url));

export interface DestinationSpec {
  slug: string;
  /** Syncs of the destination; each has its own durable consumer. */
  syncs: number;
  batch?: { maxEvents: number; maxWaitMs: number };
  rate?: { requests: number; periodSeconds: number };
  /** The sync's ordering option ("user": each user's events in stream order). */
  ordering?: 'user';
  /** Named syncs instead of `syncs` numbered ones, each with its own ordering and a path of its own on the sink (its requests go to /<path>/track). */
  named?: Record<string, { ordering?: 'user'; path: string }>;
}

export interface DaemonRunOptions {
  natsUrl: string;
  sinkUrl: string;
  stream: { name: string; subjects: string[] };
  destination: DestinationSpec;
  /** Extra daemon settings (maxInFlightPerSync, stream.maxAckPending …). */
  settings?: Record<string, unknown>;
  /** Directory holding a patched copy of dist/ (experiments); default: this checkout's dist/. */
  distDir?: string;
  /** Write a .cpuprofile here (node --cpu-prof). */
  cpuProfileDir?: string;
}

/** A real destination folder: the test helper's definition and templates, pointed at the sink. */
export function writeBenchDestination(root: string, spec: DestinationSpec, sinkUrl: string): void {
  const base = testDefinition();
  const request = base.request as Record<string, unknown>;
  const definition = spec.batch
    ? testDefinition({ request: { method: 'POST', url: '{{ parameters.endpoint }}/batch', headers: request.headers, body: 'body.njk' }, batch: spec.batch })
    : testDefinition();
  if (spec.rate) definition.limits = { rate: spec.rate };
  const sync = (endpoint: string, ordering: 'user' | undefined) => ({
    parameters: { endpoint, token: { env: SINK_TOKEN_ENV } },
    // The events are published before the daemon starts: read the stream from its start.
    startAt: 'all',
    ...(ordering ? { ordering } : {}),
    selectedProperties: SELECTED_PROPERTIES.map((property) => ({ scope: 'event', property })),
  });
  const syncs: Record<string, Record<string, unknown>> = {};
  if (spec.named) {
    for (const [name, named] of Object.entries(spec.named)) syncs[name] = sync(`${sinkUrl}/${named.path}`, named.ordering);
  } else {
    for (let i = 1; i <= spec.syncs; i++) syncs[spec.syncs === 1 ? 'main' : `s${String(i).padStart(2, '0')}`] = sync(sinkUrl, spec.ordering);
  }
  writeDestinationFolder(root, spec.slug, { definition, body: spec.batch ? TEST_BATCH_BODY : TEST_BODY, syncs });
}

export class DaemonChild {
  memory: MemoryReport | undefined;
  peakRss = 0;
  peakHeapUsed = 0;
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly adminPort: number,
    private readonly workDir: string,
  ) {
    child.on('message', (message: MemoryReport) => {
      if (message?.type !== 'bench.memory') return;
      this.memory = message;
      this.peakRss = Math.max(this.peakRss, message.rss);
      this.peakHeapUsed = Math.max(this.peakHeapUsed, message.heapUsed);
    });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(options: DaemonRunOptions): Promise<DaemonChild> {
    const workDir = mkdtempSync(join(tmpdir(), 'destinations-bench-'));
    const destinationsDir = join(workDir, 'destinations');
    writeBenchDestination(destinationsDir, options.destination, options.sinkUrl);
    const adminPort = await freePort();
    const { stream: streamOverrides, ...otherSettings } = (options.settings ?? {}) as { stream?: Record<string, unknown> };
    const config = {
      nats: { servers: [options.natsUrl] },
      destinationsDir,
      admin: { enabled: true, host: '127.0.0.1', port: adminPort },
      logLevel: 'warn',
      drainTimeoutMs: 2_000,
      stream: { name: options.stream.name, subjects: options.stream.subjects, deadLetterStream: 'BENCH_DEAD', deadLetterSubjectPrefix: 'benchdead', ...streamOverrides },
      ...otherSettings,
    };
    const configFile = join(workDir, 'bench-config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const dist = options.distDir ?? PACKAGE_DIST;
    // The daemon runs with the flags it ships with; the baseline loop gets the same ones.
    const execArgv: string[] = [...DAEMON_NODE_FLAGS, '--import', pathToFileURL(join(PACKAGE_DIST, 'bench/memory-probe.js')).href];
    if (options.cpuProfileDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir);
    const child = fork(join(dist, 'tools/cli.js'), ['daemon', '--config', configFile], {
      execArgv,
      env: { ...process.env, [SINK_TOKEN_ENV]: SINK_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const daemon = new DaemonChild(child, adminPort, workDir);
    await daemon.waitReady(30_000);
    return daemon;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** RSS read from /proc (VmRSS), which is what the target is about. */
  rss(): number {
    const rss = rssBytes(this.pid);
    if (Number.isFinite(rss)) this.peakRss = Math.max(this.peakRss, rss);
    return rss;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (performance.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`the daemon exited (${exitCode}) before it was ready:\n${this.output.join('')}`);
      try {
        const response = await request(`http://127.0.0.1:${this.adminPort}/readyz`);
        await response.body.dump();
        if (response.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.stop();
    throw new Error(`the daemon was not ready within ${timeoutMs} ms:\n${this.output.join('')}`);
  }

  /** The admin port's /destinations counters, summed over every sync. */
  async counters(): Promise<Record<string, number>> {
    const response = await request(`http://127.0.0.1:${this.adminPort}/destinations`);
    const report = (await response.body.json()) as { destinations: Array<{ syncs: Array<{ counts?: Record<string, unknown> }> }> };
    const sums: Record<string, number> = {};
    for (const destination of report.destinations) {
      for (const sync of destination.syncs) {
        for (const [name, value] of Object.entries(sync.counts ?? {})) if (typeof value === 'number') sums[name] = (sums[name] ?? 0) + value;
      }
    }
    return sums;
  }

  /** Each sync's counts from the admin port's /destinations, by sync id. */
  async countersBySync(): Promise<Record<string, Record<string, number>>> {
    const response = await request(`http://127.0.0.1:${this.adminPort}/destinations`);
    const report = (await response.body.json()) as { destinations: Array<{ syncs: Array<{ id: string; counts?: Record<string, unknown> }> }> };
    const bySync: Record<string, Record<string, number>> = {};
    for (const destination of report.destinations) {
      for (const sync of destination.syncs) {
        bySync[sync.id] = Object.fromEntries(Object.entries(sync.counts ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
      }
    }
    return bySync;
  }

  /** The shared decode cache's hits and misses from /metrics (both 0 with one sync: it has none). */
  async sharedDecodes(): Promise<{ hits: number; misses: number }> {
    const text = await (await request(`http://127.0.0.1:${this.adminPort}/metrics`)).body.text();
    const count = (result: string) => Number(new RegExp(`^destinations_shared_decodes_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { hits: count('hit'), misses: count('miss') };
  }

  /** Seconds the last stop() took from SIGTERM to exit. */
  stopSeconds: number | undefined;
  /** It had to be killed: it did not exit within the grace after SIGTERM. */
  killed = false;

  /** SIGTERM (graceful drain), SIGKILL if it has not exited after `graceMs`; removes its folder. */
  async stop(graceMs = 20_000): Promise<number | null> {
    const started = performance.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.killed = true;
      this.child.kill('SIGKILL');
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    this.stopSeconds = (performance.now() - started) / 1_000;
    rmSync(this.workDir, { recursive: true, force: true });
    return code;
  }
}
