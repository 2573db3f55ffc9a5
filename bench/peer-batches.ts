// How the batched BullMQ peer gathers a request's worth of jobs (issue 14): free BullMQ hands out one
// job at a time (batches of jobs are BullMQ Pro), so the worker takes up to `size` jobs that are
// ready, and when fewer are ready it waits for more at most `maxWaitMs` from the batch's first job,
// as the daemon's Batcher and the baseline loop do. Kept apart from the worker process so that the
// grouping can be tested without Redis or a clock.

/** Where the jobs come from (in the worker: getNextJob without and with blocking). */
export interface BatchSource<T> {
  /** Up to `count` items that are ready now; fewer (or none) when fewer are ready. */
  take(count: number): Promise<T[]>;
  /** Waits a while for one item; undefined when none came in that while. */
  waitForOne(): Promise<T | undefined>;
}

export interface GatherOptions {
  size: number;
  maxWaitMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** True once the worker is stopping: the batch goes as it is. */
  stopping: () => boolean;
}

/**
 * One batch: at least one item unless stopping (it waits for the first), at most `size`, closed when
 * full, or when nothing more is ready `maxWaitMs` after its first item came.
 */
export async function gatherBatch<T>(source: BatchSource<T>, options: GatherOptions): Promise<T[]> {
  const batch: T[] = [];
  let firstAt = 0;
  while (batch.length < options.size && !options.stopping()) {
    const wanted = options.size - batch.length;
    const taken = await source.take(wanted);
    if (taken.length > 0 && batch.length === 0) firstAt = options.now();
    batch.push(...taken);
    if (taken.length === wanted) continue;
    // Fewer were ready than wanted: wait for a first item, or let the batch's wait run out.
    if (batch.length === 0) {
      // Nothing is ready: wait (not ask again and again) until something is.
      let first: T | undefined;
      while (first === undefined && !options.stopping()) first = await source.waitForOne();
      if (first === undefined) break;
      firstAt = options.now();
      batch.push(first);
      continue;
    }
    const left = firstAt + options.maxWaitMs - options.now();
    if (left <= 0) break;
    await options.sleep(left);
  }
  return batch;
}
