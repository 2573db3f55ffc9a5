// Measures the sync limiter: (a) what run() costs with no limit and with a concurrency limit,
// (b) how well it shapes Braze's 50,000 requests per minute (per-second counts: must never pass 833,
// must average within 1 % of 833.3), (c) the same with the event loop half busy, and (d) Bottleneck
// 2.19.5 shaping the same rate with reservoir refresh/increase, for comparison.
//
//   npx tsc -p tsconfig.json && node dist/bench/limiter-micro.js [--seconds 15] [--skip-bottleneck]
import Bottleneck from 'bottleneck';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncLimiter, type RateLimit } from '../daemon/limit/index.js';

const BRAZE: RateLimit = { requests: 50_000, periodSeconds: 60 };
const TARGET = BRAZE.requests / BRAZE.periodSeconds;
const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1]) || 15;
const RESOLVED = Promise.resolve();
const noop = (): void => undefined;

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `total` calls of `call`, `perTurn` per event-loop turn (as a consumer loop would). */
async function throughput(label: string, total: number, perTurn: number, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20_000; i++) call().then(noop, noop); // warm up
  await turn();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let pending: Promise<unknown> = RESOLVED;
  for (let done = 0; done < total; done += perTurn) {
    for (let i = 0; i < perTurn; i++) pending = call().then(noop, noop);
    await turn();
  }
  await pending;
  const seconds = (performance.now() - started) / 1_000;
  const micros = cpuMicros(cpu);
  console.log(`${label.padEnd(44)} ${Math.round(total / seconds).toLocaleString('en').padStart(11)} req/s   ${(micros / total).toFixed(2).padStart(6)} µs CPU/req`);
}

interface Shape {
  perSecond: number[];
  slidingMax: number;
  total: number;
  cpuPerRequest: number;
}

/** CPU the process spends per second with only a 5 ms interval running: this VM's wake-up cost. */
let idleCpuPerSecond = 0;

async function measureIdle(seconds: number): Promise<void> {
  const cpu = process.cpuUsage();
  const timer = setInterval(noop, 5);
  await sleep(seconds * 1_000);
  clearInterval(timer);
  idleCpuPerSecond = cpuMicros(cpu) / seconds;
  console.log(`idle baseline: a 5 ms interval alone costs ${(idleCpuPerSecond / 1_000).toFixed(1)} ms CPU per second (timer wake-ups)`);
}

function summarise(label: string, starts: number[], seconds: number, cpu: number): void {
  const perSecond = new Array<number>(seconds).fill(0);
  for (const at of starts) if (at < seconds * 1_000) perSecond[Math.floor(at / 1_000)]++;
  const inRange = starts.filter((at) => at < seconds * 1_000);
  let slidingMax = 0;
  for (let i = 0, j = 0; i < inRange.length; i++) {
    while (inRange[i] - inRange[j] >= 1_000) j++;
    slidingMax = Math.max(slidingMax, i - j + 1);
  }
  const shape: Shape = { perSecond, slidingMax, total: inRange.length, cpuPerRequest: cpu / Math.max(1, inRange.length) };
  const netPerRequest = Math.max(0, cpu - idleCpuPerSecond * seconds) / Math.max(1, inRange.length);
  // A gap longer than the pacing credit (250 ms) is time the process did not run: lost, by design.
  let longestGap = 0;
  for (let i = 1; i < inRange.length; i++) longestGap = Math.max(longestGap, inRange[i] - inRange[i - 1]);
  const mean = shape.total / seconds;
  const verdict = Math.max(...perSecond) <= Math.floor(TARGET) && slidingMax <= Math.floor(TARGET) && mean >= 0.99 * TARGET ? 'PASS' : 'FAIL';
  console.log(
    `${label.padEnd(44)} per second max ${String(Math.max(...perSecond)).padStart(4)} min ${String(Math.min(...perSecond)).padStart(4)} mean ${mean.toFixed(1).padStart(6)} (${((100 * mean) / TARGET).toFixed(2)} %)` +
      `   any 1 s window max ${String(slidingMax).padStart(4)}   longest gap ${longestGap.toFixed(0).padStart(4)} ms   ${shape.cpuPerRequest.toFixed(1).padStart(5)} µs CPU/req (${netPerRequest.toFixed(1)} over idle)   ${verdict}`,
  );
}

/** Keeps the event loop about half busy: 4 ms of work every 7 ms, so every timer fires late. */
function startLoad(enabled: boolean): () => void {
  if (!enabled) return noop;
  const timer = setInterval(() => {
    const end = performance.now() + 4;
    while (performance.now() < end);
  }, 7);
  return () => clearInterval(timer);
}

async function shapedBySyncLimiter(label: string, seconds: number, load: boolean): Promise<void> {
  const limiter = new SyncLimiter({ name: label, rate: BRAZE, highWater: 100_000 });
  const starts: number[] = [];
  let t0 = 0;
  const task = () => {
    starts.push(performance.now() - t0);
    return RESOLVED;
  };
  const stopLoad = startLoad(load);
  const cpu = process.cpuUsage();
  t0 = performance.now();
  // Saturated: a backlog is always waiting, as when JetStream has a queue for this sync.
  const topUp = setInterval(() => {
    for (let queued = limiter.state().queued; queued < 2_000; queued++) limiter.run(task).catch(noop);
  }, 5);
  for (let queued = 0; queued < 2_000; queued++) limiter.run(task).catch(noop);
  await sleep(seconds * 1_000);
  clearInterval(topUp);
  const used = cpuMicros(cpu);
  stopLoad();
  await limiter.stop();
  summarise(label, starts, seconds, used);
}

/**
 * Bottleneck as the brief sketched it: one job admits a group, weight = group size, the reservoir
 * refilled by Bottleneck (`refresh` once a period, or `increase` every intervalMs, capped at one
 * refill so an idle limiter cannot save up a burst).
 */
async function shapedByBottleneck(label: string, intervalMs: number, heartbeatMs: number, seconds: number, load: boolean): Promise<void> {
  const amount = Math.floor((TARGET * intervalMs) / 1_000);
  const limiter = new Bottleneck({
    reservoir: amount,
    reservoirIncreaseAmount: amount,
    reservoirIncreaseInterval: intervalMs,
    reservoirIncreaseMaximum: amount,
    heartbeatInterval: heartbeatMs,
  });
  const starts: number[] = [];
  let t0 = 0;
  let running = true;
  const stopLoad = startLoad(load);
  const cpu = process.cpuUsage();
  t0 = performance.now();
  const loop = (async () => {
    while (running) {
      await limiter.schedule({ weight: amount }, async () => {
        const at = performance.now() - t0;
        for (let i = 0; i < amount; i++) starts.push(at);
      });
    }
  })();
  await sleep(seconds * 1_000);
  running = false;
  const used = cpuMicros(cpu);
  stopLoad();
  await limiter.stop({ dropWaitingJobs: true }).catch(noop);
  await loop.catch(noop);
  summarise(label, starts, seconds, used);
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${SECONDS} s per shaping run, target ${TARGET.toFixed(1)}/s (never more than ${Math.floor(TARGET)} in any second)\n`);
  console.log('(a) run() cost, tasks that resolve at once, 200 per loop turn (each call also pays one .then())');
  const task = () => RESOLVED;
  await throughput('baseline: calling the task directly', 2_000_000, 200, task);
  const open = new SyncLimiter({ name: 'open' });
  await throughput('no limit (fast path)', 2_000_000, 200, () => open.run(task));
  const concurrent = new SyncLimiter({ name: 'concurrent', maxConcurrency: 256 });
  await throughput('maxConcurrency 256 (queued path)', 1_000_000, 200, () => concurrent.run(task));
  const generous = new SyncLimiter({ name: 'generous', rate: { requests: 10_000_000, periodSeconds: 1 }, highWater: 100_000 });
  await throughput('rate 10M/s (shaping path, never binding)', 1_000_000, 200, () => generous.run(task));

  console.log(`\n(b, c) SyncLimiter, Braze 50,000/min, saturated (a 5 ms interval keeps 2,000 queued)`);
  await measureIdle(3);
  await shapedBySyncLimiter('idle event loop', SECONDS, false);
  await shapedBySyncLimiter('event loop ~55 % busy', SECONDS, true);

  if (!args.includes('--skip-bottleneck')) {
    const short = Math.min(SECONDS, 10);
    console.log(`\n(d) Bottleneck 2.19.5 reservoir, one job per group (weight = group), saturated, ${short} s`);
    await shapedByBottleneck('increase 833 every 1000 ms', 1_000, 250, short, false);
    await shapedByBottleneck('increase 83 every 100 ms', 100, 100, short, false);
    await shapedByBottleneck('increase 83 every 100 ms, heartbeat 25 ms', 100, 25, short, false);
    await shapedByBottleneck('increase 41 every 50 ms', 50, 50, short, false);
    await shapedByBottleneck('increase 16 every 20 ms', 20, 20, short, false);
    await shapedByBottleneck('increase 833 every 1000 ms, loop ~55 % busy', 1_000, 250, short, true);
    await shapedByBottleneck('increase 83 every 100 ms, loop ~55 % busy', 100, 100, short, true);
  }
}

await main();
