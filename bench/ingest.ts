// The ingest row (issue 25): events over HTTP in batches of 100 (Amplitude's /2/httpapi) through
// `destinations ingest` to JetStream, against one client publishing the same events straight to
// JetStream, in the same run. Both publish each event with its insert_id as Nats-Msg-Id and wait
// for every acknowledgement, with the same number of publishes outstanding (requests in flight ×
// 100). What is compared is CPU per event of the process doing the publishing: the ingest's, read
// from /proc, and the direct publisher's (its own process.cpuUsage over the window).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { benchEvent, deleteStream, freshStream } from './events.js';
import { cpuSeconds, loadAverage, machineBusySeconds } from './proc.js';
import type { BenchContext } from './scenarios.js';

export interface IngestBenchResult {
  events: number;
  batch: number;
  requestsInFlight: number;
  direct: { eventsPerSecond: number; cpuUsPerEvent: number };
  ingest: { eventsPerSecond: number; cpuUsPerEvent: number };
  /** Ingest CPU per event over the direct publisher's (the target: at most 2). */
  cpuRatio: number;
  /** Load average at the end, and CPU seconds the whole machine spent during the ingest window. */
  load: number;
  machineCpuSeconds: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const BATCH = 100;
const REQUESTS_IN_FLIGHT = 4;
const KEY = 'bench-ingest-key-0123456789';

export async function runIngestBench(ctx: BenchContext, events: number): Promise<IngestBenchResult> {
  const stream = { name: 'INGEST_BENCH', subjects: ['ingestbench.>'] };
  await freshStream(ctx.jsm, stream);
  const dir = mkdtempSync(join(tmpdir(), 'destinations-bench-ingest-'));
  try {
    // The direct publisher first, in a process of its own.
    const direct = spawn(process.execPath, [join(HERE, 'ingest-direct-child.js'), ctx.nats.url, 'ingestbench.direct', String(events), String(BATCH * REQUESTS_IN_FLIGHT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    direct.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(direct, 'exit')) as [number];
    if (code !== 0) throw new Error(`the direct publisher exited ${code}`);
    const directRun = JSON.parse(output.trim().split('\n')[0]) as { seconds: number; cpuSeconds: number };

    // The ingest, as `destinations ingest` runs, on the same stream.
    const config = join(dir, 'ingest.json');
    writeFileSync(config, JSON.stringify({ nats: { servers: [ctx.nats.url] }, stream, logLevel: 'info', ingest: { port: 0, metricsPort: 0, keys: [{ name: 'bench', key: { env: 'BENCH_INGEST_KEY' }, subject: 'ingestbench.ingest' }] } }));
    const cli = join(ctx.distDir ?? join(HERE, '..'), 'tools', 'cli.js');
    const ingest = spawn(process.execPath, [cli, 'ingest', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_INGEST_KEY: KEY } });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        const onData = (chunk: Buffer) => {
          text += chunk.toString();
          const match = /"msg":"ingest listening".*?"url":"http:\/\/[^"]*:(\d+)"/.exec(text);
          if (match) {
            ingest.stdout.off('data', onData);
            ingest.stdout.resume();
            resolve(Number(match[1]));
          }
        };
        ingest.stdout.on('data', onData);
        ingest.once('exit', (exit) => reject(new Error(`the ingest exited ${exit} before listening`)));
        setTimeout(() => reject(new Error('the ingest did not say it was listening within 60 s')), 60_000).unref();
      });
      const bodies: string[] = [];
      for (let first = 0; first < events; first += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, events - first) }, (_, offset) => ({ ...benchEvent(first + offset), insert_id: `ingest-${first + offset}` }));
        bodies.push(JSON.stringify({ api_key: KEY, events: batch }));
      }
      const pool = new Pool(`http://127.0.0.1:${port}`, { connections: REQUESTS_IN_FLIGHT, pipelining: 1 });
      // A warm-up request (JIT, the schema's first compile), not counted: its events are the window's first.
      const warm = await pool.request({ path: '/2/httpapi', method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
      await warm.body.text();
      const cpuBefore = cpuSeconds(ingest.pid);
      const machineBefore = machineBusySeconds();
      const started = performance.now();
      let next = 1;
      const lane = async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const response = await pool.request({ path: '/2/httpapi', method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await response.body.text();
          if (response.statusCode !== 200) throw new Error(`the ingest answered ${response.statusCode}: ${text.slice(0, 200)}`);
        }
      };
      await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, lane));
      const seconds = (performance.now() - started) / 1_000;
      const cpu = cpuSeconds(ingest.pid) - cpuBefore;
      const machineCpuSeconds = machineBusySeconds() - machineBefore;
      await pool.close();
      const counted = events - Math.min(BATCH, events);
      const info = await ctx.jsm.streams.info(stream.name);
      if (info.state.messages !== 2 * events) throw new Error(`the stream holds ${info.state.messages} events, not ${2 * events}`);
      const directUs = (directRun.cpuSeconds / events) * 1e6;
      const ingestUs = (cpu / counted) * 1e6;
      return {
        events,
        batch: BATCH,
        requestsInFlight: REQUESTS_IN_FLIGHT,
        direct: { eventsPerSecond: events / directRun.seconds, cpuUsPerEvent: directUs },
        ingest: { eventsPerSecond: counted / seconds, cpuUsPerEvent: ingestUs },
        cpuRatio: ingestUs / directUs,
        load: loadAverage(),
        machineCpuSeconds,
      };
    } finally {
      ingest.kill('SIGTERM');
      if (ingest.exitCode === null) await once(ingest, 'exit');
    }
  } finally {
    await deleteStream(ctx.jsm, stream.name);
    rmSync(dir, { recursive: true, force: true });
  }
}
