// Taking messages from one sync's durable consumer: binding the consumer, the pull loop, waiting at
// the capacity gates (the sync's own in-flight cap and its destination's, counted and decided by the
// destination's InFlightGate; the messages in hand, here), and the heartbeat that tells JetStream a
// message taken is still in hand, and that takes into hand what waits in nats.js's buffer behind a
// loop parked a while (there it gets no heartbeat). It settles nothing: what becomes of a message
// is decided by the runner and done by Outcomes.
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type Consumer, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_CONSUME_BUFFER, DEFAULT_CONSUME_REFILL_AT } from '../defaults.js';
import type { Logger } from '../log.js';
import { untilJetStreamAnswers } from '../nats/index.js';
import type { GateWaiter, InFlightGate } from './in-flight-gate.js';
import { OldestFirst } from './oldest-first.js';

/**
 * What holds a consumer back: its own cap (maxInFlightPerSync), its destination's, its circuit
 * breaker (a probe in flight), or the messages it has in hand (stream.maxAckPending).
 */
export type ParkedAt = 'sync' | 'destination' | 'circuit' | 'hand';

/** What the intake hands each message to, and where a message it cannot hand on goes back. */
export interface IntakeHandler {
  take(msg: JsMsg): void;
  /** The message was never handed on: the intake stopped while it was parked or buffered. */
  untaken(msg: JsMsg): void;
  /** take() threw (a bug): the message was not handled. */
  threw(msg: JsMsg, error: unknown): void;
}

export interface IntakeOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  settings: DaemonSettings;
  consumerName: string;
  /** Where the consumer starts when it is first created: "new", "all" or an ISO time (the sync's startAt). */
  startAt: string;
  /** The destination's gate, shared by its syncs: it counts the requests in flight and decides the sync's and the destination's caps. */
  gate: InFlightGate;
  /** The sync's id: its runners count together at the gate (the old one's tail after a reload included). */
  sync: string;
  /** Whether a request may start as far as the sync's circuit breaker goes (one probe while half-open). */
  circuitAdmits?: () => boolean;
  /** Messages in hand that wait behind a retry (ordering "user"): they count against maxAckPendingForRetries, not maxAckPending. */
  behindRetry?: () => number;
  /** Messages let go of but not yet nak'ed (a stop holds its naks for the drain's end): heartbeated too. */
  handingBack?: () => Iterable<JsMsg>;
  /** A parked loop took nats.js's buffer into hand (counted: destinations_consumer_buffer_refreshes_total). */
  refreshed?: () => void;
  /** The pull says the stream or the consumer is gone: the daemon checks and makes them again (repair()). */
  lost?: (why: string) => void;
  log: Logger;
}

/** Where a consumer made again starts: everything in a stream made again, else where this daemon was. */
type StartPosition = { deliver_policy: DeliverPolicy; opt_start_time?: string; opt_start_seq?: number };

/** What repair() did: nothing, made the consumer again, or bound again to one that exists. */
export type RepairResult = 'kept' | 'made' | 'rebound';

/** The consume loop of one consumer: whether it still pulls, and whether its consumer was lost. */
interface Session {
  pulling: boolean;
  lost: boolean;
}

/** Messages a sync holds, and the requests it has in flight: what Outcomes gives back as it settles. */
export interface MessagesInHand {
  /** These messages are no longer in hand (settled, or handed to a dead-letter write that settles them). */
  letGo(msgs: readonly JsMsg[]): void;
  /** A request ended: its slot in the sync's and the destination's caps is free. */
  requestEnded(): void;
}

/** A new consumer's start: new events only (the default), the whole stream, or from a time. */
function deliverPolicyOf(startAt: string): StartPosition {
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
  #handler: IntakeHandler | undefined;
  /** Taken after the stop: handed back once the server has dropped our pull requests. */
  #handBack: JsMsg[] = [];
  #consumer: Consumer | undefined;
  #stopped = false;
  /** The loop holds a message at the capacity gate (in hand, not yet handed on). */
  #parked = false;
  /** …because the sync had maxAckPending messages in hand: letting one go wakes it. */
  #parkedForHand = false;
  /**
   * When (ms) the pull yielded each of its last DEFAULT_CONSUME_BUFFER messages, a ring. A message in
   * nats.js's buffer arrived with fewer than the buffer's size ahead of it, so after the yield that
   * many yields ago (or after the pull began): it has waited at most since then, without heartbeats.
   */
  readonly #yieldedAt = new Float64Array(DEFAULT_CONSUME_BUFFER);
  #yieldedNext = 0;
  #bufferSize = DEFAULT_CONSUME_BUFFER;
  #consumeStartedAt = 0;
  /** How often heartbeat() runs: also how long nats.js's buffer may wait behind a parked loop before it is taken into hand. */
  #beatMs = 1_000;
  #refreshing = false;
  /** Messages a refresh took out of nats.js's buffer, in stream order: in hand, and taken before pulling again. */
  readonly #kept: JsMsg[] = [];
  #session: Session = { pulling: false, lost: false };
  #switching: Promise<void> = Promise.resolve();
  /** Messages taken from a consumer NATS has since lost: never acked, nak'ed or termed on the one made again. */
  #stale: WeakSet<JsMsg> | undefined;
  /** The pull reported the stream or consumer missing since the last repair. */
  #consumeLost = false;
  /** Where a consumer lost on a stream that survived would start again (see #resumeAt). */
  #ackFloor = 0;
  #lastTaken = 0;
  /** Messages handed back to the stream and not yet seen again: sequence → when due (ms). */
  readonly #awaiting = new Map<number, number>();
  readonly #awaitingOldest = new OldestFirst(this.#awaiting);

  constructor(private readonly options: IntakeOptions) {}

  /**
   * Creates (or updates) the durable consumer and starts pulling, handing each message to `handler`.
   * `streamJustMade`: the daemon made the stream in this same start, so a consumer made now starts at
   * its first message whatever startAt says (what was published between the two is not skipped).
   */
  async start(handler: IntakeHandler, streamJustMade = false): Promise<void> {
    this.#handler = handler;
    const { settings, log } = this.options;
    // An existing consumer keeps its place (startAt applies once, when it is made). On a cluster in
    // an election, JetStream may not answer for a few seconds: waited out, bounded.
    await untilJetStreamAnswers(() => this.#bind(streamJustMade ? { deliver_policy: DeliverPolicy.All } : deliverPolicyOf(this.options.startAt), true), {
      what: `the consumer ${this.options.consumerName}`,
      log,
    });
    this.options.gate.join(this, this.options.sync);
    this.#beatMs = Math.max(1_000, Math.floor(settings.stream.ackWaitMs / 3));
    this.#heartbeat = setInterval(() => this.heartbeat(), this.#beatMs);
    this.#heartbeat.unref();
    await this.#consume();
  }

  /**
   * While a message waits (limiter queue, batch, in-process retry), tells JetStream it is in hand
   * (working(): the one act on a message outside Outcomes, which settles nothing). Every ackWait/3.
   * A parked loop whose client buffer may have waited a beat or more has it taken into hand (see #refresh).
   */
  heartbeat(): void {
    const stale = this.#stale;
    for (const msg of this.#inHand) if (stale === undefined || !stale.has(msg)) msg.working();
    // A drain longer than ack_wait must not let JetStream redeliver what it will hand back in order.
    const handingBack = this.options.handingBack?.();
    if (handingBack !== undefined) for (const msg of handingBack) if (stale === undefined || !stale.has(msg)) msg.working();
    if (this.#parked && this.#messages !== undefined && Date.now() - this.#bufferWaitingSince() >= this.#beatMs) void this.#refresh();
  }

  /** The earliest a message now in nats.js's buffer can have arrived there (see #yieldedAt). */
  #bufferWaitingSince(): number {
    const ring = this.#yieldedAt.length;
    return Math.max(this.#yieldedAt[(this.#yieldedNext - this.#bufferSize + ring) % ring], this.#consumeStartedAt);
  }

  /**
   * The messages in nats.js's buffer behind a parked loop cannot be heartbeated (the iterator holds
   * them out of reach until it yields them), and JetStream redelivers them after
   * ack_wait while we still hold them: a duplicate, and for ordering "user" a user's event possibly
   * sent after its later ones. So a parked loop whose buffer may have waited a beat (at most two
   * beats, 2/3 of ack_wait, after the message arrived; a sync that flows at its cap turns its buffer
   * over well within a beat and is left alone) stops its pull: the parked message and the buffer are
   * taken into hand, in order (heartbeated, no nak: their delivery count stays as it is), and taken
   * one by one before the pull starts again (#consume).
   */
  #refresh(): Promise<void> {
    if (this.#refreshing) return Promise.resolve();
    this.#refreshing = true;
    return this.#switch(async () => {
      // A pause, a stop or a repair may have come first; or the loop went on meanwhile.
      if (this.#stopped || !this.#pulling || !this.#parked) return;
      await this.#stopConsuming(true);
      this.options.refreshed?.();
      if (!this.#stopped) await this.#consume();
    })
      .catch((error: unknown) => this.options.log.error("cannot refresh a parked sync's pull", { error }))
      .finally(() => (this.#refreshing = false));
  }

  /** Binds the durable consumer, making it at `start` when missing; returns whether it made it. */
  async #bind(start: StartPosition, update: boolean): Promise<boolean> {
    const { jsm, js, settings, consumerName, log } = this.options;
    const stream = settings.stream;
    let info = await this.consumerInfo().catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      throw error;
    });
    const made = info === undefined;
    if (info === undefined) {
      info = await jsm.consumers.add(stream.name, {
        durable_name: consumerName,
        ack_policy: AckPolicy.Explicit,
        ...start,
        ack_wait: stream.ackWaitMs * 1_000_000,
        // A nak'ed message keeps its place in max_ack_pending until it comes back (nats-server 2.9,
        // checked): retries waiting in the stream get room of their own, and the daemon keeps to
        // maxAckPending in hand itself (the gate), so retries never take the room to pull.
        max_ack_pending: stream.maxAckPending + stream.maxAckPendingForRetries,
        // The delivery machine decides when to give up; JetStream must never drop a message itself.
        max_deliver: -1,
      });
      log.info("created the sync's consumer", { consumer: consumerName, startAt: this.options.startAt, ...describeStart(start) });
    } else if (update) {
      info = await jsm.consumers.update(stream.name, consumerName, { ack_wait: stream.ackWaitMs * 1_000_000, max_ack_pending: stream.maxAckPending + stream.maxAckPendingForRetries, max_deliver: -1 });
    }
    this.#ackFloor = info.ack_floor.stream_seq + 1;
    this.#lastTaken = 0;
    this.#awaiting.clear();
    this.#consumer = await js.consumers.get(stream.name, consumerName);
    return made;
  }

  async #consume(): Promise<void> {
    if (this.#kept.length > 0) return this.#takeKept();
    const stream = this.options.settings.stream;
    // A small client-side buffer: messages waiting there are not yet ours to heartbeat, so a big
    // buffer on a slow sync outlives ack_wait and JetStream redelivers what we still hold.
    const buffer = Math.min(stream.maxAckPending, DEFAULT_CONSUME_BUFFER);
    const messages = await this.#consumer!.consume({ max_messages: buffer, threshold_messages: Math.max(1, Math.floor(buffer * DEFAULT_CONSUME_REFILL_AT)) });
    // Each consume has its own pulling flag: an old loop still yielding its buffer after a pause
    // hands it back, even when a new consume has started since.
    const session: Session = { pulling: true, lost: false };
    this.#session = session;
    this.#messages = messages;
    this.#pulling = true;
    this.#bufferSize = buffer;
    this.#consumeStartedAt = Date.now();
    this.#loop = this.#pull(messages, this.#handler!, session).catch((error) => this.options.log.error('consumer loop failed', { error }));
    this.#watch(messages).catch((error) => this.options.log.error('watching the consumer failed', { error }));
  }

  /**
   * What a refresh kept is taken first, through the same gates; then the pull starts again. A pause,
   * a stop or a repair meanwhile hands back what is left of it, as it would a buffer.
   */
  #takeKept(): void {
    const session: Session = { pulling: true, lost: false };
    this.#session = session;
    this.#messages = undefined;
    this.#pulling = true;
    const kept = this.#kept;
    const source = (function* () {
      while (kept.length > 0) yield kept.shift()!;
    })();
    const loop = this.#pull(source, this.#handler!, session).catch((error) => this.options.log.error('consumer loop failed', { error }));
    this.#loop = loop;
    // Not part of the loop: a stop awaits the loop from inside #switch, and this waits its turn there.
    void loop.then(() => {
      if (!session.pulling) return;
      return this.#switch(async () => {
        if (this.#session !== session || !session.pulling || this.#stopped) return;
        session.pulling = false;
        this.#pulling = false;
        await this.#consume();
      });
    });
  }

  /** nats.js says on status() when a pull finds the stream or consumer gone; it then only retries, every 30 s. */
  async #watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type !== 'stream_not_found' && status.type !== 'consumer_not_found' && status.type !== 'consumer_deleted') continue;
      this.#consumeLost = true;
      this.options.lost?.(`${status.type.replaceAll('_', ' ')} (consumer ${this.options.consumerName})`);
    }
  }

  /**
   * The daemon checked the stream (made it again if missing; `streamReplaced`: it is not the stream
   * this consumer read) and now the consumer: kept when it is there as it was; otherwise what was
   * taken from the old one is let go of for good (never settled on another: an ack carries its
   * stream sequence, and a consumer acked past its next message skips to it), the consumer is made
   * again (at the first message of a replaced stream, else where this daemon was) or bound again,
   * and pulling starts over.
   */
  repair(streamReplaced: boolean): Promise<RepairResult> {
    let result: RepairResult = 'kept';
    return this.#switch(async () => {
      if (this.#stopped || this.#consumer === undefined) return;
      const exists = await this.consumerInfo().then(
        () => true,
        (error: unknown) => {
          if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return false;
          throw error;
        },
      );
      if (exists && !streamReplaced) {
        if (!this.#consumeLost) return;
        // The stream or consumer was missing for a moment: pull again now rather than after nats.js's 30 s.
        result = 'rebound';
      } else {
        const start: StartPosition = streamReplaced ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#resumeAt() };
        this.#letGoOfTaken();
        result = (await this.#bind(start, false)) ? 'made' : 'rebound';
      }
      this.#consumeLost = false;
      const pulling = this.#pulling;
      await this.#stopConsuming();
      if (pulling && !this.#stopped) await this.#consume();
    }).then(() => result);
  }

  /** What this intake took from a consumer NATS has lost stays in hand (its delivery goes on) but is never settled on the broker. */
  #letGoOfTaken(): void {
    const stale = (this.#stale ??= new WeakSet());
    for (const msg of this.#inHand) stale.add(msg);
    // What the old pull still yields is handed back, and skipped the same way.
    this.#session.lost = true;
    this.#session.pulling = false;
  }

  /** Whether the message came from a consumer NATS has since lost (see repair()). */
  isStale(msg: JsMsg): boolean {
    return this.#stale !== undefined && this.#stale.has(msg);
  }

  /** A message went back to the stream (nak): until it is seen again, a consumer made again must start at or before it. */
  returned(msg: JsMsg, delayMs: number): void {
    const awaiting = this.#awaiting;
    awaiting.set(msg.info.streamSequence, Date.now() + delayMs);
    // Another daemon may take it, and then this one never sees it again. A consumer never has more
    // than max_ack_pending messages out (those waiting for a redelivery count), so twice that is plenty.
    this.#awaitingOldest.trimTo(2 * this.options.settings.stream.maxAckPending);
  }

  /**
   * The stream's first message is now `firstSeq`: the messages handed back for a retry below it,
   * still awaited, will never come back (the stream dropped them). Returns how many; forgets them.
   */
  droppedWhileAwaited(firstSeq: number): number {
    let dropped = 0;
    const since = Date.now() - 2 * this.options.settings.stream.ackWaitMs;
    for (const [sequence, due] of this.#awaiting) {
      if (sequence >= firstSeq) continue;
      this.#awaiting.delete(sequence);
      if (due >= since) dropped += 1;
    }
    return dropped;
  }

  /**
   * Where a consumer lost on a surviving stream starts again: at the first message this daemon holds
   * or handed back for a retry, else after the last it took (or the ack floor when it took none).
   * Messages another daemon held come again (duplicates, which insert_id makes harmless).
   */
  #resumeAt(): number {
    let at = Math.max(this.#ackFloor, this.#lastTaken + 1);
    for (const msg of this.#inHand) if (!this.isStale(msg)) at = Math.min(at, msg.info.streamSequence);
    // One a daemon took and settled elsewhere is no longer awaited after its delay and two ack_waits.
    const since = Date.now() - 2 * this.options.settings.stream.ackWaitMs;
    for (const [sequence, due] of this.#awaiting) if (due >= since) at = Math.min(at, sequence);
    return at;
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

  async #pull(messages: AsyncIterable<JsMsg> | Iterable<JsMsg>, handler: IntakeHandler, session: Session): Promise<void> {
    const gate = this.options.gate;
    for await (const msg of messages) {
      // Kept in hand by a refresh: from here on the loop holds it as it holds any other.
      if (this.#inHand.has(msg)) this.letGo([msg]);
      // Stopped: what the client had buffered is still yielded (nats.js ends the iterator after it);
      // it goes back once the server has dropped this client's pull requests (stop()).
      if (!session.pulling) {
        this.#giveBack(msg, session);
        continue;
      }
      this.#yieldedAt[this.#yieldedNext] = Date.now();
      this.#yieldedNext = (this.#yieldedNext + 1) % this.#yieldedAt.length;
      const sequence = msg.info.streamSequence;
      if (sequence > this.#lastTaken) this.#lastTaken = sequence;
      if (this.#awaiting.size > 0) this.#awaiting.delete(sequence);
      // The capacity gate: no new request while the sync, or its destination, has its fill in
      // flight. Checked before taking the message, so neither cap is ever passed.
      if (this.#mustWait) {
        this.hold(msg); // in hand while parked: heartbeated like the messages in flight
        this.#parked = true;
        // Checked again on waking: another sync may have taken the slot first.
        while (this.#mustWait && session.pulling) {
          this.#parkedForHand = this.#handFull;
          await new Promise<void>((resolve) => {
            this.#capacityWaiter = resolve;
            gate.park(this);
          });
          gate.leave(this);
        }
        this.#parked = false;
        this.#parkedForHand = false;
        this.letGo([msg]);
        if (!session.pulling) {
          // Stopped while parked: this one goes back, and so does the rest of the buffer.
          this.#giveBack(msg, session);
          continue;
        }
      }
      try {
        handler.take(msg);
      } catch (error) {
        // A bug must not stop the sync: the message goes back to JetStream and the loop goes on.
        handler.threw(msg, error);
      }
    }
  }

  /** Handed back once the pull has stopped; from a lost consumer, never settled (see repair()). */
  #giveBack(msg: JsMsg, session: Session): void {
    if (session.lost) (this.#stale ??= new WeakSet()).add(msg);
    this.#handBack.push(msg);
  }

  /** The message is in hand until it is let go: heartbeated, and waited for by a drain. */
  hold(msg: JsMsg): void {
    this.#inHand.add(msg);
  }

  letGo(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) this.#inHand.delete(msg);
    if (this.#inHand.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    // Parked with its hands full: this may have made room (the other caps wake it through the gate).
    if (this.#parkedForHand && !this.#handFull) this.resume();
  }

  get inHand(): number {
    return this.#inHand.size;
  }

  requestStarted(): void {
    this.options.gate.requestStarted(this);
  }

  /** The gate resumes one parked sync of the destination (this one included) that can go on. */
  requestEnded(): void {
    this.options.gate.requestEnded(this);
  }

  /** A request waits for an in-process retry: it keeps its place in the sync's cap, not the destination's. */
  retryWaitStarted(): void {
    this.options.gate.retryWaitStarted(this);
  }

  /** Its wait is over (it is sent again, or settled): it holds a destination slot again, over the cap if need be. */
  retryWaitEnded(): void {
    this.options.gate.retryWaitEnded(this);
  }

  /** Whether the next message must wait: a cap is full, or the circuit breaker admits no request now. */
  get #mustWait(): boolean {
    const gate = this.options.gate;
    return gate.syncFull(this) || this.#handFull || gate.destinationFullFor(this) || this.options.circuitAdmits?.() === false;
  }

  /** maxAckPending messages in hand, besides the one held at the gate and those behind a retry. */
  get #handFull(): boolean {
    const counted = this.#inHand.size - (this.#parked ? 1 : 0) - (this.options.behindRetry?.() ?? 0);
    return counted >= this.options.settings.stream.maxAckPending;
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
    return this.options.gate.syncFull(this) ? 'sync' : this.#handFull ? 'hand' : this.options.circuitAdmits?.() === false ? 'circuit' : 'destination';
  }

  /** Stops taking messages and hands back what the client had buffered; what is in hand stays in hand. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#switch(() => this.#stopConsuming());
  }

  /** `keep`: a parked loop's refresh (see #refresh): what the pull yields is kept in hand, not handed back. */
  async #stopConsuming(keep = false): Promise<void> {
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
    for (const msg of this.#handBack.splice(0)) {
      if (keep && !this.isStale(msg)) {
        this.#kept.push(msg);
        this.hold(msg);
      } else this.#handler?.untaken(msg);
    }
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

/** For the log: where a consumer made now starts. */
function describeStart(start: StartPosition): Record<string, unknown> {
  if (start.deliver_policy === DeliverPolicy.All) return { from: "the stream's first message" };
  if (start.deliver_policy === DeliverPolicy.StartSequence) return { from: `stream sequence ${start.opt_start_seq}` };
  return {};
}
