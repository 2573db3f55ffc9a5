// One sync's life: the intake takes messages from its durable consumer, the runner decides what
// each one is (not ours, invalid, filtered, or an event to deliver), batches events into requests,
// and runs a delivery machine per request; Outcomes settles the messages. Its parts are made and
// joined in sync-wiring.ts.
import type { ConsumerInfo, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import type { CircuitBreaker, CircuitListener, CircuitOpening, CircuitState, DeliveryActors } from '../delivery/index.js';
import { DEFAULT_ABORTED_SETTLE_MS } from '../defaults.js';
import { decodeEvent, type SharedDecodes } from '../events/index.js';
import type { Logger } from '../log.js';
import type { LimiterState, SyncLimiter } from '../limit/index.js';
import { requestKindOf, type LoadedSync, type RequestKind } from '../registry/index.js';
import { buildEventContext, EventContextError, type EventContext } from '../render/index.js';
import type { SyncStats } from '../telemetry/index.js';
import type { Batcher } from './batcher.js';
import type { DeliveryItem } from './delivery-item.js';
import type { FailureLog } from './failure-log.js';
import type { Handovers, PendingEvent } from './handover.js';
import type { IdentifyChanges } from './identify-changes.js';
import { IdentifyMemory, userOf } from './identify-memory.js';
import type { Intake, ParkedAt } from './intake.js';
import type { Outcomes } from './outcomes.js';
import { replayTarget } from './replay-target.js';
import { wireSync, type HeldMessages, type RunnerServices } from './sync-wiring.js';
import type { UserBarrier } from './user-barrier.js';

/** Set by `dead replay` for daemons older than replay subjects; ignored (a publisher could set it too). */
export const REPLAY_SYNC_HEADER = 'Destinations-Replay-Sync';

export type { RunnerServices } from './sync-wiring.js';

/** Durable consumer names allow letters, digits, - and _. */
export function consumerName(sync: LoadedSync): string {
  return `${sync.destination.slug}__${sync.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class SyncRunner {
  readonly stats: SyncStats;
  readonly consumerName: string;
  readonly #limiter: SyncLimiter;
  readonly #intake: Intake;
  readonly #outcomes: Outcomes;
  readonly #actors: DeliveryActors;
  readonly #batchers: Record<RequestKind, Batcher<DeliveryItem>>;
  readonly #maxEventBytes: number;
  readonly #failures: FailureLog;
  readonly #breaker: CircuitBreaker;
  readonly #streamName: string;
  readonly #log: Logger;
  /** identifyForwarding "changes": the step between accepting an identify and batching it. */
  readonly #identifyChanges: IdentifyChanges | undefined;
  readonly #identifyMemory: { current: IdentifyMemory | undefined };
  /** ordering "user": each user's events go in stream order, a user's later events held behind its earlier ones. */
  readonly #ordering: UserBarrier<DeliveryItem> | undefined;
  /** What settling tells the steps that hold messages (sync-wiring.ts). */
  readonly #held: HeldMessages;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #settings: DaemonSettings;
  #decodes: SharedDecodes | undefined;
  /** ordering "user": the daemon's end of the handover between the sync's readers, and this runner's name in it. */
  readonly #handovers: Handovers | undefined;
  readonly #handoverId: string | undefined;
  /** The users of what the stop hands back, by stream sequence (for the "handed back" notice). */
  readonly #handoverUsers = new Map<number, string>();
  #stopping: Promise<void> | undefined;
  /** The last stream sequence countAgedOut has accounted for. */
  #agedOutUpTo: number | undefined;

  /** The runner's reactions to its circuit breaker: they act on every part, so the breaker (made first) is given them. */
  readonly #circuit: CircuitListener = {
    opened: (details) => void this.#holdOff(details),
    halfOpened: () => {
      this.#log.info('circuit half-open: probing the destination with one request');
      void this.#intake.unpause();
    },
    closed: (openForMs) => {
      this.#log.info('circuit closed: the destination answers again; the sync takes messages at its paced rate', { openForMs });
      this.#limiter.rampUp();
      this.#intake.wake();
    },
  };

  constructor(
    readonly sync: LoadedSync,
    services: RunnerServices,
  ) {
    this.consumerName = consumerName(sync);
    const parts = wireSync(sync, services, this.consumerName, this.#circuit);
    this.stats = parts.stats;
    this.#log = parts.log;
    this.#limiter = parts.limiter;
    this.#failures = parts.failures;
    this.#breaker = parts.breaker;
    this.#held = parts.held;
    this.#outcomes = parts.outcomes;
    this.#actors = parts.actors;
    this.#batchers = parts.batchers;
    this.#identifyChanges = parts.changes;
    this.#identifyMemory = parts.identifyMemory;
    this.#ordering = parts.ordering;
    this.#intake = parts.intake;
    this.#maxEventBytes = parts.maxEventBytes;
    this.#js = services.js;
    this.#jsm = services.jsm;
    this.#settings = services.settings;
    this.#streamName = services.settings.stream.name;
    this.#decodes = services.decodes;
    this.#handovers = this.#ordering && services.handovers;
    this.#handoverId = this.#handovers?.runnerId();
  }

  /**
   * Creates (or updates) the durable consumer and starts pulling. `streamJustMade`: the daemon made
   * the events stream in this same start, so a consumer made now starts at its first message.
   */
  async start(streamJustMade = false): Promise<void> {
    if (this.#identifyChanges) this.#identifyMemory.current = await IdentifyMemory.open(this.#js, this.#settings, this.consumerName);
    // Before the first message: what another reader of the sync still has pending holds its users' later events.
    if (this.#ordering) this.#handovers?.register(this.consumerName, this.#ordering);
    await this.#intake.start(
      {
        take: (msg) => this.#accept(msg),
        untaken: (msg) => this.#outcomes.nakReleased([msg]),
        threw: (msg, error) => this.#outcomes.nakSpentAfterBug(msg, error),
      },
      streamJustMade,
    );
    this.#log.info('sync consuming', { consumer: this.consumerName });
  }

  /**
   * NATS may have lost the consumer or the identify memory (the daemon has just checked the stream,
   * `streamReplaced` when it is not the one this sync read): makes again what is gone; returns what it made.
   */
  async repair(streamReplaced: boolean): Promise<string[]> {
    const made: string[] = [];
    if (streamReplaced) this.#outcomes.forgetDelivered();
    const consumer = await this.#intake.repair(streamReplaced);
    if (consumer !== 'kept') made.push(`consumer ${this.consumerName} (${consumer === 'made' ? 'made again' : 'bound again'})`);
    if (this.#identifyChanges && (await IdentifyMemory.missing(this.#jsm, this.#settings))) {
      this.#identifyMemory.current = await IdentifyMemory.open(this.#js, this.#settings, this.consumerName);
      made.push(`identify memory ${this.#settings.stream.identifyMemoryBucket}`);
    }
    return made;
  }

  /** Decides what one message is: not ours, invalid, filtered, or an event to deliver. */
  #accept(msg: JsMsg): void {
    this.stats.received += 1;
    // Delivered already, its ack too late or lost: not sent again after its user's later events.
    if (this.#outcomes.ackIfDelivered(msg)) return this.#log.debug('a copy of a delivered message acked, not sent again', { sequence: msg.info.streamSequence });
    // A replay aimed at another sync: not ours, counted as filtered. Headers aim nothing (replay-target.ts).
    if (!replayTarget(msg.subject, this.#streamName, this.sync.id)) {
      this.stats.filtered += 1;
      return this.#outcomes.ackFiltered(msg);
    }
    const decoded = this.#decodes === undefined ? decodeEvent(msg.data, this.#maxEventBytes) : this.#decodes.decode(msg.data, this.#maxEventBytes, msg.info);
    if (!decoded.ok) {
      this.#intake.hold(msg);
      void this.#outcomes.termDeadLettered(msg, { reason: decoded.reason, message: decoded.message, attempts: msg.info.deliveryCount });
      return;
    }
    const event = decoded.event;
    const kind = requestKindOf(event);
    const wanted = kind === 'identify' ? this.sync.identifyForwarding && this.sync.destination.identify !== undefined : this.sync.filter(event);
    if (!wanted) {
      this.stats.filtered += 1;
      return this.#outcomes.ackFiltered(msg);
    }
    let context: EventContext;
    try {
      context = buildEventContext(event, this.sync.selection);
    } catch (error) {
      if (!(error instanceof EventContextError)) throw error;
      this.#intake.hold(msg);
      void this.#outcomes.termDeadLettered(msg, { reason: error.code, message: error.message, attempts: msg.info.deliveryCount, events: [event] });
      return;
    }
    this.#intake.hold(msg);
    const item = { msg, context, bytes: decoded.bytes };
    if (this.#ordering) return this.#ordering.take(userOf(event), item);
    if (kind === 'identify' && this.#identifyChanges) return this.#identifyChanges.take(item);
    this.#batchers[kind].add(item);
  }

  /**
   * The circuit opened: the sync stops taking messages and stops spending attempts. What is not on
   * the wire goes back to the stream at once, costing no attempt (the client's buffer, unsent
   * batches, requests queued in the limiter, requests waiting for a retry); requests on the wire
   * that fail go back the same way when they answer (SyncDelivery).
   */
  async #holdOff(details: CircuitOpening): Promise<void> {
    if (details.reopened) this.#log.info('circuit open again: the probe failed', { probeInMs: details.probeInMs });
    else this.#log.warn('circuit open: the destination keeps failing, so the sync takes no messages and its events wait in the stream', { ...details });
    // Held events first: what the others' release settles must not let them go on.
    this.#releaseHeld();
    this.#limiter.rejectQueued();
    this.#actors.abortWaiting();
    this.#releaseBatches();
    await this.#intake.pause();
  }

  /** Events held behind their users' earlier ones go back to the stream unsent (owed: the order holds when they return). */
  #releaseHeld(stop = false): void {
    const ordering = this.#ordering;
    if (ordering === undefined) return;
    const msgs = (stop ? ordering.stop() : ordering.takeHeld()).map((item) => item.msg);
    this.#outcomes.nakReleased(msgs);
    this.#held.letGo(msgs);
  }

  /** Events waiting for their batch to fill go back to the stream unsent. */
  #releaseBatches(): void {
    for (const batcher of Object.values(this.#batchers)) {
      const msgs = batcher.takePending().map((item) => item.msg);
      this.#outcomes.nakReleased(msgs);
      this.#held.letGo(msgs);
    }
  }

  /** The circuit breaker's state, and since when (epoch ms). */
  get circuit(): { state: CircuitState; since: number; openedAt?: number; openTooLong: boolean } {
    const breaker = this.#breaker;
    return { state: breaker.state, since: breaker.since, openedAt: breaker.openedAt, openTooLong: breaker.openTooLong() };
  }

  /** The decoded events this sync shares with the others on the stream, from now on (a reload changed who reads it). */
  shareDecodes(decodes: SharedDecodes | undefined): void {
    this.#decodes = decodes;
  }

  /** This daemon's share of the sync's rate limit (several daemons run it). */
  shareRate(share: number): void {
    this.#limiter.share(share);
  }

  /** Which cap holds the consumer back, if any. */
  get parkedAt(): ParkedAt | undefined {
    return this.#intake.parkedAt;
  }

  /** Since when its dead letters cannot be written (the DEAD stream refuses them), if they cannot. */
  get deadLettersFailingSince(): Date | undefined {
    return this.#outcomes.deadLettersFailingSince;
  }

  get limiterState(): LimiterState {
    return this.#limiter.state();
  }

  /** Messages taken and not yet settled. */
  get pendingMessages(): number {
    return this.#intake.inHand;
  }

  /**
   * Stops taking messages and lets go of whatever was taken but not sent: the client's buffer,
   * unsent batches, requests queued in the limiter (a pause included) and requests waiting for an
   * in-process retry. They go back to the stream at the drain's end with no delay, all in stream
   * order (what a stop hands back reaches the next reader in order). Requests on the wire go on.
   */
  stopPulling(): Promise<void> {
    this.#stopping ??= this.#stopPulling();
    return this.#stopping;
  }

  async #stopPulling(): Promise<void> {
    // Nothing goes back before the drain's end, then all of it in stream order (Outcomes.handBack).
    this.#outcomes.holdNaks();
    await this.#intake.stop();
    // Before the held events are let go: the barrier still knows their users.
    this.#announceStopping();
    this.#releaseHeld(true);
    this.#identifyChanges?.stop();
    this.#releaseBatches();
    // Queued requests are rejected (their deliveries end released: nak), running ones finish.
    void this.#limiter.stop();
    this.#actors.abortWaiting();
  }

  /** Hands back what was not sent, waits up to `timeoutMs` for the requests on the wire, then releases the rest. */
  async drain(timeoutMs: number): Promise<void> {
    await this.stopPulling();
    await this.#intake.whenEmpty(timeoutMs);
    this.#actors.abortAll();
    // The aborted requests settle (released) before what the stop hands back goes back, in order.
    await this.#intake.whenEmpty(DEFAULT_ABORTED_SETTLE_MS);
    this.#outcomes.flushAcks();
    this.#announceHandedBack(this.#outcomes.handBack());
    await this.#limiter.stop();
    this.#intake.close();
    this.#outcomes.stopLogging();
    this.#failures.stop();
    this.#breaker.stop();
  }

  /** The durable consumer as the server sees it (num_pending is the sync's lag). */
  consumerInfo(): Promise<ConsumerInfo> {
    return this.#intake.consumerInfo();
  }

  /**
   * At a scrape: what the stream dropped (max_age, max_bytes, max_msgs) before this sync settled it.
   * Two kinds, disjoint: never delivered to the consumer (between its delivered sequence and the
   * stream's first; nats-server moves the consumer past them at its next pull, so only a scrape
   * before that sees them: a sync held off by its circuit breaker, or not pulling), and handed back
   * for a retry and awaited (nats-server drops them from the consumer's pending set and moves its
   * ack floor: checked on 2.9.10). Logged and counted; they cannot be dead-lettered (the event is gone).
   */
  countAgedOut(consumer: ConsumerInfo, firstSeq: number): void {
    const delivered = consumer.delivered.stream_seq;
    const from = Math.max(this.#agedOutUpTo ?? delivered, delivered);
    const neverDelivered = Math.max(0, firstSeq - 1 - from);
    this.#agedOutUpTo = Math.max(from, firstSeq - 1);
    const awaited = this.#intake.droppedWhileAwaited(firstSeq);
    if (neverDelivered + awaited === 0) return;
    this.stats.agedOut += neverDelivered + awaited;
    this.#log.error('events left the stream before the sync settled them (its max_age or size limits); they are lost', { neverDelivered, waitingForRetry: awaited, firstSequence: firstSeq });
  }

  /**
   * ordering "user": tells the sync's other readers every event this runner still has (in flight,
   * held, handed back from the client's buffer, or gone back with a delay), so that none of them
   * sends those users' later events first (handover.ts).
   */
  #announceStopping(): void {
    const ordering = this.#ordering;
    const handovers = this.#handovers;
    if (ordering === undefined || handovers === undefined) return;
    handovers.unregister(this.consumerName, ordering);
    const events: PendingEvent[] = ordering.pending();
    for (const [user, sequence] of events) this.#handoverUsers.set(sequence, user);
    for (const msg of this.#outcomes.handingBack) {
      const sequence = msg.info.streamSequence;
      if (this.#handoverUsers.has(sequence)) continue;
      const user = ordering.userOf(msg) ?? this.#userOfMessage(msg);
      if (user === undefined) continue;
      this.#handoverUsers.set(sequence, user);
      events.push([user, sequence]);
    }
    handovers.announce({ from: this.#handoverId!, consumer: this.consumerName, phase: 'stopping', dueInMs: this.#settings.drainTimeoutMs + DEFAULT_ABORTED_SETTLE_MS, events });
  }

  /** The drain's end: what went back now (the rest announced was settled here, or waits out its own delay). */
  #announceHandedBack(msgs: readonly JsMsg[]): void {
    const handovers = this.#handovers;
    if (handovers === undefined || this.#handoverUsers.size === 0) return;
    const events: PendingEvent[] = [];
    for (const msg of msgs) {
      const sequence = msg.info.streamSequence;
      const user = this.#handoverUsers.get(sequence) ?? this.#userOfMessage(msg);
      if (user !== undefined) events.push([user, sequence]);
    }
    handovers.announce({ from: this.#handoverId!, consumer: this.consumerName, phase: 'handed back', events });
  }

  /** The user of a message the barrier never saw (the client's buffer at the stop): read from the event. */
  #userOfMessage(msg: JsMsg): string | undefined {
    const decoded = decodeEvent(msg.data, this.#maxEventBytes);
    return decoded.ok ? userOf(decoded.event) : undefined;
  }
}
