// One sync's life: its durable consumer, the capacity gate, batching, a delivery machine per
// request, and what each outcome does to the messages (ack, nak(delay), dead letter + term).
import { AckPolicy, DeliverPolicy, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import {
  DEFAULT_CARRIED_ATTEMPTS,
  DEFAULT_CONSUME_BUFFER,
  DEFAULT_IDLE_DELIVERY_ACTORS,
  DEFAULT_MAX_IN_PROCESS_RETRIES,
  DEFAULT_MAX_IN_PROCESS_WAIT_MS,
  DEFAULT_MULTI_STATUS_BODY_BYTES,
  DEFAULT_RESPONSE_EXCERPT_BYTES,
} from '../defaults.js';
import {
  classify,
  Delivery,
  DeliveryActors,
  failedItems,
  hasAttemptsLeft,
  retryDelayMs,
  RetryableDeliveryError,
  type ItemFailure,
  resolveRetryPolicy,
  type DeliveryCancel,
  type DeliveryHandle,
  type DeliveryProgress,
  type DeliveryRules,
  type DeliveryState,
  type RetryPolicy,
} from '../delivery/index.js';
import { buildDeadLetter, deadLetterSubject } from '../dead-letter/index.js';
import { decodeEvent, isIdentifyEvent, type AmplitudeEvent } from '../events/index.js';
import type { Logger } from '../log.js';
import { LimiterStoppedError, SyncLimiter } from '../limit/index.js';
import type { LoadedSync } from '../registry/index.js';
import { redactRequest, renderForSync } from '../registry/index.js';
import { buildEventContext, EventContextError, type EventContext, type RenderedRequest } from '../render/index.js';
import type { HttpSender } from '../send/index.js';
import { SyncTracer, type DeliveryTrace } from '../telemetry/index.js';
import { Batcher } from './batcher.js';
import { InFlightGate } from './in-flight-gate.js';
import { replayTarget } from './replay-target.js';
import { SyncStats } from './sync-stats.js';

/** Header on a replayed message: only the named sync delivers it, the others skip it. */
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
}

type Kind = 'track' | 'identify';

interface Item {
  msg: JsMsg;
  context: EventContext;
  bytes: number;
}

/** Durable consumer names allow letters, digits, - and _. */
export function consumerName(sync: LoadedSync): string {
  return `${sync.destination.slug}__${sync.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class SyncRunner {
  readonly stats: SyncStats;
  readonly limiter: SyncLimiter;
  private readonly tracer: SyncTracer;
  private readonly policy: RetryPolicy;
  private readonly batchers: Record<Kind, Batcher<Item>>;
  private readonly maxEventBytes: number;
  private readonly inFlightMessages = new Set<JsMsg>();
  private readonly actors: DeliveryActors;
  readonly rules: DeliveryRules;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private capacityWaiter: (() => void) | undefined;
  /** Requests in flight for the destination, shared with its other syncs. */
  private readonly gate: InFlightGate;
  /**
   * Attempts a message used beyond its JetStream delivery count (in-process retries count as
   * attempts), remembered when it goes back with nak(delay) so that its next delivery counts on
   * from there and the retry policy's attempts are not used again. In memory only: after a restart
   * or a reload, or on another daemon, counting starts again from the delivery count. Keyed by
   * stream sequence; the oldest entries go first past DEFAULT_CARRIED_ATTEMPTS.
   */
  private readonly carriedAttempts = new Map<number, number>();
  private idleWaiters: Array<() => void> = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private pendingAcks: JsMsg[] = [];
  /** How much of a response to keep: all of it (bounded) when it may list failed batch items. */
  private readonly responseBytes: number | undefined;
  private pulling = false;
  readonly log: Logger;

  constructor(
    readonly sync: LoadedSync,
    private readonly services: RunnerServices,
  ) {
    const definition = sync.destination.definition;
    this.log = services.log.child({ sync: sync.id, version: sync.destination.version });
    this.stats = services.stats ?? new SyncStats();
    this.gate = services.gate ?? new InFlightGate(Infinity);
    this.tracer = new SyncTracer(sync, this.consumerName);
    this.limiter = new SyncLimiter({ name: sync.id, rate: definition.limits?.rate, maxConcurrency: definition.limits?.maxConcurrency });
    this.policy = resolveRetryPolicy(definition.retry);
    this.rules = { policy: this.policy, maxInProcessWaitMs: services.settings.maxInProcessWaitMs, maxInProcessRetries: DEFAULT_MAX_IN_PROCESS_RETRIES };
    this.actors = new DeliveryActors({ keepIdle: Math.min(services.settings.maxInFlightPerSync, DEFAULT_IDLE_DELIVERY_ACTORS) });
    const batch = definition.batch && { maxEvents: definition.batch.maxEvents, maxBytes: definition.batch.maxBytes, maxWaitMs: definition.batch.maxWaitMs ?? 100 };
    this.batchers = {
      track: new Batcher(batch, (items) => this.deliver(items, 'track')),
      identify: new Batcher(batch, (items) => this.deliver(items, 'identify')),
    };
    this.responseBytes = definition.batch && (definition.request.multiStatus || definition.identify?.multiStatus) ? DEFAULT_MULTI_STATUS_BODY_BYTES : undefined;
    this.maxEventBytes = Math.min(definition.limits?.maxEventBytes ?? Infinity, services.settings.maxEventBytes);
  }

  get consumerName(): string {
    return consumerName(this.sync);
  }

  /** Creates (or updates) the durable consumer and starts pulling. */
  async start(): Promise<void> {
    const { jsm, js, settings } = this.services;
    const stream = settings.stream;
    const config = {
      durable_name: this.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: stream.ackWaitMs * 1_000_000,
      max_ack_pending: stream.maxAckPending,
      // The delivery machine decides when to give up; JetStream must never drop a message itself.
      max_deliver: -1,
    };
    try {
      await jsm.consumers.info(stream.name, this.consumerName);
      await jsm.consumers.update(stream.name, this.consumerName, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending, max_deliver: -1 });
    } catch {
      await jsm.consumers.add(stream.name, config);
    }
    const consumer = await js.consumers.get(stream.name, this.consumerName);
    // A small client-side buffer: messages waiting there are not yet ours to heartbeat, so a big
    // buffer on a slow sync outlives ack_wait and JetStream redelivers what we still hold.
    this.messages = await consumer.consume({ max_messages: Math.min(stream.maxAckPending, DEFAULT_CONSUME_BUFFER) });
    this.pulling = true;
    // While a message waits (limiter queue, batch, in-process retry), tell JetStream it is in hand.
    this.heartbeat = setInterval(() => {
      for (const msg of this.inFlightMessages) msg.working();
    }, Math.max(1_000, Math.floor(stream.ackWaitMs / 3)));
    this.heartbeat.unref();
    this.loop = this.pull(this.messages).catch((error) => this.log.error('consumer loop failed', { error }));
    this.log.info('sync consuming', { consumer: this.consumerName });
  }

  private async pull(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      // The capacity gate: no new request while the sync, or its destination, has its fill in
      // flight. Checked before taking the message, so neither cap is ever passed.
      if (this.ownCapacityFull || this.gate.full) {
        this.track(msg); // in hand while parked: heartbeated like the messages in flight
        // Checked again on waking: another sync may have taken the slot first.
        while ((this.ownCapacityFull || this.gate.full) && this.pulling) {
          await new Promise<void>((resolve) => {
            this.capacityWaiter = resolve;
            this.gate.park(this);
          });
          this.gate.leave(this);
        }
        this.untrack([msg]);
        if (!this.pulling) {
          // Stopped while parked: this one goes straight back; the client's buffer is redelivered after ack_wait.
          msg.nak();
          break;
        }
      }
      try {
        this.accept(msg);
      } catch (error) {
        // A bug must not stop the sync: the message goes back to JetStream and the loop goes on.
        this.log.error('cannot handle a message; returned to the stream', { error, sequence: msg.info.streamSequence });
        msg.nak(DEFAULT_MAX_IN_PROCESS_WAIT_MS);
      }
    }
  }

  /** Decides what one message is: not ours, invalid, filtered, or an event to deliver. */
  accept(msg: JsMsg): void {
    this.stats.received += 1;
    // A replay to another sync: not ours, counted as filtered. Headers aim nothing (replay-target.ts).
    if (!replayTarget(msg.subject, this.services.settings.stream.name, this.sync.id)) {
      this.stats.filtered += 1;
      return msg.ack();
    }
    const decoded = decodeEvent(msg.data, this.maxEventBytes);
    if (!decoded.ok) {
      this.track(msg);
      void this.deadLetter([msg], { reason: decoded.reason, message: decoded.message, attempts: msg.info.deliveryCount });
      return;
    }
    const event = decoded.event;
    const kind: Kind = isIdentifyEvent(event) ? 'identify' : 'track';
    const wanted = kind === 'identify' ? this.sync.identifyForwarding && this.sync.destination.identify !== undefined : this.sync.filter(event);
    if (!wanted) {
      this.stats.filtered += 1;
      return msg.ack();
    }
    let context: EventContext;
    try {
      context = buildEventContext(event, this.sync.selection);
    } catch (error) {
      if (!(error instanceof EventContextError)) throw error;
      this.track(msg);
      void this.deadLetter([msg], { reason: error.code, message: error.message, attempts: msg.info.deliveryCount, events: [event] });
      return;
    }
    this.track(msg);
    this.batchers[kind].add({ msg, context, bytes: decoded.bytes });
  }

  private track(msg: JsMsg): void {
    this.inFlightMessages.add(msg);
  }

  private untrack(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) this.inFlightMessages.delete(msg);
    if (this.inFlightMessages.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Starts the delivery machine for one request carrying `items`. */
  private deliver(items: Item[], kind: Kind): void {
    let attempt = 1;
    for (const item of items) attempt = Math.max(attempt, this.attemptOf(item.msg));
    this.requestStarted();
    this.actors.start(new SyncDelivery(this, items, kind, attempt, this.tracer.start(items, kind, attempt)));
  }

  /** What the machine's `render` does: the one render path, then `rendered` or `render.failed`. */
  renderFor(delivery: SyncDelivery, self: DeliveryHandle): void {
    const trace = delivery.trace;
    trace.renderStarted();
    try {
      const request = renderForSync(this.sync, delivery.items.map((item) => item.context), delivery.kind);
      trace.renderEnded();
      self.send({ type: 'rendered', request });
    } catch (error) {
      const code = error instanceof EventContextError ? error.code : 'render_failed';
      trace.renderEnded(code);
      self.send({ type: 'render.failed', code, message: (error as Error).message });
    }
  }

  /** What the machine's `send` does: through the limiter to the sender, answered with `sent`. */
  sendFor(delivery: SyncDelivery, self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void {
    const trace = delivery.trace;
    this.stats.requests += 1;
    trace.queued();
    const queuedAt = performance.now();
    this.limiter
      .run(() => {
        this.stats.limiterWait.observe((performance.now() - queuedAt) / 1_000);
        return this.services.sender.send(trace.sending(request), { signal: cancel, timeoutMs: this.services.settings.requestTimeoutMs, excerptBytes: this.responseBytes });
      })
      .then(
        (response) => {
          trace.answered(response.status);
          delivery.lastResponse = response;
          this.stats.countResponse(response.status);
          self.send({ type: 'sent', result: classify({ status: response.status, headers: response.headers }) });
        },
        (error: unknown) => {
          trace.failed(error);
          if (error instanceof LimiterStoppedError || cancel.aborted) return self.send({ type: 'abort' });
          delivery.lastResponse = undefined;
          this.stats.countResponse(undefined);
          self.send({ type: 'sent', result: classify({ error }) });
        },
      );
  }

  pauseFor(ms: number): void {
    this.limiter.pause(ms);
    this.log.warn('destination asked to slow down; sync paused', { pauseMs: ms });
  }

  /** A delivery machine failed: a bug. The messages go back to JetStream so nothing is lost. */
  deliveryFailed(delivery: SyncDelivery, error: unknown): void {
    this.log.error('delivery machine failed', { error });
    this.finish(delivery.items, () => delivery.items.forEach((item) => item.msg.nak(DEFAULT_MAX_IN_PROCESS_WAIT_MS)));
  }

  /** What an outcome does to the messages: ack, nak(delay), nak, or dead letter + term. */
  async settle(delivery: SyncDelivery): Promise<void> {
    const { items, kind, lastResponse: response } = delivery;
    const msgs = items.map((item) => item.msg);
    switch (delivery.outcome) {
      case 'delivered': {
        const definition = this.sync.destination.definition;
        const multiStatus = kind === 'identify' ? definition.identify?.multiStatus : definition.request.multiStatus;
        // A batch of one counts too: a 2xx that lists its only event as rejected did not deliver it.
        const failures = multiStatus && definition.batch && response ? failedItems(multiStatus, response.bodyExcerpt, items.length) : [];
        if (failures.length > 0) return this.settleItems(items, delivery, response!, failures);
        this.countDelivered(msgs, delivery);
        this.forgetAttempts(msgs);
        return this.finish(items, () => this.ackSoon(msgs));
      }
      case 'deferred':
        this.stats.deferred += items.length;
        this.log.info('delivery will be retried', { attempt: delivery.attempt, status: delivery.status, reason: delivery.reason, delayMs: delivery.delayMs, events: items.length, kind });
        return this.finish(items, () =>
          msgs.forEach((msg) => {
            this.carryAttempts(msg, delivery.attempt);
            msg.nak(delivery.delayMs);
          }),
        );
      case 'released':
        return this.finish(items, () => msgs.forEach((msg) => msg.nak()));
      case 'dead': {
        this.forgetAttempts(msgs);
        this.requestEnded();
        await this.deadLetter(msgs, {
          reason: delivery.reason ?? 'unknown',
          message: delivery.message,
          attempts: delivery.attempt,
          lastStatus: delivery.status,
          responseExcerpt: response?.bodyExcerpt.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES),
          request: delivery.request,
          events: items.map((item) => item.context.input),
        });
        return;
      }
    }
  }

  private countDelivered(msgs: readonly JsMsg[], delivery: DeliveryProgress): void {
    if (delivery.attempt === 1 && delivery.requests === 1) this.stats.deliveredFirstAttempt += msgs.length;
    else this.stats.deliveredAfterRetry += msgs.length;
    const now = Date.now();
    for (const msg of msgs) this.stats.latency.observe((now - msg.info.timestampNanos / 1e6) / 1_000);
  }

  /** A 2xx whose multi-status body lists failed items: the others are delivered, a retryable
   *  item goes back to JetStream on the schedule, a permanent one is dead-lettered. */
  private async settleItems(items: Item[], delivery: SyncDelivery, response: { bodyExcerpt: string }, failures: ItemFailure[]): Promise<void> {
    const failed = new Map(failures.map((failure) => [failure.index, failure]));
    const delivered = items.filter((_, index) => !failed.has(index)).map((item) => item.msg);
    this.countDelivered(delivered, delivery);
    this.forgetAttempts(delivered);
    this.ackSoon(delivered);
    const dead: Array<{ item: Item; failure: ItemFailure; exhausted: boolean }> = [];
    const retried: JsMsg[] = [];
    for (const [index, failure] of failed) {
      const item = items[index];
      // The item's attempt is the batch request's, in-process retries of the batch included.
      const attempt = delivery.attempt;
      if (failure.result instanceof RetryableDeliveryError && hasAttemptsLeft(this.policy, attempt)) {
        this.carryAttempts(item.msg, attempt);
        item.msg.nak(failure.result.retryAfterMs ?? retryDelayMs(this.policy, attempt));
        retried.push(item.msg);
      } else {
        this.forgetAttempts([item.msg]);
        dead.push({ item, failure, exhausted: failure.result instanceof RetryableDeliveryError });
      }
    }
    this.stats.deferred += retried.length;
    this.log.info('batch partly failed', { events: items.length, retried: retried.length, dead: dead.length });
    this.untrack([...delivered, ...retried]);
    this.requestEnded();
    await Promise.all(
      dead.map(({ item, failure, exhausted }) =>
        this.deadLetter([item.msg], {
          reason: exhausted ? 'retries_exhausted' : failure.result.code,
          message: `item ${failure.index} of the batch failed with status ${failure.status}${failure.message === undefined ? '' : `: ${failure.message}`}`,
          attempts: delivery.attempt,
          lastStatus: failure.status,
          responseExcerpt: response.bodyExcerpt.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES),
          request: delivery.request,
          events: [item.context.input],
        }),
      ),
    );
  }

  /** The attempt a message's delivery is: its JetStream delivery count, plus what it used in process before. */
  private attemptOf(msg: JsMsg): number {
    const info = msg.info;
    return this.carriedAttempts.size === 0 ? info.deliveryCount : info.deliveryCount + (this.carriedAttempts.get(info.streamSequence) ?? 0);
  }

  /** Before a nak(delay) after attempt `attempt`: the message's next delivery is attempt `attempt + 1`. */
  private carryAttempts(msg: JsMsg, attempt: number): void {
    const { streamSequence, deliveryCount } = msg.info;
    this.carriedAttempts.delete(streamSequence);
    if (attempt <= deliveryCount) return;
    this.carriedAttempts.set(streamSequence, attempt - deliveryCount);
    if (this.carriedAttempts.size > DEFAULT_CARRIED_ATTEMPTS) this.carriedAttempts.delete(this.carriedAttempts.keys().next().value!);
  }

  private forgetAttempts(msgs: readonly JsMsg[]): void {
    if (this.carriedAttempts.size === 0) return;
    for (const msg of msgs) this.carriedAttempts.delete(msg.info.streamSequence);
  }

  /** Acks are sent together once per event-loop turn: nats.js flushes its buffer once per
   *  microtask checkpoint, so acks from separate responses would each cost a socket write. */
  private ackSoon(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) this.pendingAcks.push(msg);
    if (this.pendingAcks.length === msgs.length) setImmediate(this.flushAcks);
  }

  private readonly flushAcks = (): void => {
    const msgs = this.pendingAcks;
    this.pendingAcks = [];
    for (const msg of msgs) msg.ack();
  };

  private finish(items: Item[], settle: () => void): void {
    settle();
    this.untrack(items.map((item) => item.msg));
    this.requestEnded();
  }

  /** Which cap holds the consumer back, if any: its own (maxInFlightPerSync) or its destination's. */
  get parkedAt(): 'sync' | 'destination' | undefined {
    if (this.capacityWaiter === undefined) return undefined;
    return this.ownCapacityFull ? 'sync' : 'destination';
  }

  private get ownCapacityFull(): boolean {
    return this.stats.inFlight >= this.services.settings.maxInFlightPerSync;
  }

  private requestStarted(): void {
    this.stats.inFlight += 1;
    this.gate.take();
  }

  /** A request ended: the gate resumes one parked sync of the destination (this one included) that can go on. */
  private requestEnded(): void {
    this.stats.inFlight -= 1;
    this.gate.give();
  }

  /** Called by the gate when a slot of the destination frees: goes on pulling unless at its own cap. */
  resume(): boolean {
    if (this.capacityWaiter === undefined || this.ownCapacityFull) return false;
    const resolve = this.capacityWaiter;
    this.capacityWaiter = undefined;
    resolve();
    return true;
  }

  /** Publishes a dead letter per message to the DEAD stream, then terminates the message. If the
   *  dead letter cannot be written, the message goes back to JetStream: nothing is lost. */
  private async deadLetter(
    msgs: JsMsg[],
    what: { reason: string; message?: string; attempts: number; lastStatus?: number; responseExcerpt?: string; request?: RenderedRequest; events?: AmplitudeEvent[] },
  ): Promise<void> {
    const { js, settings } = this.services;
    const subject = deadLetterSubject(settings.stream.deadLetterSubjectPrefix, this.sync.destination.slug, this.sync.name);
    if (what.reason === 'retries_exhausted') this.stats.expired += msgs.length;
    else this.stats.countDiscarded(what.reason, msgs.length);
    await Promise.all(
      msgs.map(async (msg, index) => {
        const letter = buildDeadLetter({
          destination: this.sync.destination.slug,
          sync: this.sync.id,
          definitionVersion: this.sync.destination.version,
          reason: what.reason,
          message: what.message,
          attempts: what.attempts,
          lastStatus: what.lastStatus,
          responseExcerpt: what.responseExcerpt,
          // A header built from a secret (Basic auth: base64 of id:key) is blanked whole; values are redacted too.
          request: what.request && redactRequest(this.sync, what.request),
          event: what.events?.[index] ?? parseOrUndefined(msg.data),
          data: msg.data,
          source: { stream: msg.info.stream, sequence: msg.info.streamSequence, subject: msg.subject, publishedAt: msg.time.toISOString() },
          secrets: this.sync.parameters.secretValues,
        });
        const headers = natsHeaders();
        headers.set('Destinations-Reason', what.reason);
        headers.set('Destinations-Sync', this.sync.id);
        try {
          await js.publish(subject, JSON.stringify(letter), { headers, msgID: `${this.sync.id}:${msg.info.streamSequence}:${msg.info.deliveryCount}` });
          // No reason in the TERM: nats-server 2.9 ignores "+TERM <reason>" and redelivers the
          // message after ack_wait (a new dead letter each time); the reason is in the dead letter.
          msg.term();
        } catch (error) {
          this.stats.deadLetterFailures += 1;
          this.log.error('cannot write dead letter; message returned to the stream', { error, reason: what.reason });
          msg.nak(DEFAULT_MAX_IN_PROCESS_WAIT_MS);
        }
        this.log.warn('dead-lettered', { reason: what.reason, message: letter.message, insertId: letter.insertId, attempts: what.attempts, status: what.lastStatus });
      }),
    );
    this.untrack(msgs);
  }

  /** Stops taking messages; deliveries already started go on. */
  async stopPulling(): Promise<void> {
    if (!this.pulling) return;
    this.pulling = false;
    // Let a loop parked at the capacity gate end first: closing the messages waits for the loop to
    // leave its iterator, which a parked loop never does.
    this.capacityWaiter?.();
    this.capacityWaiter = undefined;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    // Whatever the client had buffered but not handed to us is redelivered by JetStream after ack_wait.
    this.batchers.track.flush();
    this.batchers.identify.flush();
  }

  /** Waits up to `timeoutMs` for in-flight deliveries, then releases the rest back to JetStream. */
  async drain(timeoutMs: number): Promise<void> {
    await this.stopPulling();
    if (this.inFlightMessages.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    this.actors.abortAll();
    this.flushAcks();
    await this.limiter.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  get pendingMessages(): number {
    return this.inFlightMessages.size;
  }

  /** The durable consumer as the server sees it (num_pending is the sync's lag). */
  consumerInfo(): Promise<ConsumerInfo> {
    return this.services.jsm.consumers.info(this.services.settings.stream.name, this.consumerName);
  }
}

/** One request's delivery, as the runner runs it: the machine's record plus the messages it carries. */
class SyncDelivery extends Delivery {
  lastResponse: { status: number; bodyExcerpt: string } | undefined = undefined;
  /** In the waiting state (counted in the sync's waiting gauge). */
  private waiting = false;

  constructor(
    private readonly runner: SyncRunner,
    readonly items: Item[],
    readonly kind: Kind,
    attempt: number,
    readonly trace: DeliveryTrace,
  ) {
    super(attempt, runner.rules);
  }

  render(self: DeliveryHandle): void {
    this.runner.renderFor(this, self);
  }

  send(self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void {
    this.runner.sendFor(this, self, request, cancel);
  }

  pause(ms: number): void {
    this.runner.pauseFor(ms);
  }

  override entered(state: DeliveryState): void {
    const stats = this.runner.stats;
    if (state === 'waiting') {
      stats.waiting += 1;
      stats.retriedInProcess += this.items.length;
      this.waiting = true;
    } else if (this.waiting) {
      stats.waiting -= 1;
      this.waiting = false;
    }
    this.trace.entered(state, this);
  }

  settled(): void {
    void this.runner.settle(this);
  }

  failed(error: unknown): void {
    this.runner.deliveryFailed(this, error);
  }
}

function parseOrUndefined(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}
