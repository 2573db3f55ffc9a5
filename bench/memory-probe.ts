// Loaded into the daemon process with `node --import` by the benchmark (never by the daemon itself):
// every 250 ms it reports process.memoryUsage() and event-loop utilisation over the IPC channel the
// benchmark opened with fork(). The admin port does not expose the heap; this does, without
// changing the daemon. The channel and the timer are unref'd, so the probe never keeps the daemon
// alive: the daemon exits on SIGTERM exactly as it would without it.
import { performance } from 'node:perf_hooks';

export interface MemoryReport {
  type: 'bench.memory';
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Event-loop utilisation (0–1) since the previous report. */
  elu: number;
}

if (process.send) {
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
  let previous = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const memory = process.memoryUsage();
    const report: MemoryReport = {
      type: 'bench.memory',
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      elu: performance.eventLoopUtilization(now, previous).utilization,
    };
    previous = now;
    if (process.connected) process.send?.(report);
  }, 250);
  timer.unref();
}
