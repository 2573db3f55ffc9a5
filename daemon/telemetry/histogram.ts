// A Prometheus histogram held as plain numbers: observing is a short scan and two additions, no
// allocation, so the per-event path can afford it.

export class Histogram {
  /** Upper bounds, ascending; the +Inf bucket is implicit. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i] > bounds[i - 1])) throw new RangeError('histogram bounds must ascend');
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i] += 1;
    this.sum += value;
    this.count += 1;
  }

  /** Cumulative counts per bound, +Inf last: what the exposition format prints. */
  cumulative(): Array<[le: number, count: number]> {
    let running = 0;
    const result: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) {
      running += this.counts[i];
      result.push([i < this.bounds.length ? this.bounds[i] : Infinity, running]);
    }
    return result;
  }
}
