// Reading the DEAD stream for the console, newest first, through the daemon's own NATS connection:
// one direct get per sequence (STREAM.MSG.GET), so no consumer is made and nothing is acked or
// deleted. Bounded: a page looks at a fixed number of sequences (replayed letters leave gaps).
import type { JetStreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from './dead-letter.js';
import { DEFAULT_DEAD_LETTER_PAGE, DEFAULT_DEAD_LETTER_SCAN } from '../defaults.js';

export interface StoredLetter {
  seq: number;
  /** Where it is stored (dead.<destination>.<sync>): what the sync is, whatever the letter says. */
  subject: string;
  letter: DeadLetter | undefined;
  /** Set when the stored bytes are not a JSON dead letter. */
  unreadable?: string;
}

export interface DeadLetterPage {
  letters: StoredLetter[];
  /** Pass as `before` for the next (older) page; absent at the start of the stream. */
  next?: number;
  /** Letters in the stream now. */
  total: number;
}

export class DeadLetterReader {
  constructor(
    private readonly jsm: () => JetStreamManager | undefined,
    private readonly stream: string,
  ) {}

  /**
   * Newest first, from just below `before` (or the newest). Looks at most 2 × limit sequences, or
   * DEFAULT_DEAD_LETTER_SCAN when `where` filters them (by sync, by reason): a page may then hold
   * fewer letters than `limit` and still have a `next`, so paging with `next` reaches the start of
   * the stream whatever the filter, each page in bounded time.
   */
  async page(options: { before?: number; limit?: number; where?: (stored: StoredLetter) => boolean } = {}): Promise<DeadLetterPage> {
    const jsm = this.#jsm();
    const limit = Math.min(Math.max(options.limit ?? DEFAULT_DEAD_LETTER_PAGE, 1), DEFAULT_DEAD_LETTER_PAGE);
    const { state } = await jsm.streams.info(this.stream);
    const letters: StoredLetter[] = [];
    let seq = Math.min(state.last_seq, (options.before ?? Infinity) - 1);
    const lookAt = options.where ? DEFAULT_DEAD_LETTER_SCAN : 2 * limit;
    const lowest = Math.max(state.first_seq, seq - lookAt + 1);
    for (; seq >= lowest && seq >= 1 && letters.length < limit; seq--) {
      const stored = await this.#get(jsm, seq);
      if (stored && (!options.where || options.where(stored))) letters.push(stored);
    }
    return { letters, next: seq >= state.first_seq && seq >= 1 ? seq + 1 : undefined, total: state.messages };
  }

  /** One letter by its sequence, or undefined when the stream no longer holds it. */
  async get(seq: number): Promise<StoredLetter | undefined> {
    return this.#get(this.#jsm(), seq);
  }

  async #get(jsm: JetStreamManager, seq: number): Promise<StoredLetter | undefined> {
    const stored = await jsm.streams.getMessage(this.stream, { seq });
    if (!stored) return undefined;
    try {
      return { seq, subject: stored.subject, letter: stored.json<DeadLetter>() };
    } catch (error) {
      return { seq, subject: stored.subject, letter: undefined, unreadable: (error as Error).message };
    }
  }

  #jsm(): JetStreamManager {
    const jsm = this.jsm();
    if (!jsm) throw new Error('not connected to NATS yet');
    return jsm;
  }
}
