// The one queue of the limit area: a first-in first-out array read from a moving head, so taking
// from the front is O(1) and the array is compacted only once most of it has been taken. Items
// keep an absolute index for their whole life (it does not change when the array is compacted),
// so a caller can find one again later: the sliding windows move a request's record by it.

export class Fifo<T> {
  #items: Array<T | undefined> = [];
  /** Index in #items of the first item still queued. */
  #head = 0;
  /** Absolute index of #items[0]. */
  #base = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Queues `item` at the back; returns its absolute index. */
  push(item: T): number {
    this.#items.push(item);
    return this.#base + this.#items.length - 1;
  }

  /** The item `offset` places behind the front (0: the front), or undefined past the back. */
  peek(offset = 0): T | undefined {
    return this.#items[this.#head + offset];
  }

  /** The item at the back, or undefined when empty. */
  last(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#items.length - 1] : undefined;
  }

  /** The item at absolute index `at`, or undefined once it has left the front. */
  at(at: number): T | undefined {
    const i = at - this.#base;
    return i >= this.#head ? this.#items[i] : undefined;
  }

  /** Takes the item at the front. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      // Empty: start again from a fresh array (absolute indexes go on counting).
      this.#base += this.#head;
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return item;
  }

  /** Takes every queued item, front first; the queue is then empty. */
  takeAll(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#base += this.#items.length;
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
