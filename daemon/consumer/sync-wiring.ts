// How one sync's parts are made and joined, in one place and in dependency order: each part is made
// after every part it calls. A message flows down (intake → user barrier → identify changes →
// batcher → delivery → Outcomes); settling flows back up (what Outcomes lets go of, hands back or
// asks about goes to the steps that hold messages). That upward traffic goes through one explicit
// fan-out, HeldMessages, made before Outcomes and given the holding steps once they exist, so no
// part calls one made after it. The circuit breaker's reactions touch every part: they are the
// runner's, passed in as the breaker's listener.
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import type { SharedDecodes } from '../events/index.js';
import type { HttpSender } from '../send/index.js';
import { DEFAULT_BATCH_MAX_WAIT_MS, DEFAULT_IDLE_DELIVERY_ACTORS, DEFAULT_MAX_IN_PROCESS_RETRIES, DEFAULT_MULTI_STATUS_BODY_BYTES, DEFAULT_ORDERING_MAX_HELD, DEFAULT_ORDERING_MAX_HELD_PER_USER, DEFAULT_START_AT } from '../defaults.js';
import { CircuitBreaker, DeliveryActors, resolveCircuitBreaker, resolveRetryPolicy, type CircuitListener, type DeliveryRules } from '../delivery/index.js';
import { SyncLimiter } from '../limit/index.js';
import type { Logger } from '../log.js';
import { HOLD_REASONS } from '../reasons.js';
import { renderBatchKey, requestKindOf, type LoadedSync, type RequestKind } from '../registry/index.js';
import { SyncStats, SyncTracer } from '../telemetry/index.js';
import { Batcher, type BatchKeyOf, type BatchLimits } from './batcher.js';
import { concurrencyCaps } from './concurrency-caps.js';
import type { DeliveryItem } from './delivery-item.js';
import { FailureLog } from './failure-log.js';
import type { Handovers } from './handover.js';
import { IdentifyChanges, UNCHANGED } from './identify-changes.js';
import type { IdentifyMemory } from './identify-memory.js';
import { InFlightGate } from './in-flight-gate.js';
import { Intake, type MessagesInHand } from './intake.js';
import { Outcomes } from './outcomes.js';
import { SyncDelivery, type SyncDeliveryServices } from './sync-delivery.js';
import { UserBarrier } from './user-barrier.js';

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
  /** ordering "user": what the sync's readers tell each other they hand back (handover.ts). */
  handovers?: Handovers;
  /** Something says a stream or the consumer is gone (a pull, a dead letter refused): the daemon checks and calls repair(). */
  lost?: (why: string) => void;
}

/**
 * What settling and delivering tell the steps that hold a sync's messages, fanned out here: the
 * intake always, the user barrier (ordering "user") and the identify changes when the sync has them.
 */
export class HeldMessages implements MessagesInHand {
  #intake: Intake | undefined;
  #ordering: UserBarrier<DeliveryItem> | undefined;
  #changes: IdentifyChanges | undefined;

  /** The holding steps, once made (before the intake pulls: nothing is settled earlier). */
  attach(steps: { intake: Intake; ordering: UserBarrier<DeliveryItem> | undefined; changes: IdentifyChanges | undefined }): void {
    this.#intake = steps.intake;
    this.#ordering = steps.ordering;
    this.#changes = steps.changes;
  }

  /** Settled (or handed to a dead-letter write): the user's next identify may take its turn, the user's next events may go, the intake lets go. */
  letGo(msgs: readonly JsMsg[]): void {
    this.#changes?.done(msgs);
    this.#ordering?.done(msgs);
    // Last: what the barrier now holds behind a retry is left out of what the intake counts.
    this.#intake!.letGo(msgs);
  }

  /** Back to the stream after `delayMs`: a consumer made again must start at or before it, and its user's later events wait for it. */
  returned(msg: JsMsg, delayMs: number): void {
    this.#intake!.returned(msg, delayMs);
    this.#ordering?.returned(msg, delayMs);
  }

  /** Taken from a consumer NATS has since lost: never settled on the broker. */
  isStale(msg: JsMsg): boolean {
    return this.#intake!.isStale(msg);
  }

  requestStarted(): void {
    this.#intake!.requestStarted();
  }

  requestEnded(): void {
    this.#intake!.requestEnded();
  }

  retryWaitStarted(): void {
    this.#intake!.retryWaitStarted();
  }

  retryWaitEnded(): void {
    this.#intake!.retryWaitEnded();
  }

  /** Change-based identify: records what delivered identifies sent, before they are acked; returns those it could not. */
  remember(items: readonly DeliveryItem[]): Promise<DeliveryItem[]> {
    return this.#changes!.remember(items);
  }

  /** ordering "user": since when the message waited behind its user's earlier events, if it did. */
  heldSince(msg: JsMsg): number | undefined {
    return this.#ordering?.heldSince(msg);
  }
}

/** A sync's parts, as the runner drives them. */
export interface SyncParts {
  stats: SyncStats;
  log: Logger;
  limiter: SyncLimiter;
  failures: FailureLog;
  breaker: CircuitBreaker;
  held: HeldMessages;
  outcomes: Outcomes;
  actors: DeliveryActors;
  batchers: Record<RequestKind, Batcher<DeliveryItem>>;
  /** identifyForwarding "changes": the step between accepting an identify and batching it. */
  changes: IdentifyChanges | undefined;
  /** The identify memory the changes read, opened (and opened again after a repair) by the runner. */
  identifyMemory: { current: IdentifyMemory | undefined };
  /** ordering "user": each user's events go in stream order, a user's later events held behind its earlier ones. */
  ordering: UserBarrier<DeliveryItem> | undefined;
  intake: Intake;
  /** Events over this size are dead-lettered (the destination's limit and the daemon's, the smaller). */
  maxEventBytes: number;
}

/** Makes one sync's parts, each after the parts it calls; `circuit` is how the runner reacts to its circuit breaker. */
export function wireSync(sync: LoadedSync, services: RunnerServices, consumerName: string, circuit: CircuitListener): SyncParts {
  const definition = sync.destination.definition;
  const settings = services.settings;

  // Parts that call no other.
  const log = services.log.child({ sync: sync.id, version: sync.destination.version });
  const caps = concurrencyCaps(settings, sync);
  const stats = services.stats ?? new SyncStats();
  const gate = services.gate ?? new InFlightGate(Infinity, caps.perSync);
  stats.readInFlightFrom(() => gate.requestsOf(sync.id));
  const tracer = new SyncTracer(sync, consumerName);
  const limiter = new SyncLimiter({ name: sync.id, rate: definition.limits?.rate, maxConcurrency: caps.onTheWire, rampOpen: caps.rampOpen });
  const rules: DeliveryRules = {
    policy: resolveRetryPolicy(definition.retry),
    maxInProcessWaitMs: settings.maxInProcessWaitMs,
    maxInProcessRetries: DEFAULT_MAX_IN_PROCESS_RETRIES,
  };
  const failures = new FailureLog(log);
  const batch: BatchLimits | undefined = definition.batch && { maxEvents: definition.batch.maxEvents, maxBytes: definition.batch.maxBytes, maxWaitMs: definition.batch.maxWaitMs ?? DEFAULT_BATCH_MAX_WAIT_MS };
  const identifyMemory: SyncParts['identifyMemory'] = { current: undefined };
  // The breaker knows the retry schedule: it opens before a destination that fails everything uses up an event's attempts.
  const breaker = new CircuitBreaker(resolveCircuitBreaker(definition.circuitBreaker, rules.policy), circuit);
  const held = new HeldMessages();
  const ordered = sync.definition.ordering === 'user';

  // Settling, then the deliveries that settle, then the steps that feed them, downstream first.
  const outcomes = new Outcomes(sync, {
    js: services.js,
    settings,
    stats,
    log,
    rules,
    hand: held,
    maxPayload: services.maxPayload,
    remember: sync.identifyChanges ? (items) => held.remember(items) : undefined,
    returned: (msg, delayMs) => held.returned(msg, delayMs),
    holdingBack: () => breaker.holdMs,
    stale: (msg) => held.isStale(msg),
    lost: services.lost,
  });
  const actors = new DeliveryActors({ keepIdle: Math.min(caps.perSync, DEFAULT_IDLE_DELIVERY_ACTORS), runtime: settings.deliveryRuntime });
  const deliveryServices: SyncDeliveryServices = {
    sync,
    rules,
    stats,
    limiter,
    sender: services.sender,
    settings,
    outcomes,
    log,
    slots: held,
    failures,
    breaker,
    responseBytes: definition.batch && (definition.request.multiStatus || definition.identify?.multiStatus) ? DEFAULT_MULTI_STATUS_BODY_BYTES : undefined,
  };
  /** Starts the delivery machine for one request carrying `items`. */
  const deliver = (items: DeliveryItem[], kind: RequestKind): void => {
    let attempt = 1;
    for (const item of items) attempt = Math.max(attempt, outcomes.attemptOf(item.msg));
    held.requestStarted();
    const trace = tracer.start(items, kind, attempt);
    if (ordered) {
      // A span event when the request's events waited behind their users' earlier events.
      let since = Infinity;
      for (const item of items) since = Math.min(since, held.heldSince(item.msg) ?? Infinity);
      if (since !== Infinity) trace.held(HOLD_REASONS.userBarrier, Date.now() - since);
    }
    actors.start(new SyncDelivery(deliveryServices, items, kind, attempt, trace));
  };
  const keyOf = definition.batch?.key === undefined ? undefined : batchKeysOf(sync);
  const batchers: SyncParts['batchers'] = {
    track: new Batcher(batch, (items) => deliver(items, 'track'), keyOf),
    identify: new Batcher(batch, (items) => deliver(items, 'identify'), keyOf),
  };
  const changes = sync.identifyChanges
    ? new IdentifyChanges({
        memory: () => identifyMemory.current,
        log,
        onward: (item) => batchers.identify.add(item),
        unchanged: (msg) => {
          stats.countFiltered(UNCHANGED);
          outcomes.ackFiltered(msg);
          held.letGo([msg]);
        },
        released: (msg) => {
          outcomes.nakReleased([msg]);
          held.letGo([msg]);
        },
        unread: (msg, error) => outcomes.nakSpentOnSchedule(msg, error),
      })
    : undefined;
  const ordering = ordered
      ? new UserBarrier<DeliveryItem>({
          // A user's turn, one kind, in stream order, within one request's limits.
          onward: (items) => {
            const kind = requestKindOf(items[0].context.input);
            if (kind === 'identify' && changes) for (const item of items) changes.take(item);
            else batchers[kind].addGroup(items);
          },
          joins: (group, next) => joinsRequest(group, next, batch, changes !== undefined, keyOf),
          overflow: (item, delayMs) => outcomes.nakFreeForTurn(item.msg, delayMs),
          maxHeldPerUser: DEFAULT_ORDERING_MAX_HELD_PER_USER,
          // Events waiting for their user's turn count against maxAckPending, where the intake stops
          // taking (backpressure: handing back would churn); those behind a retry do not, and are
          // bounded here. Held, in-flight and owed events all count against the consumer's max_ack_pending.
          maxHeld: Math.min(DEFAULT_ORDERING_MAX_HELD, settings.stream.maxAckPending + settings.stream.maxAckPendingForRetries),
          // An owed message not back by then went elsewhere (another daemon, a lost nak): its user goes on.
          graceMs: settings.stream.ackWaitMs,
          gauges: stats,
        })
      : undefined;
  const intake = new Intake({
    js: services.js,
    jsm: services.jsm,
    settings,
    consumerName,
    startAt: sync.definition.startAt ?? DEFAULT_START_AT,
    gate,
    sync: sync.id,
    circuitAdmits: () => breaker.admits,
    behindRetry: ordering && (() => ordering.behindRetry),
    handingBack: () => outcomes.handingBack,
    refreshed: () => (stats.bufferRefreshes += 1),
    lost: services.lost,
    log,
  });
  held.attach({ intake, ordering, changes });

  const maxEventBytes = Math.min(definition.limits?.maxEventBytes ?? Infinity, settings.maxEventBytes);
  return { stats, log, limiter, failures, breaker, held, outcomes, actors, batchers, changes, identifyMemory, ordering, intake, maxEventBytes };
}

/** ordering "user": whether `next` joins its user's group in one request (same kind and batch key, within the batch's limits). */
function joinsRequest(group: readonly DeliveryItem[], next: DeliveryItem, batch: { maxEvents: number; maxBytes?: number } | undefined, identifyChanges: boolean, keyOf: BatchKeyOf<DeliveryItem> | undefined): boolean {
  if (batch === undefined || group.length >= batch.maxEvents) return false;
  if (keyOf !== undefined) {
    const key = keyOf(next);
    if (key === undefined || key !== keyOf(group[0])) return false;
  }
  const kind = requestKindOf(group[0].context.input);
  if (requestKindOf(next.context.input) !== kind || (kind === 'identify' && identifyChanges)) return false;
  if (batch.maxBytes === undefined) return true;
  let bytes = next.bytes;
  for (const item of group) bytes += item.bytes;
  return bytes <= batch.maxBytes;
}

/** Each item's batch key, rendered once (the batcher and the user barrier both ask); undefined when it cannot be rendered: the item travels alone. */
function batchKeysOf(sync: LoadedSync): BatchKeyOf<DeliveryItem> {
  const keys = new WeakMap<DeliveryItem, string | null>();
  return (item) => {
    let key = keys.get(item);
    if (key === undefined) {
      try {
        key = renderBatchKey(sync, item.context) ?? null;
      } catch {
        key = null;
      }
      keys.set(item, key);
    }
    return key ?? undefined;
  };
}
