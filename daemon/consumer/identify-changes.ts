// Change-based identify in a sync's consumer: the async step between accepting an identify and
// batching it. Each user's identifies take turns (the next one reads the memory only after the
// one before it is settled, so it compares with what was really delivered); the memory is read,
// the identify narrowed to what changed or filtered as unchanged; after a 2xx, Outcomes calls
// remember() before it acks.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../log.js';
import type { DeliveryItem } from './delivery-item.js';
import { changedOperations, type UserOperations } from '../events/index.js';
import { userOf, type IdentifyMemory, type MemoryRead } from './identify-memory.js';

/** The reason an identify that changes nothing is filtered with (stats, metrics, status). */
export const UNCHANGED = 'unchanged';

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
  /** The memory could not be read (or the sync stopped meanwhile): back to JetStream; `error` undefined on a stop. */
  handBack(msg: JsMsg, error?: unknown): void;
}

export class IdentifyChanges {
  readonly #turns = new UserTurns();
  readonly #recalls = new WeakMap<DeliveryItem, IdentifyRecall>();
  #stopped = false;

  constructor(private readonly options: IdentifyChangesOptions) {}

  /** Takes an accepted identify (already in hand); it leaves through onward, unchanged or handBack. */
  take(item: DeliveryItem): void {
    // A bug past this point must not become an unhandled rejection (it would end the daemon): the message goes back.
    this.#take(item).catch((error: unknown) => this.options.handBack(item.msg, error));
  }

  async #take(item: DeliveryItem): Promise<void> {
    const { msg, context } = item;
    const user = userOf(context.input);
    const memory = this.options.memory();
    if (user === undefined || memory === undefined) return this.options.onward(item); // the schema requires an id; no bucket: sent whole
    await this.#turns.wait(user, msg);
    if (this.#stopped) return this.options.handBack(msg);
    let base: MemoryRead;
    try {
      base = await memory.read(user);
    } catch (error) {
      return this.options.handBack(msg, error);
    }
    if (this.#stopped) return this.options.handBack(msg);
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
    for (const msg of msgs) this.#turns.done(msg);
  }

  /** Identifies still waiting for their turn or their read go back to JetStream when it comes. */
  stop(): void {
    this.#stopped = true;
  }
}

/** One identify at a time per user, in the order they were taken. */
class UserTurns {
  readonly #queues = new Map<string, Array<{ msg: JsMsg; go: () => void }>>();
  readonly #userOf = new Map<JsMsg, string>();

  wait(user: string, msg: JsMsg): Promise<void> {
    this.#userOf.set(msg, user);
    const queue = this.#queues.get(user);
    if (queue === undefined) {
      this.#queues.set(user, [{ msg, go: () => undefined }]);
      return Promise.resolve();
    }
    return new Promise((go) => queue.push({ msg, go }));
  }

  done(msg: JsMsg): void {
    const user = this.#userOf.get(msg);
    if (user === undefined) return;
    this.#userOf.delete(msg);
    const queue = this.#queues.get(user)!;
    const index = queue.findIndex((turn) => turn.msg === msg);
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(user);
    else if (index === 0) queue[0].go();
  }
}
