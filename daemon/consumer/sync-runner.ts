// One sync's life: the intake takes messages from its durable consumer, the runner decides what
// each one is (not ours, invalid, filtered, or an event to deliver), batches events into requests,
// and runs a delivery machine per request; Outcomes settles the messages.
import type { ConsumerInfo, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_IDLE_DELIVERY_ACTORS, DEFAULT_MAX_IN_PROCESS_RETRIES, DEFAULT_MULTI_STATUS_BODY_BYTES } from '../defaults.js';
import { CircuitBreaker, DeliveryActors, resolveCircuitBreaker, resolveRetryPolicy, type CircuitState, type DeliveryRules } from '../delivery/index.js';
import { decodeEvent, type SharedDecodes } from '../events/index.js';
import type { Logger } from '../log.js';
import { SyncLimiter, type LimiterState } from '../limit/index.js';
import { requestKindOf, type LoadedSync, type RequestKind } from '../registry/index.js';
import { buildEventContext, EventContextError, type EventContext } from '../render/index.js';
import type { HttpSender } from '../send/index.js';
import { SyncStats, SyncTracer, type DeliveryTrace } from '../telemetry/index.js';
import { Batcher } from './batcher.js';
import { InFlightGate } from './in-flight-gate.js';
import { FailureLog } from './failure-log.js';
import { IdentifyChanges, UNCHANGED } from './identify-changes.js';
import { IdentifyMemory, userOf } from './identify-memory.js';
import { Intake, type MessagesInHand, type ParkedAt } from './intake.js';
import { Outcomes } from './outcomes.js';
import { replayTarget } from './replay-target.js';
import type { DeliveryItem } from './delivery-item.js';
import { SyncDelivery } from './sync-delivery.js';
import { UserBarrier } from './user-barrier.js';

/** Set by `dead replay` for daemons older than replay subjects; ignored (a publisher could set it too). */
export const REPLAY_SYNC_HEADER = 'Destinations-Replay-Sync';

export interface RunnerServices {
  js: JetStreamClient;
  jsm: JetStreamManager;
  settings: DaemonSettings;
  sender: HttpSender;
  log: Logger;
  /** The sync's counters, when they should outlive this runner (the daemon keeps one per sync id). */
  stats?: SyncStats;
  /** The destination's in-flight gate, shared by its syncs (the daemon keeps one per destination). */
  gate?: InFlightGate;
  /** The server's max_payload, which a dead letter must fit. */
  maxPayload?: number;
  /** Decoded events shared with the other syncs on the stream (none when this sync reads it alone). */
  decodes?: SharedDecodes;
}

/** ordering "user": events one user may have held in hand behind its earlier ones; past it they go back to the stream. */
export const DEFAULT_ORDERING_MAX_HELD_PER_USER = 1_000;
/** ordering "user": events the sync may hold, all users together (max_ack_pending bounds it first, by default). */
export const DEFAULT_ORDERING_MAX_HELD = 10_000;

/** Durable consumer names allow letters, digits, - and _. */
export function consumerName(sync: LoadedSync): string {
  return `${sync.destination.slug}__${sync.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class SyncRunner {
  readonly stats: SyncStats;
  readonly consumerName: string;
  readonly #limiter: SyncLimiter;
  readonly #tracer: SyncTracer;
  readonly #intake: Intake;
  readonly #outcomes: Outcomes;
  readonly #actors: DeliveryActors;
  readonly #batchers: Record<RequestKind, Batcher<DeliveryItem>>;
  readonly #deliveryServices: ConstructorParameters<typeof SyncDelivery>[0];
  readonly #maxEventBytes: number;
  readonly #failures: FailureLog;
  readonly #breaker: CircuitBreaker;
  readonly #streamName: string;
  readonly #log: Logger;
  /** identifyForwarding "changes": the step between accepting an identify and batching it. */
  readonly #identifyChanges: IdentifyChanges | undefined;
  /** ordering "user": each user's events go in stream order, a user's later events held behind its earlier ones. */
  readonly #ordering: UserBarrier<DeliveryItem> | undefined;
  #identifyMemory: IdentifyMemory | undefined;
  /** The intake, and the identify turns of the messages it lets go. */
  readonly #hand: MessagesInHand;
  readonly #js: JetStreamClient;
  readonly #settings: DaemonSettings;
  #decodes: SharedDecodes | undefined;

  constructor(
    readonly sync: LoadedSync,
    services: RunnerServices,
  ) {
    const definition = sync.destination.definition;
    const settings = services.settings;
    this.consumerName = consumerName(sync);
    this.#log = services.log.child({ sync: sync.id, version: sync.destination.version });
    this.stats = services.stats ?? new SyncStats();
    this.#tracer = new SyncTracer(sync, this.consumerName);
    this.#limiter = new SyncLimiter({ name: sync.id, rate: definition.limits?.rate, maxConcurrency: definition.limits?.maxConcurrency });
    const rules: DeliveryRules = {
      policy: resolveRetryPolicy(definition.retry),
      maxInProcessWaitMs: settings.maxInProcessWaitMs,
      maxInProcessRetries: DEFAULT_MAX_IN_PROCESS_RETRIES,
    };
    this.#failures = new FailureLog(this.#log);
    this.#breaker = new CircuitBreaker(resolveCircuitBreaker(definition.circuitBreaker), {
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
    });
    this.#intake = new Intake({
      js: services.js,
      jsm: services.jsm,
      settings,
      consumerName: this.consumerName,
      startAt: sync.definition.startAt ?? 'new',
      stats: this.stats,
      gate: services.gate ?? new InFlightGate(Infinity),
      circuitAdmits: () => this.#breaker.admits,
      log: this.#log,
    });
    this.#js = services.js;
    this.#settings = settings;
    this.#identifyChanges = sync.identifyChanges
      ? new IdentifyChanges({
          memory: () => this.#identifyMemory,
          log: this.#log,
          onward: (item) => this.#batchers.identify.add(item),
          unchanged: (msg) => {
            this.stats.countFiltered(UNCHANGED);
            this.#outcomes.skip(msg);
            this.#hand.letGo([msg]);
          },
          handBack: (msg, error) => (error === undefined ? (this.#outcomes.release([msg]), this.#hand.letGo([msg])) : this.#outcomes.handBackLater(msg, error)),
        })
      : undefined;
    const changes = this.#identifyChanges;
    const batch = definition.batch && { maxEvents: definition.batch.maxEvents, maxBytes: definition.batch.maxBytes, maxWaitMs: definition.batch.maxWaitMs ?? 100 };
    const ordering = (this.#ordering =
      sync.definition.ordering === 'user'
        ? new UserBarrier<DeliveryItem>({
            onward: (items) => this.#onward(items),
            joins: (group, next) => joinsRequest(group, next, batch, changes !== undefined),
            handBack: (item, delayMs) => this.#outcomes.returnUnsent(item.msg, delayMs),
            maxHeldPerUser: DEFAULT_ORDERING_MAX_HELD_PER_USER,
            // Held, in-flight and owed events all count against max_ack_pending: JetStream stops handing
            // out new ones at that cap, which is the backpressure (handing back below it would churn).
            maxHeld: Math.min(DEFAULT_ORDERING_MAX_HELD, settings.stream.maxAckPending),
            // An owed message not back by then went elsewhere (another daemon, a lost nak): its user goes on.
            graceMs: settings.stream.ackWaitMs,
            gauges: this.stats,
          })
        : undefined);
    this.#hand =
      changes || ordering
        ? {
            letGo: (msgs) => {
              this.#intake.letGo(msgs);
              changes?.done(msgs);
              ordering?.done(msgs);
            },
            requestEnded: () => this.#intake.requestEnded(),
          }
        : this.#intake;
    this.#outcomes = new Outcomes(sync, {
      js: services.js,
      settings,
      stats: this.stats,
      log: this.#log,
      rules,
      hand: this.#hand,
      maxPayload: services.maxPayload,
      remember: changes && ((items) => changes.remember(items)),
      returned: ordering && ((msg, delayMs) => ordering.returned(msg, delayMs)),
      holdingBack: () => this.#breaker.holdMs,
    });
    this.#actors = new DeliveryActors({ keepIdle: Math.min(settings.maxInFlightPerSync, DEFAULT_IDLE_DELIVERY_ACTORS) });
    this.#deliveryServices = {
      sync,
      rules,
      stats: this.stats,
      limiter: this.#limiter,
      sender: services.sender,
      settings,
      outcomes: this.#outcomes,
      log: this.#log,
      slots: this.#intake,
      failures: this.#failures,
      breaker: this.#breaker,
      responseBytes: definition.batch && (definition.request.multiStatus || definition.identify?.multiStatus) ? DEFAULT_MULTI_STATUS_BODY_BYTES : undefined,
    };
    this.#batchers = {
      track: new Batcher(batch, (items) => this.#deliver(items, 'track')),
      identify: new Batcher(batch, (items) => this.#deliver(items, 'identify')),
    };
    this.#streamName = settings.stream.name;
    this.#maxEventBytes = Math.min(definition.limits?.maxEventBytes ?? Infinity, settings.maxEventBytes);
    this.#decodes = services.decodes;
  }

  /** Creates (or updates) the durable consumer and starts pulling. */
  async start(): Promise<void> {
    if (this.#identifyChanges) this.#identifyMemory = await IdentifyMemory.open(this.#js, this.#settings, this.consumerName);
    await this.#intake.start({
      take: (msg) => this.#accept(msg),
      handBack: (msg, error) => (error === undefined ? this.#outcomes.release([msg]) : this.#outcomes.returnAfterError(msg, error)),
    });
    this.#log.info('sync consuming', { consumer: this.consumerName });
  }

  /** Decides what one message is: not ours, invalid, filtered, or an event to deliver. */
  #accept(msg: JsMsg): void {
    this.stats.received += 1;
    // A replay aimed at another sync: not ours, counted as filtered. Headers aim nothing (replay-target.ts).
    if (!replayTarget(msg.subject, this.#streamName, this.sync.id)) {
      this.stats.filtered += 1;
      return this.#outcomes.skip(msg);
    }
    const decoded = this.#decodes === undefined ? decodeEvent(msg.data, this.#maxEventBytes) : this.#decodes.decode(msg.data, this.#maxEventBytes, msg.info);
    if (!decoded.ok) {
      this.#intake.hold(msg);
      void this.#outcomes.refuse(msg, { reason: decoded.reason, message: decoded.message, attempts: msg.info.deliveryCount });
      return;
    }
    const event = decoded.event;
    const kind = requestKindOf(event);
    const wanted = kind === 'identify' ? this.sync.identifyForwarding && this.sync.destination.identify !== undefined : this.sync.filter(event);
    if (!wanted) {
      this.stats.filtered += 1;
      return this.#outcomes.skip(msg);
    }
    let context: EventContext;
    try {
      context = buildEventContext(event, this.sync.selection);
    } catch (error) {
      if (!(error instanceof EventContextError)) throw error;
      this.#intake.hold(msg);
      void this.#outcomes.refuse(msg, { reason: error.code, message: error.message, attempts: msg.info.deliveryCount, events: [event] });
      return;
    }
    this.#intake.hold(msg);
    const item = { msg, context, bytes: decoded.bytes };
    if (this.#ordering) return this.#ordering.take(userOf(event), item);
    if (kind === 'identify' && this.#identifyChanges) return this.#identifyChanges.take(item);
    this.#batchers[kind].add(item);
  }

  /** ordering "user": a user's turn, one kind, in stream order, within one request's limits. */
  #onward(items: DeliveryItem[]): void {
    const kind = requestKindOf(items[0].context.input);
    if (kind === 'identify' && this.#identifyChanges) {
      for (const item of items) this.#identifyChanges.take(item);
      return;
    }
    this.#batchers[kind].addGroup(items);
  }

  /** Starts the delivery machine for one request carrying `items`. */
  #deliver(items: DeliveryItem[], kind: RequestKind): void {
    let attempt = 1;
    for (const item of items) attempt = Math.max(attempt, this.#outcomes.attemptOf(item.msg));
    this.#intake.requestStarted();
    const trace = this.#tracer.start(items, kind, attempt);
    if (this.#ordering) this.#traceHeld(items, trace);
    this.#actors.start(new SyncDelivery(this.#deliveryServices, items, kind, attempt, trace));
  }

  /** A span event when the request's events waited behind their users' earlier events. */
  #traceHeld(items: readonly DeliveryItem[], trace: DeliveryTrace): void {
    let since = Infinity;
    for (const item of items) since = Math.min(since, this.#ordering!.heldSince(item.msg) ?? Infinity);
    if (since !== Infinity) trace.held('user_barrier', Date.now() - since);
  }

  /**
   * The circuit opened: the sync stops taking messages and stops spending attempts. What is not on
   * the wire goes back to the stream at once, costing no attempt (the client's buffer, unsent
   * batches, requests queued in the limiter, requests waiting for a retry); requests on the wire
   * that fail go back the same way when they answer (SyncDelivery).
   */
  async #holdOff(details: { failureRate: number; requests: number; probeInMs: number; reopened: boolean }): Promise<void> {
    if (details.reopened) this.#log.info('circuit open again: the probe failed', { probeInMs: details.probeInMs });
    else this.#log.warn('circuit open: the destination keeps failing, so the sync takes no messages and its events wait in the stream', details);
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
    this.#outcomes.release(msgs);
    this.#hand.letGo(msgs);
  }

  /** Events waiting for their batch to fill go back to the stream unsent. */
  #releaseBatches(): void {
    for (const batcher of Object.values(this.#batchers)) {
      const msgs = batcher.takePending().map((item) => item.msg);
      this.#outcomes.release(msgs);
      this.#hand.letGo(msgs);
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
   * Stops taking messages and hands back at once, with no delay, whatever was taken but not sent:
   * the client's buffer, unsent batches, requests queued in the limiter (a pause included) and
   * requests waiting for an in-process retry. Requests on the wire go on.
   */
  async stopPulling(): Promise<void> {
    await this.#intake.stop();
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
    this.#outcomes.flushAcks();
    await this.#limiter.stop();
    this.#intake.close();
    this.#failures.stop();
    this.#breaker.stop();
  }

  /** The durable consumer as the server sees it (num_pending is the sync's lag). */
  consumerInfo(): Promise<ConsumerInfo> {
    return this.#intake.consumerInfo();
  }
}

/** ordering "user": whether `next` joins its user's group in one request (same kind, within the batch's limits). */
function joinsRequest(group: readonly DeliveryItem[], next: DeliveryItem, batch: { maxEvents: number; maxBytes?: number } | undefined, identifyChanges: boolean): boolean {
  if (batch === undefined || group.length >= batch.maxEvents) return false;
  const kind = requestKindOf(group[0].context.input);
  if (requestKindOf(next.context.input) !== kind || (kind === 'identify' && identifyChanges)) return false;
  if (batch.maxBytes === undefined) return true;
  let bytes = next.bytes;
  for (const item of group) bytes += item.bytes;
  return bytes <= batch.maxBytes;
}
