// The benchmark's destination, run as its own process (child_process.fork) so its CPU is not the
// daemon's: a node:http server on 127.0.0.1 that answers every request with the status it is told
// (200, or 500 for the memory case) and counts what arrives.
//   - events: occurrences of "insert_id" in a body (one per event, batched or not), no JSON.parse;
//   - milestones: tells the parent the moment the event count crosses each threshold it asked for;
//   - latency: reads each "sent_at" (a CLOCK_MONOTONIC millisecond stamp the publisher put in the
//     event; process.hrtime is the same clock in every process) and keeps now − sent_at;
//   - rate: keeps every arrival time, for per-second counts and the busiest sliding second;
//   - failing users (the ordering-failures row): the first request of each event of these users
//     (per URL path, so per sync) is answered 500; latency and counts are kept per URL path, for
//     the other users' events (JSON.parse of each body: one event a request).
// The parent talks to it over the IPC channel: configure, stats, stop.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SinkCommand =
  | { id: number; cmd: 'configure'; status: number; latency?: boolean; latencyFromMs?: number; rate?: boolean; milestones?: number[]; failUsers?: string[] }
  | { id: number; cmd: 'stats'; windowFromMs?: number; windowToMs?: number }
  | { id: number; cmd: 'stop' };

export interface SinkStats {
  requests: number;
  events: number;
  byStatus: Record<string, number>;
  latency?: { count: number; p50: number; p90: number; p99: number; max: number; mean: number };
  rate?: { perSecond: number[]; maxPerSecond: number; maxSlidingSecond: number; inWindow: number; windowSeconds: number; mean: number };
  /** With failUsers: per URL path, the events of the users without failures delivered (2xx) and their latency; the failing users' answers. */
  paths?: Record<string, PathStats>;
}

export interface PathStats {
  /** Events of users without failures answered 200. */
  delivered: number;
  /** When the last of them arrived (CLOCK_MONOTONIC ms). */
  lastAtMs: number;
  /** The failing users' requests: answered 500 (first attempt of an event) and 200 (a retry). */
  failedFirst: number;
  retriedOk: number;
  latency: { count: number; p50: number; p90: number; p99: number; max: number; mean: number };
}

export type SinkMessage =
  | { type: 'ready'; port: number }
  | { type: 'milestone'; events: number; requests: number; atMs: number }
  | { type: 'reply'; id: number; stats?: SinkStats };

const MARK_EVENT = Buffer.from('"insert_id"');
const MARK_SENT_AT = Buffer.from('"sent_at"');
const OK_BODY = '{"ok":true}';
const ERROR_BODY = '{"error":"bench sink answers 500"}';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

let configuredStatus = 200;
let requests = 0;
let events = 0;
let byStatus: Record<string, number> = {};
let milestones: number[] = [];
let recordLatency = false;
let latencyFromMs = 0;
let latencies: Float64Array = new Float64Array(1 << 16);
let latencyCount = 0;
let recordRate = false;
let arrivals: Float64Array = new Float64Array(1 << 16);
let arrivalCount = 0;
let failUsers: Set<string> | undefined;
/** Per URL path: failing users' events already answered 500 once, and the other users' figures. */
let byPath = new Map<string, { failed: Set<string>; delivered: number; lastAtMs: number; failedFirst: number; retriedOk: number; latencies: Float64Array; latencyCount: number }>();

function push(array: Float64Array, count: number, value: number): Float64Array {
  if (count === array.length) {
    const bigger = new Float64Array(array.length * 2);
    bigger.set(array);
    array = bigger;
  }
  array[count] = value;
  return array;
}

function countMarks(body: Buffer, mark: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(mark); at !== -1; at = body.indexOf(mark, at + mark.length)) count++;
  return count;
}

function readLatencies(body: Buffer, now: number): void {
  for (let at = body.indexOf(MARK_SENT_AT); at !== -1; at = body.indexOf(MARK_SENT_AT, at + MARK_SENT_AT.length)) {
    const text = body.toString('latin1', at + MARK_SENT_AT.length, Math.min(body.length, at + MARK_SENT_AT.length + 40));
    const sentAt = Number.parseFloat(text.replace(/^\s*:\s*/, ''));
    if (!Number.isFinite(sentAt) || sentAt < latencyFromMs) continue;
    latencies = push(latencies, latencyCount++, now - sentAt);
  }
}

/** With failUsers: 500 for the first request of a failing user's event (per path); the others' latency per path. */
function answerByUser(path: string, body: Buffer, now: number): number {
  let entry = byPath.get(path);
  if (entry === undefined) {
    entry = { failed: new Set(), delivered: 0, lastAtMs: 0, failedFirst: 0, retriedOk: 0, latencies: new Float64Array(1 << 16), latencyCount: 0 };
    byPath.set(path, entry);
  }
  const event = JSON.parse(body.toString()) as { user?: string; insert_id?: string; properties?: { sent_at?: number } };
  if (failUsers!.has(event.user ?? '')) {
    const id = event.insert_id ?? '';
    if (entry.failed.has(id)) {
      entry.retriedOk++;
      return 200;
    }
    entry.failed.add(id);
    entry.failedFirst++;
    return 500;
  }
  entry.delivered++;
  entry.lastAtMs = now;
  const sentAt = event.properties?.sent_at;
  if (recordLatency && typeof sentAt === 'number' && sentAt >= latencyFromMs) entry.latencies = push(entry.latencies, entry.latencyCount++, now - sentAt);
  return 200;
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const now = nowMs();
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    requests++;
    const status = failUsers === undefined ? configuredStatus : answerByUser((request.url ?? '/').split('/')[1] ?? '', body, now);
    events += countMarks(body, MARK_EVENT);
    if (recordLatency && failUsers === undefined) readLatencies(body, now);
    if (recordRate) arrivals = push(arrivals, arrivalCount++, now);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    while (milestones.length > 0 && events >= milestones[0]) {
      milestones.shift();
      process.send?.({ type: 'milestone', events, requests, atMs: now } satisfies SinkMessage);
    }
    const text = status === 200 ? OK_BODY : ERROR_BODY;
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  });
});
// Keep connections for the whole run: a reconnect is not what is being measured.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function latencyStats(values = latencies, count = latencyCount): NonNullable<SinkStats['latency']> {
  const sorted = values.slice(0, count).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return { count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, mean: sum / sorted.length };
}

/** Per whole second of the window (from its start), the busiest sliding second, and the mean. */
function rateStats(fromMs: number, toMs: number): SinkStats['rate'] {
  const times = arrivals.subarray(0, arrivalCount);
  const seconds = Math.floor((toMs - fromMs) / 1_000);
  const perSecond = new Array<number>(seconds).fill(0);
  let inWindow = 0;
  let maxSliding = 0;
  let tail = 0;
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    if (t < fromMs || t >= fromMs + seconds * 1_000) continue;
    inWindow++;
    perSecond[Math.floor((t - fromMs) / 1_000)]++;
    while (times[tail] <= t - 1_000 || times[tail] < fromMs) tail++;
    maxSliding = Math.max(maxSliding, i - tail + 1);
  }
  return { perSecond, maxPerSecond: Math.max(0, ...perSecond), maxSlidingSecond: maxSliding, inWindow, windowSeconds: seconds, mean: seconds > 0 ? inWindow / seconds : NaN };
}

process.on('message', (message: SinkCommand) => {
  switch (message.cmd) {
    case 'configure':
      configuredStatus = message.status;
      failUsers = message.failUsers && new Set(message.failUsers);
      byPath = new Map();
      requests = 0;
      events = 0;
      byStatus = {};
      milestones = [...(message.milestones ?? [])].sort((a, b) => a - b);
      recordLatency = message.latency ?? false;
      latencyFromMs = message.latencyFromMs ?? 0;
      latencyCount = 0;
      recordRate = message.rate ?? false;
      arrivalCount = 0;
      process.send?.({ type: 'reply', id: message.id } satisfies SinkMessage);
      break;
    case 'stats': {
      const stats: SinkStats = { requests, events, byStatus: { ...byStatus } };
      if (recordLatency) stats.latency = latencyStats();
      if (recordRate) stats.rate = rateStats(message.windowFromMs ?? 0, message.windowToMs ?? nowMs());
      if (failUsers !== undefined) {
        stats.paths = {};
        for (const [path, entry] of byPath) {
          stats.paths[path] = { delivered: entry.delivered, lastAtMs: entry.lastAtMs, failedFirst: entry.failedFirst, retriedOk: entry.retriedOk, latency: latencyStats(entry.latencies, entry.latencyCount) };
        }
      }
      process.send?.({ type: 'reply', id: message.id, stats } satisfies SinkMessage);
      break;
    }
    case 'stop':
      server.closeAllConnections();
      server.close(() => process.exit(0));
      break;
  }
});
// The parent going away ends the sink too.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port } satisfies SinkMessage);
});
