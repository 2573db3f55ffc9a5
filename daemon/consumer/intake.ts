// Taking messages from one sync's durable consumer: binding the consumer, the pull loop, the
// capacity gates (the sync's own in-flight cap and its destination's), and the heartbeat that
// tells JetStream a message taken is still in hand. It settles nothing: what becomes of a message
// is decided by the runner and done by Outcomes.
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type Consumer, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_CONSUME_BUFFER } from '../defaults.js';
import type { Logger } from '../log.js';
import { untilJetStreamAnswers } from '../nats/index.js';
import type { SyncStats } from '../telemetry/index.js';
import type { GateWaiter, InFlightGate } from './in-flight-gate.js';

/** What holds a consumer back: its own cap (maxInFlightPerSync), its destination's, or its circuit breaker (a probe in flight). */
export type ParkedAt = 'sync' | 'destination' | 'circuit';

/** What the intake hands each message to, and where a message it cannot hand on goes back. */
export interface IntakeHandler {
  take(msg: JsMsg): void;
  /** The message was not handled (the handler threw, or the intake stopped while it was parked). */
  handBack(msg: JsMsg, error?: unknown): void;
}

export interface IntakeOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  settings: DaemonSettings;
  consumerName: string;
  /** Where the consumer starts when it is first created: "new", "all" or an ISO time (the sync's startAt). */
  startAt: string;
  /** Requests in flight are counted in the sync's stats (stats.inFlight). */
  stats: SyncStats;
  /** The destination's gate, shared by its syncs. */
  gate: InFlightGate;
  /** Whether a request may start as far as the sync's circuit breaker goes (one probe while half-open). */
  circuitAdmits?: () => boolean;
  log: Logger;
}

/** Messages a sync holds, and the requests it has in flight: what Outcomes gives back as it settles. */
export interface MessagesInHand {
  /** These messages are no longer in hand (settled, or handed to a dead-letter write that settles them). */
  letGo(msgs: readonly JsMsg[]): void;
  /** A request ended: its slot in the sync's and the destination's caps is free. */
  requestEnded(): void;
}

/** A new consumer's start: new events only (the default), the whole stream, or from a time. */
function deliverPolicyOf(startAt: string): { deliver_policy: DeliverPolicy; opt_start_time?: string } {
  if (startAt === 'all') return { deliver_policy: DeliverPolicy.All };
  if (startAt === 'new') return { deliver_policy: DeliverPolicy.New };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(startAt).toISOString() };
}

export class Intake implements GateWaiter, MessagesInHand {
  readonly #inHand = new Set<JsMsg>();
  #idleWaiters: Array<() => void> = [];
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  #capacityWaiter: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #pulling = false;
  /** The destination's slots this sync holds (its requests in flight, less those waiting for a retry). */
  destinationSlots = 0;
  #handler: IntakeHandler | undefined;
  /** Taken after the stop: handed back once the server has dropped our pull requests. */
  #handBack: JsMsg[] = [];
  #consumer: Consumer | undefined;
  #stopped = false;
  #session = { pulling: false };
  #switching: Promise<void> = Promise.resolve();

  constructor(private readonly options: IntakeOptions) {}

  /** Creates (or updates) the durable consumer and starts pulling, handing each message to `handler`. */
  async start(handler: IntakeHandler): Promise<void> {
    this.#handler = handler;
    const { jsm, js, settings, consumerName, log } = this.options;
    const stream = settings.stream;
    const config = {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      ...deliverPolicyOf(this.options.startAt),
      ack_wait: stream.ackWaitMs * 1_000_000,
      max_ack_pending: stream.maxAckPending,
      // The delivery machine decides when to give up; JetStream must never drop a message itself.
      max_deliver: -1,
    };
    // An existing consumer keeps its place (startAt applies once, when it is made). On a cluster in
    // an election, JetStream may not answer for a few seconds: waited out, bounded.
    const consumer = await untilJetStreamAnswers(
      async () => {
        const existing = await jsm.consumers.info(stream.name, consumerName).catch((error: unknown) => {
          if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
          throw error;
        });
        if (existing) {
          await jsm.consumers.update(stream.name, consumerName, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending, max_deliver: -1 });
        } else {
          await jsm.consumers.add(stream.name, config);
          log.info("created the sync's consumer", { consumer: consumerName, startAt: this.options.startAt });
        }
        return js.consumers.get(stream.name, consumerName);
      },
      { what: `the consumer ${consumerName}`, log },
    );
    this.#consumer = consumer;
    this.options.gate.join(this);
    // While a message waits (limiter queue, batch, in-process retry), tell JetStream it is in hand.
    this.#heartbeat = setInterval(() => {
      for (const msg of this.#inHand) msg.working();
    }, Math.max(1_000, Math.floor(stream.ackWaitMs / 3)));
    this.#heartbeat.unref();
    await this.#consume();
  }

  async #consume(): Promise<void> {
    const stream = this.options.settings.stream;
    // A small client-side buffer: messages waiting there are not yet ours to heartbeat, so a big
    // buffer on a slow sync outlives ack_wait and JetStream redelivers what we still hold.
    const messages = await this.#consumer!.consume({ max_messages: Math.min(stream.maxAckPending, DEFAULT_CONSUME_BUFFER) });
    // Each consume has its own pulling flag: an old loop still yielding its buffer after a pause
    // hands it back, even when a new consume has started since.
    const session = { pulling: true };
    this.#session = session;
    this.#messages = messages;
    this.#pulling = true;
    this.#loop = this.#pull(messages, this.#handler!, session).catch((error) => this.options.log.error('consumer loop failed', { error }));
  }

  /** Stops pulling for a while (the circuit breaker opened): the buffer is handed back, what is in hand stays in hand. */
  pause(): Promise<void> {
    return this.#switch(() => this.#stopConsuming());
  }

  /** Pulls again after a pause (unless stopped meanwhile). */
  unpause(): Promise<void> {
    return this.#switch(async () => {
      if (this.#stopped || this.#pulling || this.#consumer === undefined) return;
      await this.#consume();
    });
  }

  /** Pauses, unpauses and the stop run one after the other, each after the last has finished. */
  #switch(step: () => Promise<void>): Promise<void> {
    this.#switching = this.#switching.then(step, step);
    return this.#switching;
  }

  /** A hold was lifted (the circuit closed): a parked loop checks its caps again. */
  wake(): void {
    this.resume();
  }

  async #pull(messages: ConsumerMessages, handler: IntakeHandler, session: { pulling: boolean }): Promise<void> {
    const gate = this.options.gate;
    for await (const msg of messages) {
      // Stopped: what the client had buffered is still yielded (nats.js ends the iterator after it);
      // it goes back once the server has dropped this client's pull requests (stop()).
      if (!session.pulling) {
        this.#handBack.push(msg);
        continue;
      }
      // The capacity gate: no new request while the sync, or its destination, has its fill in
      // flight. Checked before taking the message, so neither cap is ever passed.
      if (this.#mustWait) {
        this.hold(msg); // in hand while parked: heartbeated like the messages in flight
        // Checked again on waking: another sync may have taken the slot first.
        while (this.#mustWait && session.pulling) {
          await new Promise<void>((resolve) => {
            this.#capacityWaiter = resolve;
            gate.park(this);
          });
          gate.leave(this);
        }
        this.letGo([msg]);
        if (!session.pulling) {
          // Stopped while parked: this one goes back, and so does the rest of the buffer.
          this.#handBack.push(msg);
          continue;
        }
      }
      try {
        handler.take(msg);
      } catch (error) {
        // A bug must not stop the sync: the message goes back to JetStream and the loop goes on.
        handler.handBack(msg, error);
      }
    }
  }

  /** The message is in hand until it is let go: heartbeated, and waited for by a drain. */
  hold(msg: JsMsg): void {
    this.#inHand.add(msg);
  }

  letGo(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) this.#inHand.delete(msg);
    if (this.#inHand.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  get inHand(): number {
    return this.#inHand.size;
  }

  requestStarted(): void {
    this.options.stats.inFlight += 1;
    this.destinationSlots += 1;
    this.options.gate.take();
  }

  /** The gate resumes one parked sync of the destination (this one included) that can go on. */
  requestEnded(): void {
    this.options.stats.inFlight -= 1;
    this.destinationSlots -= 1;
    this.options.gate.give();
  }

  /** A request waits for an in-process retry: it keeps its place in the sync's cap, not the destination's. */
  retryWaitStarted(): void {
    this.destinationSlots -= 1;
    this.options.gate.give();
  }

  /** Its wait is over (it is sent again, or settled): it holds a destination slot again, over the cap if need be. */
  retryWaitEnded(): void {
    this.destinationSlots += 1;
    this.options.gate.take();
  }

  /** Whether the next message must wait: a cap is full, or the circuit breaker admits no request now. */
  get #mustWait(): boolean {
    return this.#ownCapacityFull || this.options.gate.fullFor(this) || this.options.circuitAdmits?.() === false;
  }

  /** Called by the gate when a slot of the destination frees: goes on pulling unless something still holds it. */
  resume(): boolean {
    if (this.#capacityWaiter === undefined || this.#mustWait) return false;
    const resolve = this.#capacityWaiter;
    this.#capacityWaiter = undefined;
    resolve();
    return true;
  }

  get parkedAt(): ParkedAt | undefined {
    if (this.#capacityWaiter === undefined) return undefined;
    return this.#ownCapacityFull ? 'sync' : this.options.circuitAdmits?.() === false ? 'circuit' : 'destination';
  }

  get #ownCapacityFull(): boolean {
    return this.options.stats.inFlight >= this.options.settings.maxInFlightPerSync;
  }

  /** Stops taking messages and hands back what the client had buffered; what is in hand stays in hand. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#switch(() => this.#stopConsuming());
  }

  async #stopConsuming(): Promise<void> {
    if (!this.#pulling) return;
    this.#pulling = false;
    this.#session.pulling = false;
    const messages = this.#messages;
    const loop = this.#loop;
    // Let a loop parked at the capacity gate end first: closing the messages waits for the loop to
    // leave its iterator, which a parked loop never does.
    this.#capacityWaiter?.();
    this.#capacityWaiter = undefined;
    await messages?.close().catch(() => undefined);
    await loop;
    // Ask for the consumer's info after the unsubscribe: answering it, the server drops this client's
    // pull requests, which no longer have a subscriber. A flush alone does not: a message handed back
    // right after it could still go to such a request and wait there for ack_wait.
    await this.consumerInfo().catch(() => undefined);
    for (const msg of this.#handBack.splice(0)) this.#handler?.handBack(msg);
  }

  /** Resolves when nothing is in hand, or after `timeoutMs`. */
  async whenEmpty(timeoutMs: number): Promise<void> {
    if (this.#inHand.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** After the drain: no more heartbeats. */
  close(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.options.gate.quit(this);
  }

  /** The durable consumer as the server sees it (num_pending is the sync's lag). */
  consumerInfo(): Promise<ConsumerInfo> {
    return this.options.jsm.consumers.info(this.options.settings.stream.name, this.options.consumerName);
  }
}
