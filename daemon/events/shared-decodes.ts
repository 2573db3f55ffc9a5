// One stream's decoded events, shared by the syncs that read it (each has its own consumer, so each
// gets every message): the first sync to take a message decodes and validates it, the others reuse
// the outcome, an invalid event's reason included. Only made when two or more syncs read the stream.
import { decodeEvent, type DecodedEvent } from './decode.js';

/** Where a message sits in its stream: its sequence and the time the stream stored it. */
export interface StreamPosition {
  streamSequence: number;
  /** A stream deleted and made again reuses sequences, not store times: an entry must match both. */
  timestampNanos: number;
}

/** Lookups answered from the cache (hits) and decodes it had to make (misses), kept by the daemon across reloads. */
export interface SharedDecodeCounts {
  hits: number;
  misses: number;
}

export interface SharedDecodesOptions {
  /** The syncs reading the stream: an entry is dropped once each of the others has taken it. */
  readers: number;
  /** Bounds whatever the lag between syncs: past either, the oldest entries go (a lagging sync decodes again). */
  maxEntries: number;
  /** Bound on the entries' message bytes (their decoded objects are a few times that). */
  maxBytes: number;
  counts: SharedDecodeCounts;
}

interface Entry {
  storedAt: number;
  bytes: number;
  decoded: DecodedEvent;
  /** Takes by other syncs still expected; at 0 the entry goes. */
  readersLeft: number;
}

export class SharedDecodes {
  /** By stream sequence, oldest first (a Map keeps insertion order). */
  readonly #entries = new Map<number, Entry>();
  #bytes = 0;

  constructor(private readonly options: SharedDecodesOptions) {}

  /**
   * decodeEvent's answer for this message under this sync's `maxBytes`. The size check is the
   * sync's own and comes first; past it the outcome does not depend on the sync, so it is shared.
   * The event is shared too, so it is frozen: nothing downstream writes to it (docs/decisions.md),
   * and should something start to, it fails loudly instead of changing what another sync sends.
   */
  decode(data: Uint8Array, maxBytes: number, at: StreamPosition): DecodedEvent {
    const bytes = data.byteLength;
    if (bytes > maxBytes) return decodeEvent(data, maxBytes);
    const counts = this.options.counts;
    const sequence = at.streamSequence;
    const entry = this.#entries.get(sequence);
    if (entry !== undefined && entry.storedAt === at.timestampNanos && entry.bytes === bytes) {
      counts.hits += 1;
      if (--entry.readersLeft <= 0) this.#remove(sequence, entry);
      return entry.decoded;
    }
    counts.misses += 1;
    const decoded = decodeEvent(data, maxBytes);
    if (decoded.ok) freezeDeep(decoded.event);
    if (entry !== undefined) this.#remove(sequence, entry);
    this.#entries.set(sequence, { storedAt: at.timestampNanos, bytes, decoded, readersLeft: this.options.readers - 1 });
    this.#bytes += bytes;
    this.#evict();
    return decoded;
  }

  /** Entries held now (tests, and the bound's proof). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }

  #remove(sequence: number, entry: Entry): void {
    this.#entries.delete(sequence);
    this.#bytes -= entry.bytes;
  }

  #evict(): void {
    const { maxEntries, maxBytes } = this.options;
    for (const [sequence, entry] of this.#entries) {
      if (this.#entries.size <= maxEntries && this.#bytes <= maxBytes) return;
      this.#remove(sequence, entry);
    }
  }
}

/** Freezes an event and everything in it (its depth is bounded by the decode, so the recursion is). */
function freezeDeep(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Array.isArray(value) ? value : Object.values(value)) freezeDeep(member);
}
