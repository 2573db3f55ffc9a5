// Choices read from fuzzer bytes, front to back; past the end every choice is the first one, so a
// short input still gives a whole structure. Jazzer.js has its own FuzzedDataProvider, but importing
// @jazzer.js/core loads the native fuzzer, and the targets also run without it (npm test's smoke).

export class ByteReader {
  #at = 0;

  constructor(private readonly data: Uint8Array) {}

  get left(): number {
    return this.data.length - this.#at;
  }

  /** 0 … max-1 (max ≤ 65536). */
  int(max: number): number {
    if (max <= 1) return 0;
    const bytes = max <= 256 ? 1 : 2;
    let value = 0;
    for (let index = 0; index < bytes; index++) value = (value << 8) | (this.data[this.#at++] ?? 0);
    return value % max;
  }

  bool(): boolean {
    return this.int(2) === 1;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A string of up to `max` bytes (UTF-8, so it may hold U+FFFD). */
  string(max: number): string {
    const length = Math.min(this.int(max + 1), this.left);
    const text = Buffer.from(this.data.subarray(this.#at, this.#at + length)).toString('utf8');
    this.#at += length;
    return text;
  }
}
