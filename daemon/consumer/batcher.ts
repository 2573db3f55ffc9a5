// Groups accepted events into requests: one event per request, or, for a destination that declares
// `batch`, up to maxEvents / maxBytes per request, each event waiting at most maxWaitMs. With a
// batch key (`batch.key`, GA4's client_id: one client per request) events of different keys never
// share a request: each key fills and times out on its own, within the same limits.

export interface BatchLimits {
  maxEvents: number;
  maxBytes?: number;
  maxWaitMs: number;
}

export interface Sized {
  bytes: number;
}

/**
 * An item's batch key: items of one key share requests. `undefined` when it has none it can give
 * (its key did not render): it travels alone.
 */
export type BatchKeyOf<T> = (item: T) => string | undefined;

/** What waits for one key's request. */
interface Pending<T> {
  items: T[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

/** Without a batch key, every item is of this one key. */
const ONE_KEY = '';

export class Batcher<T extends Sized> {
  /** By key, in the order each key's first waiting item came; bounded by what the sync has in hand. */
  readonly #pending = new Map<string, Pending<T>>();
  #size = 0;

  constructor(
    private readonly limits: BatchLimits | undefined,
    private readonly flushTo: (items: T[]) => void,
    private readonly keyOf?: BatchKeyOf<T>,
  ) {}

  /** Items waiting, all keys together. */
  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    const limits = this.limits;
    if (!limits || limits.maxEvents <= 1) return this.flushTo([item]);
    const key = this.keyOf ? this.keyOf(item) : ONE_KEY;
    if (key === undefined) return this.flushTo([item]);
    let pending = this.#pending.get(key);
    if (pending && limits.maxBytes !== undefined && pending.items.length > 0 && pending.bytes + item.bytes > limits.maxBytes) {
      this.#flushKey(key);
      pending = undefined;
    }
    pending ??= this.#open(key);
    pending.items.push(item);
    pending.bytes += item.bytes;
    this.#size += 1;
    this.#sendIfFull(key, pending, limits);
  }

  /**
   * Adds items that must travel in one request, in this order (one user's run, ordering "user"):
   * what waits goes first when they would not fit beside it. The caller keeps a group within the
   * limits and of one key (the user barrier's `joins` asks the key too).
   */
  addGroup(items: readonly T[]): void {
    const limits = this.limits;
    if (items.length === 1 || !limits || limits.maxEvents <= 1) {
      for (const item of items) this.add(item);
      return;
    }
    const key = this.keyOf ? this.keyOf(items[0]) : ONE_KEY;
    if (key === undefined) return this.flushTo([...items]);
    let bytes = 0;
    for (const item of items) bytes += item.bytes;
    let pending = this.#pending.get(key);
    if (pending && (pending.items.length + items.length > limits.maxEvents || (limits.maxBytes !== undefined && pending.bytes + bytes > limits.maxBytes))) {
      this.#flushKey(key);
      pending = undefined;
    }
    pending ??= this.#open(key);
    for (const item of items) pending.items.push(item);
    pending.bytes += bytes;
    this.#size += items.length;
    this.#sendIfFull(key, pending, limits);
  }

  /** Sends everything that waits, one request per key. */
  flush(): void {
    for (const key of [...this.#pending.keys()]) this.#flushKey(key);
  }

  /** Hands back what waits, without sending it (shutdown: those messages are released). */
  takePending(): T[] {
    const items: T[] = [];
    for (const pending of this.#pending.values()) {
      if (pending.timer) clearTimeout(pending.timer);
      for (const item of pending.items) items.push(item);
    }
    this.#pending.clear();
    this.#size = 0;
    return items;
  }

  #open(key: string): Pending<T> {
    const pending: Pending<T> = { items: [], bytes: 0, timer: undefined };
    this.#pending.set(key, pending);
    return pending;
  }

  #sendIfFull(key: string, pending: Pending<T>, limits: BatchLimits): void {
    if (pending.items.length >= limits.maxEvents || (limits.maxBytes !== undefined && pending.bytes >= limits.maxBytes)) this.#flushKey(key);
    else pending.timer ??= setTimeout(() => this.#flushKey(key), limits.maxWaitMs);
  }

  #flushKey(key: string): void {
    const pending = this.#pending.get(key);
    if (!pending) return;
    if (pending.timer) clearTimeout(pending.timer);
    this.#pending.delete(key);
    this.#size -= pending.items.length;
    if (pending.items.length > 0) this.flushTo(pending.items);
  }
}
