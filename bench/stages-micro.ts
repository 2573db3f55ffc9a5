// What each step of the daemon's per-event path costs on its own, in one process, on the bench's
// own event and destination folder: decode + validate, event context, render (one event, and a
// batch of 100 per event), the contract check (one event, a batch of 100), the delivery machine run to `delivered` (driven synchronously, so only
// the interpreter's own cost shows) on each runtime (the table derived from the machine, XState's
// interpreter), the limiter with no limit, and JSON.parse as the yardstick. CPU µs per operation
// (process.cpuUsage), best of 3 rounds after a warm-up; and bytes allocated per operation, the heap's
// growth over a round plus what each garbage collection in it freed (v8.GCProfiler), fewest of the rounds.
//
//   npx tsc -p tsconfig.json && node dist/bench/stages-micro.js [--rounds 3] [--ops 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { classify, Delivery, DeliveryActors, DELIVERY_RUNTIMES, resolveRetryPolicy, type DeliveryHandle, type DeliveryRules } from '../daemon/delivery/index.js';
import { DEFAULT_SHARED_DECODES_MAX_BYTES, DEFAULT_SHARED_DECODES_MAX_ENTRIES } from '../daemon/defaults.js';
import { decodeEvent, SharedDecodes, type AmplitudeEvent } from '../daemon/events/index.js';
import { SyncLimiter } from '../daemon/limit/index.js';
import { loadDestinations, RENDER_FOR_DELIVERY, renderForSync } from '../daemon/registry/index.js';
import { checkContract, compileContract } from '../daemon/contract/index.js';
import { buildEventContext, type EventContext } from '../daemon/render/index.js';
import { SINK_TOKEN, SINK_TOKEN_ENV, writeBenchDestination } from './daemon-child.js';
import { benchEvent } from './events.js';

export interface StageCost {
  stage: string;
  /** CPU µs per operation (best round). */
  micros: number;
  /** Per what: an event, a request, a call. */
  per: string;
  /** Bytes allocated per operation (fewest of the rounds). */
  bytes?: number;
}

/** Bytes allocated while `run` runs: the heap's growth plus what the collections meanwhile freed. */
function allocatedBy(run: () => void): number {
  const profiler = new GCProfiler();
  profiler.start();
  const before = getHeapStatistics().used_heap_size;
  run();
  const after = getHeapStatistics().used_heap_size;
  const freed = (profiler.stop()?.statistics ?? []).reduce((sum, gc) => sum + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize, 0);
  return after - before + freed;
}

async function measure(stage: string, per: string, ops: number, rounds: number, run: (i: number) => unknown): Promise<StageCost> {
  for (let i = 0; i < Math.min(ops, 5_000); i++) run(i);
  let best = Infinity;
  let bytes = Infinity;
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < ops; i++) run(i);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / ops);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Apart from the timed rounds: the profiler's bookkeeping stays out of the CPU figure.
  for (let round = 0; round < rounds; round++) {
    bytes = Math.min(bytes, allocatedBy(() => {
      for (let i = 0; i < ops; i++) run(i);
    }) / ops);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { stage, micros: best, per, bytes: Math.max(0, bytes) };
}

export async function measureStages(options: { ops?: number; rounds?: number } = {}): Promise<StageCost[]> {
  const ops = options.ops ?? 20_000;
  const rounds = options.rounds ?? 3;
  process.env[SINK_TOKEN_ENV] ??= SINK_TOKEN;
  const dir = mkdtempSync(join(tmpdir(), 'destinations-bench-stages-'));
  try {
    writeBenchDestination(dir, { slug: 'stages-single', syncs: 1 }, 'http://127.0.0.1:9');
    writeBenchDestination(dir, { slug: 'stages-batched', syncs: 1, batch: { maxEvents: 100, maxWaitMs: 50 } }, 'http://127.0.0.1:9');
    const loaded = await loadDestinations(dir, { resolveSecrets: true });
    const errors = loaded.problems.filter((problem) => problem.severity === 'error');
    if (errors.length > 0) throw new Error(`bench destinations do not load: ${JSON.stringify(errors)}`);
    const single = loaded.destinations.find((destination) => destination.slug === 'stages-single')!.syncs[0];
    const batched = loaded.destinations.find((destination) => destination.slug === 'stages-batched')!.syncs[0];

    const encoder = new TextEncoder();
    const datas = Array.from({ length: 1_000 }, (_, i) => encoder.encode(JSON.stringify(benchEvent(i))));
    const decoder = new TextDecoder();
    const events = datas.map((data) => JSON.parse(decoder.decode(data)) as AmplitudeEvent);
    const contexts = events.map((event) => buildEventContext(event, single.selection));
    const batch: EventContext[] = contexts.slice(0, 100);
    const request = renderForSync(single, [contexts[0]], 'track', RENDER_FOR_DELIVERY);
    const policy = resolveRetryPolicy(single.destination.definition.retry);
    const delivered = classify({ status: 200, headers: {} });
    const rules: DeliveryRules = { policy, maxInProcessWaitMs: 5_000, maxInProcessRetries: 3 };
    // Answers synchronously, so only the machine is measured.
    class MicroDelivery extends Delivery {
      render() {
        return request;
      }
      send(self: DeliveryHandle): void {
        self.send({ type: 'sent', result: delivered });
      }
      pause(): void {}
      settled(): void {}
      failed(error: unknown): void {
        throw error;
      }
    }
    const derivedActors = new DeliveryActors({ keepIdle: 16, runtime: DELIVERY_RUNTIMES.derived });
    const xstateActors = new DeliveryActors({ keepIdle: 16, runtime: DELIVERY_RUNTIMES.xstate });
    const limiter = new SyncLimiter({ name: 'stages' });
    const resolved = Promise.resolve();
    const task = () => resolved;

    const costs: StageCost[] = [];
    costs.push(await measure('JSON.parse(TextDecoder) — the yardstick', 'event', ops, rounds, (i) => JSON.parse(decoder.decode(datas[i % 1_000]))));
    costs.push(await measure('decodeEvent (UTF-8 check, parse, ajv validate)', 'event', ops, rounds, (i) => decodeEvent(datas[i % 1_000], 1_048_576)));
    // Fan-out: the first sync to take a message decodes it and keeps it (a miss), the others reuse it (a hit).
    const bounds = { maxEntries: DEFAULT_SHARED_DECODES_MAX_ENTRIES, maxBytes: DEFAULT_SHARED_DECODES_MAX_BYTES, counts: { hits: 0, misses: 0 } };
    const kept = new SharedDecodes({ ...bounds, readers: Number.MAX_SAFE_INTEGER });
    const at = (i: number) => ({ streamSequence: (i % 1_000) + 1, timestampNanos: 1 });
    for (let i = 0; i < 1_000; i++) kept.decode(datas[i], 1_048_576, at(i));
    costs.push(await measure('SharedDecodes.decode, a hit (fan-out: every sync but the first)', 'event', ops, rounds, (i) => kept.decode(datas[i % 1_000], 1_048_576, at(i))));
    const fresh = new SharedDecodes({ ...bounds, readers: 2 });
    let sequence = 0;
    costs.push(
      await measure('SharedDecodes.decode, a miss (decode, keep, drop the oldest)', 'event', ops, rounds, (i) =>
        fresh.decode(datas[i % 1_000], 1_048_576, { streamSequence: ++sequence, timestampNanos: 1 }),
      ),
    );
    costs.push(await measure('buildEventContext', 'event', ops, rounds, (i) => buildEventContext(events[i % 1_000], single.selection)));
    costs.push(await measure('renderForSync, 1 event', 'request', ops, rounds, (i) => renderForSync(single, [contexts[i % 1_000]], 'track', RENDER_FOR_DELIVERY)));
    const batchCost = await measure('renderForSync, batch of 100', 'request', Math.ceil(ops / 100), rounds, () => renderForSync(batched, batch, 'track', RENDER_FOR_DELIVERY));
    costs.push(batchCost, { stage: 'renderForSync, batch of 100, per event', micros: batchCost.micros / 100, per: 'event' });
    // A contract like GA4's on the bench's body: the name's pattern and length, the insert_id, the properties' count and value lengths.
    const event = { type: 'object', required: ['event', 'insert_id'], properties: { event: { type: 'string', maxLength: 1024, pattern: '^[^\\u0000]*$' }, insert_id: { type: 'string', maxLength: 256 } } };
    const singleContract = compileContract({ properties: { method: { const: 'POST' }, body: { ...event, properties: { ...event.properties, user: { type: 'string' }, properties: { type: 'object', maxProperties: 25, additionalProperties: { maxLength: 100 } } } } } }, 'bench.json');
    const batchContract = compileContract({ properties: { body: { type: 'object', required: ['events'], properties: { events: { type: 'array', maxItems: 100, items: event } } } } }, 'bench.json');
    const singleRequests = contexts.slice(0, 100).map((context) => renderForSync(single, [context], 'track', RENDER_FOR_DELIVERY));
    if (checkContract(singleContract, singleRequests[0])) throw new Error('the bench request breaks the bench contract');
    const batchRequest = renderForSync(batched, batch, 'track', RENDER_FOR_DELIVERY);
    if (checkContract(batchContract, batchRequest)) throw new Error('the bench batch breaks the bench contract');
    costs.push(await measure('checkContract, 1 event (parse the body, validate)', 'request', ops, rounds, (i) => checkContract(singleContract, singleRequests[i % 100])));
    const contractBatchCost = await measure('checkContract, batch of 100', 'request', Math.ceil(ops / 100), rounds, () => checkContract(batchContract, batchRequest));
    costs.push(contractBatchCost, { stage: 'checkContract, batch of 100, per event', micros: contractBatchCost.micros / 100, per: 'event' });
    costs.push(
      await measure('delivery machine, derived table (deliveryRuntime "derived"): a run on a reused actor → delivered', 'request', ops, rounds, () => derivedActors.start(new MicroDelivery(1, rules))),
      await measure('delivery machine, XState interpreter (deliveryRuntime "xstate"): a run on a reused actor → delivered', 'request', ops, rounds, () => xstateActors.start(new MicroDelivery(1, rules))),
      // What a delivery allocates before the machine runs: the record itself (its cancel emitter included).
      await measure('a Delivery record (new, not run)', 'request', ops, rounds, () => new MicroDelivery(1, rules)),
    );
    costs.push(await measure('SyncLimiter.run, no limit', 'request', ops, rounds, () => limiter.run(task)));
    await limiter.stop();
    return costs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatStages(costs: StageCost[]): string {
  return costs
    .map((cost) => `  ${cost.micros.toFixed(2).padStart(8)} µs/${cost.per.padEnd(8)} ${cost.bytes === undefined ? ''.padStart(11) : `${Math.round(cost.bytes).toLocaleString('en-US').padStart(9)} B`} ${cost.stage}`)
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, ops: { type: 'string' } } });
  const costs = await measureStages({ rounds: values.rounds ? Number(values.rounds) : undefined, ops: values.ops ? Number(values.ops) : undefined });
  console.log(`daemon hot path, stage by stage (Node ${process.version}, CPU µs best of rounds; bytes allocated a call, fewest of rounds):\n${formatStages(costs)}`);
}
