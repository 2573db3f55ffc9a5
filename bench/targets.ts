// The targets the bench judges, each with what it measured and pass or miss.
import { RATE_LIMIT, type BenchOptions } from './options.js';
import { fmt, pct, type Results, type Target } from './report.js';
import type { Throughput } from './scenarios.js';

/** Issue 14: the daemon against BullMQ doing the same job, broker CPU included on both sides. */
export const PEER_TARGETS = { speed: 1.5, cpu: 0.6 } as const;

type Measured = Pick<Throughput, 'eventsPerSecond' | 'cpuPer1k'>;

/**
 * The daemon over the peer of the same shape: events/s ratio, and CPU per event ratio with each
 * side's broker counted (daemon + nats-server against worker + redis-server), in µs per event.
 * NaN where a CPU figure could not be read.
 */
export function peerComparison(daemon: Measured, peer: Measured) {
  const daemonCpu = (daemon.cpuPer1k.subject + daemon.cpuPer1k.broker) * 1_000;
  const peerCpu = (peer.cpuPer1k.subject + peer.cpuPer1k.broker) * 1_000;
  return { speed: daemon.eventsPerSecond / peer.eventsPerSecond, cpu: daemonCpu / peerCpu, daemonCpu, peerCpu };
}

/** The four targets against the peer: events/s and CPU per event, single and batched. */
export function peerTargets(results: Pick<Results, 'throughput' | 'peer'>): Target[] {
  const list: Target[] = [];
  const shapes = [
    ['single', '1 event/request'],
    ['batched', '100 events/request'],
  ] as const;
  for (const [shape, words] of shapes) {
    const daemon = results.throughput[`daemon ${shape}`];
    const peer = results.throughput[`bullmq ${shape}`];
    const speedTarget = `daemon ≥ ${PEER_TARGETS.speed}× BullMQ's events/s (${words})`;
    const cpuTarget = `CPU/event ≤ ${PEER_TARGETS.cpu}× BullMQ's, broker included (${words})`;
    if (!daemon || !peer) {
      const why = results.peer?.skipped ?? (!peer ? 'BullMQ not run' : 'daemon not run');
      list.push({ target: speedTarget, measured: `not run: ${why}`, pass: undefined }, { target: cpuTarget, measured: `not run: ${why}`, pass: undefined });
      continue;
    }
    const c = peerComparison(daemon, peer);
    list.push({ target: speedTarget, measured: `${fmt(c.speed, 2)}× (${fmt(daemon.eventsPerSecond)} vs ${fmt(peer.eventsPerSecond)} events/s)`, pass: c.speed >= PEER_TARGETS.speed });
    const parts = (t: Throughput, name: string) => `${name} ${fmt(t.cpuPer1k.subject * 1_000, 0)} + ${t.broker} ${fmt(t.cpuPer1k.broker * 1_000, 0)}`;
    list.push({
      target: cpuTarget,
      measured: Number.isFinite(c.cpu)
        ? `${fmt(c.cpu, 2)}× (${parts(daemon, 'daemon')} = ${fmt(c.daemonCpu, 0)} µs; ${parts(peer, 'worker')} = ${fmt(c.peerCpu, 0)} µs)`
        : `not measured: ${results.peer?.redis?.cpuNote ?? 'a CPU figure is missing'}`,
      pass: Number.isFinite(c.cpu) ? c.cpu <= PEER_TARGETS.cpu : undefined,
    });
  }
  return list;
}

/** Every target of the bench with pass or miss (undefined: not run). */
export function targets(results: Results, options: BenchOptions): Target[] {
  const list: Target[] = [];
  const t = results.throughput;
  const ratio = (a: Throughput | undefined, b: Throughput | undefined) => (a && b ? a.eventsPerSecond / b.eventsPerSecond : undefined);
  const cpuNote = (daemon: Throughput | undefined, baseline: Throughput | undefined) =>
    daemon && baseline ? ` (CPU per event: daemon ${fmt(daemon.cpuPer1k.subject * 1_000, 0)} µs, baseline ${fmt(baseline.cpuPer1k.subject * 1_000, 0)} µs → ${pct(baseline.cpuPer1k.subject / daemon.cpuPer1k.subject)})` : '';
  // Issue 14's targets, and the standing goals of issue 5 with how far the daemon is from them.
  const shapes = [
    { shape: 'single', words: '1 event/request', target: 0.7, goal: 0.8 },
    { shape: 'batched', words: '100 events/request', target: 0.75, goal: 0.9 },
  ] as const;
  for (const { shape, words, target, goal } of shapes) {
    const daemon = t[`daemon ${shape}`];
    const baseline = t[`baseline ${shape}`];
    const share = ratio(daemon, baseline);
    const measured = share === undefined ? 'not run' : pct(share) + cpuNote(daemon, baseline);
    list.push({ target: `daemon ≥ ${pct(target)} of the loop's events/s (${words})`, measured, pass: share === undefined ? undefined : share >= target });
    list.push({
      target: `  standing goal ≥ ${pct(goal)} (${words})`,
      measured: share === undefined ? 'not run' : share >= goal ? pct(share) : `${pct(share)}: ${fmt((goal - share) * 100, 0)} points short`,
      pass: share === undefined ? undefined : share >= goal,
    });
  }
  const single = t['daemon single'];
  list.push({
    target: 'daemon RSS < 150 MB under plain throughput (1 event/request)',
    measured: single ? `peak ${fmt(single.peakRssMB, 0)} MB (why: docs/decisions.md, "A lighter per-event path")` : 'not run',
    pass: single ? single.peakRssMB < 150 : undefined,
  });
  const counts = Object.keys(results.fanout).map(Number);
  const most = Math.max(...counts);
  const fan = counts.includes(1) && most > 1 ? ratio(results.fanout[String(most)], results.fanout['1']) : undefined;
  list.push({ target: `${most > 1 ? most : 50} syncs aggregate ≥ 70 % of one sync`, measured: fan === undefined ? 'not run' : pct(fan), pass: fan === undefined ? undefined : fan >= 0.7 });
  const latency = results.latency.daemon;
  list.push({
    target: `p99 latency < 25 ms at ${fmt(options.latencyRate)} events/s`,
    measured: latency ? `p99 ${fmt(latency.p99, 1)} ms (p50 ${fmt(latency.p50, 1)})` : 'not run',
    pass: latency ? latency.p99 < 25 && latency.delivered >= latency.published : undefined,
  });
  const memory = results.memory;
  list.push({
    target: `RSS < 150 MB with ${fmt(memory?.backlog ?? options.memoryEvents)} events backlogged${(memory?.backlog ?? options.memoryEvents) < 1_000_000 ? ' (scaled down)' : ''}`,
    measured: memory ? `peak ${fmt(memory.peakRssMB, 1)} MB` : 'not run',
    pass: memory ? memory.peakRssMB < 150 : undefined,
  });
  const rate = results.rate;
  const perSecondCap = Math.floor(RATE_LIMIT.requests / RATE_LIMIT.periodSeconds);
  list.push({
    target: `limiter never over ${perSecondCap} requests in any second (at the sink)`,
    measured: rate ? `max ${fmt(rate.maxPerSecond)} per whole second (busiest sliding second: ${fmt(rate.maxSlidingSecond)})` : 'not run',
    pass: rate ? rate.maxPerSecond <= perSecondCap : undefined,
  });
  list.push({
    target: `limiter within 1 % of its rate over ${rate && rate.windowSeconds < 60 ? `${rate.windowSeconds} s (a minute when not --quick)` : 'a minute'}`,
    measured: rate ? `mean ${fmt(rate.mean, 1)}/s (${rate.meanErrorPercent >= 0 ? '+' : ''}${fmt(rate.meanErrorPercent, 2)} %)` : 'not run',
    pass: rate ? Math.abs(rate.meanErrorPercent) <= 1 && rate.mean <= rate.limitPerSecond : undefined,
  });
  if (options.only.has('bullmq')) list.push(...peerTargets(results));
  return list;
}
