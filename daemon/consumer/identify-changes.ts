// Change-based identify in a sync's consumer: the async step between accepting an identify and
// batching it. Each user's identifies take turns (the next one reads the memory only after the
// one before it is settled, so it compares with what was really delivered); the memory is read,
// the identify narrowed to what changed or filtered as unchanged; after a 2xx, Outcomes calls
// remember() before it acks.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../log.js';
import { FILTER_REASONS } from '../reasons.js';
import type { DeliveryItem } from './delivery-item.js';
import { changedOperations, type UserOperations } from '../events/index.js';
import { userOf, type IdentifyMemory, type MemoryRead } from './identify-memory.js';
import { UserBarrier } from './user-barrier.js';

/** The reason an identify that changes nothing is filtered with (stats, metrics, status). */
export const UNCHANGED = FILTER_REASONS.unchanged;

/** What an identify read from the memory, carried by its delivery item to remember() after a 2xx. */
export interface IdentifyRecall {
  user: string;
  base: MemoryRead;
  sent: UserOperations;
}

export interface IdentifyChangesOptions {
  /** Set once the bucket is open (the runner's start). */
  memory: () => IdentifyMemory | undefined;
  log: Logger;
  /** The identify, narrowed, goes on to its batcher. */
  onward(item: DeliveryItem): void;
  /** Nothing changed: acked and counted as filtered "unchanged". */
  unchanged(msg: JsMsg): void;
  /** The sync stopped before the identify was compared: back to JetStream, unsent. */
  released(msg: JsMsg): void;
  /** The memory could not be read (or comparing threw): back to JetStream, to be compared again later. */
  unread(msg: JsMsg, error: unknown): void;
}

export class IdentifyChanges {
  /** One identify at a time per user, in stream order. */
  readonly #turns = new UserBarrier<DeliveryItem>({ onward: ([item]) => this.#compare(item) });
  readonly #recalls = new WeakMap<DeliveryItem, IdentifyRecall>();
  #stopped = false;

  constructor(private readonly options: IdentifyChangesOptions) {}

  /** Takes an accepted identify (already in hand); it leaves through onward, unchanged, released or unread. */
  take(item: DeliveryItem): void {
    const user = userOf(item.context.input);
    if (user === undefined || this.options.memory() === undefined) return this.options.onward(item); // the schema requires an id; no bucket: sent whole
    if (this.#stopped) return this.options.released(item.msg);
    this.#turns.take(user, item);
  }

  /** Its turn: compares with the memory. */
  #compare(item: DeliveryItem): void {
    // A bug past this point must not become an unhandled rejection (it would end the daemon): the message goes back.
    this.#read(item).catch((error: unknown) => this.options.unread(item.msg, error));
  }

  async #read(item: DeliveryItem): Promise<void> {
    const { msg, context } = item;
    const user = userOf(context.input)!;
    const memory = this.options.memory()!;
    let base: MemoryRead;
    try {
      base = await memory.read(user);
    } catch (error) {
      return this.options.unread(msg, error);
    }
    if (this.#stopped) return this.options.released(msg);
    const changed = changedOperations(base.memory, context.input.user_properties);
    if (changed === undefined) return this.options.unchanged(msg);
    // Only input.user_properties is narrowed: mappedFields and mappedProperties (identifiers,
    // selected properties) were read from the whole identify and stay.
    const narrowed: DeliveryItem = { ...item, context: { ...context, input: { ...context.input, user_properties: changed } } };
    this.#recalls.set(narrowed, { user, base, sent: changed });
    this.options.onward(narrowed);
  }

  /**
   * After a 2xx: records what each item sent. Returns the items whose memory could not be written
   * (they go back to JetStream, so the memory catches up when they are delivered again).
   */
  async remember(items: readonly DeliveryItem[]): Promise<DeliveryItem[]> {
    const memory = this.options.memory();
    const failed: DeliveryItem[] = [];
    await Promise.all(
      items.map(async (item) => {
        const recall = this.#recalls.get(item);
        if (recall === undefined || memory === undefined) return;
        try {
          await memory.remember(recall.user, recall.base, recall.sent);
        } catch (error) {
          this.options.log.warn('cannot remember a delivered identify; it goes back to the stream to be sent again', { error });
          failed.push(item);
        }
      }),
    );
    return failed;
  }

  /** These messages are settled (or handed back): the next identify of each user may go. */
  done(msgs: readonly JsMsg[]): void {
    this.#turns.done(msgs);
  }

  /** Identifies waiting for their turn go back to JetStream at once; one reading the memory, when its read ends. */
  stop(): void {
    this.#stopped = true;
    for (const item of this.#turns.stop()) this.options.released(item.msg);
  }
}
