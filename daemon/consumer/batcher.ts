// Groups accepted events into requests: one event per request, or, for a destination that declares
// `batch`, up to maxEvents / maxBytes per request, each event waiting at most maxWaitMs.

export interface BatchLimits {
  maxEvents: number;
  maxBytes?: number;
  maxWaitMs: number;
}

export interface Sized {
  bytes: number;
}

export class Batcher<T extends Sized> {
  private pending: T[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: BatchLimits | undefined,
    private readonly flushTo: (items: T[]) => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(item: T): void {
    const limits = this.limits;
    if (!limits || limits.maxEvents <= 1) return this.flushTo([item]);
    if (limits.maxBytes !== undefined && this.pending.length > 0 && this.pendingBytes + item.bytes > limits.maxBytes) this.flush();
    this.pending.push(item);
    this.pendingBytes += item.bytes;
    if (this.pending.length >= limits.maxEvents || (limits.maxBytes !== undefined && this.pendingBytes >= limits.maxBytes)) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), limits.maxWaitMs);
    }
  }

  /**
   * Adds items that must travel in one request, in this order (one user's run, ordering "user"):
   * what waits goes first when they would not fit beside it. The caller keeps a group within the limits.
   */
  addGroup(items: readonly T[]): void {
    const limits = this.limits;
    if (items.length === 1 || !limits || limits.maxEvents <= 1) {
      for (const item of items) this.add(item);
      return;
    }
    let bytes = 0;
    for (const item of items) bytes += item.bytes;
    if (this.pending.length > 0 && (this.pending.length + items.length > limits.maxEvents || (limits.maxBytes !== undefined && this.pendingBytes + bytes > limits.maxBytes))) this.flush();
    for (const item of items) this.pending.push(item);
    this.pendingBytes += bytes;
    if (this.pending.length >= limits.maxEvents || (limits.maxBytes !== undefined && this.pendingBytes >= limits.maxBytes)) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), limits.maxWaitMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.flushTo(items);
  }

  /** Hands back what waits, without sending it (shutdown: those messages are released). */
  takePending(): T[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return items;
  }
}
