// Every settlement of a sync's JetStream messages, in one place: ack (sent together once per
// event-loop turn), nak with or without a delay, and dead letter + term. Also the attempts a
// message used in process, carried across a nak(delay) so its next delivery counts on from there.
// Nothing else in the daemon calls ack, nak or term.
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_CARRIED_ATTEMPTS, DEFAULT_MAX_IN_PROCESS_WAIT_MS, DEFAULT_RESPONSE_EXCERPT_BYTES } from '../defaults.js';
import { buildDeadLetter, deadLetterSubject } from '../dead-letter/index.js';
import { decideRetry, failedItems, retryDelayMs, RETRY_DECISIONS, RetryableDeliveryError, type DeliveryOutcome, type DeliveryProgress, type ItemFailure, type RetryRules } from '../delivery/index.js';
import type { AmplitudeEvent } from '../events/index.js';
import type { Logger } from '../log.js';
import type { LoadedSync } from '../registry/index.js';
import { redactRequest } from '../registry/index.js';
import type { RenderedRequest } from '../render/index.js';
import { recentDeliveriesOf, type SyncStats } from '../telemetry/index.js';
import type { MessagesInHand } from './intake.js';
import type { DeliveryItem } from './delivery-item.js';

/** What a dead letter says about why its message could not be delivered. */
export interface DeadLetterCause {
  reason: string;
  message?: string;
  attempts: number;
  lastStatus?: number;
  responseExcerpt?: string;
  request?: RenderedRequest;
  /** The decoded events, one per message, when decoding got that far. */
  events?: AmplitudeEvent[];
}

/** A delivery that reached its outcome, as Outcomes reads it (SyncDelivery is one). */
export interface SettledDelivery extends DeliveryProgress {
  readonly items: readonly DeliveryItem[];
  readonly kind: 'track' | 'identify';
  readonly outcome: DeliveryOutcome | undefined;
  readonly request: RenderedRequest | undefined;
  /** The last answer, when there was one. */
  readonly lastResponse: { status: number; bodyExcerpt: string } | undefined;
}

export interface OutcomesOptions {
  js: JetStreamClient;
  settings: DaemonSettings;
  stats: SyncStats;
  log: Logger;
  rules: RetryRules;
  hand: MessagesInHand;
  /** The server's max_payload: a dead letter is cut to fit it (maxPayloadOf). */
  maxPayload?: number;
  /** While the sync's circuit breaker holds it off: how long what goes back waits in the stream (the wait before its next probe). What goes back then costs no attempt. */
  holdingBack?: () => number | undefined;
  /** Told of every message that goes back to the stream, and when it should be handed back (ordering: what follows it waits for it). */
  returned?: (msg: JsMsg, delayMs: number) => void;
  /** Change-based identify: records what delivered items sent before they are acked; returns those it could not. */
  remember?: (items: readonly DeliveryItem[]) => Promise<DeliveryItem[]>;
}

export class Outcomes {
  #pendingAcks: JsMsg[] = [];
  /**
   * Attempts a message used beyond its JetStream delivery count (in-process retries count as
   * attempts), remembered when it goes back with nak(delay) so that its next delivery counts on
   * from there and the retry policy's attempts are not used again. In memory only: after a restart
   * or a reload, or on another daemon, counting starts again from the delivery count. Keyed by
   * stream sequence; the oldest entries go first past DEFAULT_CARRIED_ATTEMPTS.
   */
  readonly #carriedAttempts = new Map<number, number>();

  constructor(
    private readonly sync: LoadedSync,
    private readonly options: OutcomesOptions,
  ) {}

  /** The attempt a message's delivery is: its JetStream delivery count, plus what it used in process before. */
  attemptOf(msg: JsMsg): number {
    const info = msg.info;
    return this.#carriedAttempts.size === 0 ? info.deliveryCount : info.deliveryCount + (this.#carriedAttempts.get(info.streamSequence) ?? 0);
  }

  /** Left out on purpose (the sync's filter, or a replay aimed at another sync): acked, never sent. */
  skip(msg: JsMsg): void {
    msg.ack();
  }

  /**
   * Back to JetStream at once (a stop, a release). While the circuit breaker holds the sync off, the
   * try it was on does not count: its next delivery is the same attempt again.
   */
  release(msgs: readonly JsMsg[], attempt?: number): void {
    const holdMs = this.options.holdingBack?.();
    for (const msg of msgs) {
      if (holdMs === undefined) {
        this.#backToStream(msg);
        continue;
      }
      // Held off: not redelivered before the probe, so it cannot land in a pull request the paused
      // consumer is closing (where it would wait for ack_wait).
      this.#carryAttempts(msg, (attempt ?? this.attemptOf(msg)) - 1);
      this.#backToStream(msg, holdMs);
    }
  }

  /** Handling the message threw (a bug): back to JetStream after a short wait, so nothing is lost. */
  returnAfterError(msg: JsMsg, error: unknown): void {
    this.options.log.error('cannot handle a message; returned to the stream', { error, sequence: msg.info.streamSequence });
    this.#backToStream(msg, DEFAULT_MAX_IN_PROCESS_WAIT_MS);
  }

  /**
   * Never sent, held back by its user's barrier while that is full (ordering "user"): back to the
   * stream for `delayMs`, costing no attempt (its next delivery is the same attempt again).
   */
  returnUnsent(msg: JsMsg, delayMs: number): void {
    this.#carryAttempts(msg, this.attemptOf(msg) - 1);
    this.#backToStream(msg, delayMs);
    this.options.stats.returnedByUserBarrier += 1;
    this.options.hand.letGo([msg]);
  }

  /** Not handled yet and not by its fault (the identify memory cannot be read): back to JetStream on the retry schedule. */
  handBackLater(msg: JsMsg, error: unknown): void {
    const { stats, log, hand, rules } = this.options;
    const delayMs = retryDelayMs(rules.policy, msg.info.deliveryCount);
    log.warn('cannot compare the identify with its memory; message returned to the stream', { error, retryInMs: delayMs });
    stats.deferred += 1;
    this.#backToStream(msg, delayMs);
    hand.letGo([msg]);
  }

  /** A message that cannot become a request (invalid event, missing field): dead-lettered. */
  refuse(msg: JsMsg, cause: DeadLetterCause): Promise<void> {
    recentDeliveriesOf(this.options.stats).refused(msg, cause.events?.[0]?.insert_id, cause.reason, cause.attempts);
    return this.#deadLetter([msg], cause);
  }

  /** What a delivery's outcome does to its messages: ack, nak(delay), nak, or dead letter + term. */
  async settle(delivery: SettledDelivery): Promise<void> {
    const { items, kind, lastResponse: response } = delivery;
    const msgs = items.map((item) => item.msg);
    const { stats, log, hand } = this.options;
    recentDeliveriesOf(stats).settled(delivery);
    switch (delivery.outcome) {
      case 'delivered': {
        const definition = this.sync.destination.definition;
        const multiStatus = kind === 'identify' ? definition.identify?.multiStatus : definition.request.multiStatus;
        // A batch of one counts too: a 2xx that lists its only event as rejected did not deliver it.
        const failures = multiStatus && definition.batch && response ? failedItems(multiStatus, response.bodyExcerpt, items.length) : [];
        if (failures.length > 0) return this.#settleItems(delivery, response!.bodyExcerpt, failures);
        this.#delivered(kind === 'identify' && this.options.remember ? await this.#remembered(items) : msgs, delivery);
        return this.#finish(msgs);
      }
      case 'deferred':
        stats.deferred += items.length;
        // Per request, so debug: a failing sync is summarised every 10 s (failure-log.ts).
        log.debug('delivery will be retried', { attempt: delivery.attempt, status: delivery.status, reason: delivery.reason, delayMs: delivery.delayMs, events: items.length, kind });
        for (const msg of msgs) this.#retryLater(msg, delivery.attempt, delivery.delayMs!);
        return this.#finish(msgs);
      case 'released':
        this.release(msgs, delivery.attempt);
        return this.#finish(msgs);
      case 'dead':
        this.#forgetAttempts(msgs);
        hand.requestEnded();
        return this.#deadLetter(msgs, {
          reason: delivery.reason ?? 'unknown',
          message: delivery.message,
          attempts: delivery.attempt,
          lastStatus: delivery.status,
          responseExcerpt: response?.bodyExcerpt.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES),
          request: delivery.request,
          events: items.map((item) => item.context.input),
        });
      case undefined:
        throw new Error('settle() called before the delivery reached an outcome');
    }
  }

  /** The delivery machine failed (a bug in an action): the messages go back to JetStream, nothing is lost. */
  failed(delivery: SettledDelivery, error: unknown): void {
    this.options.log.error('delivery machine failed', { error });
    const msgs = delivery.items.map((item) => item.msg);
    for (const msg of msgs) this.#backToStream(msg, DEFAULT_MAX_IN_PROCESS_WAIT_MS);
    this.#finish(msgs);
  }

  /** Sends the acks still waiting for the end of the event-loop turn (on drain). */
  readonly flushAcks = (): void => {
    const msgs = this.#pendingAcks;
    this.#pendingAcks = [];
    for (const msg of msgs) msg.ack();
  };

  /** A 2xx whose multi-status body lists failed items: the others are delivered; a retryable item
   *  goes back to JetStream on the schedule (never retried alone in process), a permanent one, or
   *  one out of attempts, is dead-lettered. */
  async #settleItems(delivery: SettledDelivery, responseBody: string, failures: ItemFailure[]): Promise<void> {
    const { stats, log, hand, rules } = this.options;
    const items = delivery.items;
    const failed = new Map(failures.map((failure) => [failure.index, failure]));
    const delivered = items.filter((_, index) => !failed.has(index)).map((item) => item.msg);
    const remembered = delivery.kind === 'identify' && this.options.remember ? await this.#remembered(items.filter((_, index) => !failed.has(index))) : delivered;
    this.#delivered(remembered, delivery);
    const dead: Array<{ msg: JsMsg; event: AmplitudeEvent; failure: ItemFailure; exhausted: boolean }> = [];
    const retried: JsMsg[] = [];
    for (const [index, failure] of failed) {
      const item = items[index];
      // The item's attempt is the batch request's, in-process retries of the batch included.
      const decision =
        failure.result instanceof RetryableDeliveryError
          ? decideRetry(rules, { attempt: delivery.attempt, retriesInProcess: rules.maxInProcessRetries, retryAfterMs: failure.result.retryAfterMs, jitterDraw: Math.random() })
          : undefined;
      if (decision && decision.kind !== RETRY_DECISIONS.giveUp) {
        this.#retryLater(item.msg, delivery.attempt, decision.delayMs);
        retried.push(item.msg);
      } else {
        this.#forgetAttempts([item.msg]);
        dead.push({ msg: item.msg, event: item.context.input, failure, exhausted: decision !== undefined });
      }
    }
    stats.deferred += retried.length;
    log.info('batch partly failed', { events: items.length, retried: retried.length, dead: dead.length });
    hand.letGo([...delivered, ...retried]);
    hand.requestEnded();
    await Promise.all(
      dead.map(({ msg, event, failure, exhausted }) =>
        this.#deadLetter([msg], {
          reason: exhausted ? 'retries_exhausted' : failure.result.code,
          message: `item ${failure.index} of the batch failed with status ${failure.status}${failure.message === undefined ? '' : `: ${failure.message}`}`,
          attempts: delivery.attempt,
          lastStatus: failure.status,
          responseExcerpt: responseBody.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES),
          request: delivery.request,
          events: [event],
        }),
      ),
    );
  }

  /** The messages of delivered items whose identify memory is written (or that need none); the others go back to be sent again. */
  async #remembered(items: readonly DeliveryItem[]): Promise<JsMsg[]> {
    const msgs = items.map((item) => item.msg);
    const unremembered = new Set((await this.options.remember!(items)).map((item) => item.msg));
    if (unremembered.size === 0) return msgs;
    // Delivered, so no attempt is counted: the wait grows with the delivery count, as when dead letters cannot be written.
    for (const msg of unremembered) this.#backToStream(msg, retryDelayMs(this.options.rules.policy, msg.info.deliveryCount));
    this.#forgetAttempts([...unremembered]);
    this.options.stats.deferred += unremembered.size;
    return msgs.filter((msg) => !unremembered.has(msg));
  }

  #delivered(msgs: readonly JsMsg[], delivery: DeliveryProgress): void {
    const stats = this.options.stats;
    if (delivery.attempt === 1 && delivery.requests === 1) stats.deliveredFirstAttempt += msgs.length;
    else stats.deliveredAfterRetry += msgs.length;
    const now = Date.now();
    for (const msg of msgs) stats.latency.observe((now - msg.info.timestampNanos / 1e6) / 1_000);
    this.#forgetAttempts(msgs);
    this.#ackSoon(msgs);
  }

  /** Back to JetStream for attempt `attempt + 1` after `delayMs`. */
  #retryLater(msg: JsMsg, attempt: number, delayMs: number): void {
    this.#carryAttempts(msg, attempt);
    this.#backToStream(msg, delayMs);
  }

  /** Every nak goes through here: JetStream hands the message back after `delayMs` (at once without). */
  #backToStream(msg: JsMsg, delayMs?: number): void {
    this.options.returned?.(msg, delayMs ?? 0);
    if (delayMs === undefined) msg.nak();
    else msg.nak(delayMs);
  }

  /** Before a nak(delay) after attempt `attempt`: the message's next delivery is attempt `attempt + 1`. */
  #carryAttempts(msg: JsMsg, attempt: number): void {
    const { streamSequence, deliveryCount } = msg.info;
    const carried = this.#carriedAttempts;
    carried.delete(streamSequence);
    // Negative when a try did not count (the circuit breaker held the sync off).
    if (attempt === deliveryCount) return;
    carried.set(streamSequence, attempt - deliveryCount);
    if (carried.size > DEFAULT_CARRIED_ATTEMPTS) carried.delete(carried.keys().next().value!);
  }

  #forgetAttempts(msgs: readonly JsMsg[]): void {
    if (this.#carriedAttempts.size === 0) return;
    for (const msg of msgs) this.#carriedAttempts.delete(msg.info.streamSequence);
  }

  /** Acks are sent together once per event-loop turn: nats.js flushes its buffer once per
   *  microtask checkpoint, so acks from separate responses would each cost a socket write. */
  #ackSoon(msgs: readonly JsMsg[]): void {
    for (const msg of msgs) this.#pendingAcks.push(msg);
    if (this.#pendingAcks.length === msgs.length) setImmediate(this.flushAcks);
  }

  /** The request's messages are settled: none is in hand any more, and its slot is free. */
  #finish(msgs: readonly JsMsg[]): void {
    this.options.hand.letGo(msgs);
    this.options.hand.requestEnded();
  }

  /** Since when dead letters of this sync cannot be written (undefined while they can): readiness says so. */
  get deadLettersFailingSince(): Date | undefined {
    return this.#deadLettersFailingSince;
  }

  #deadLettersFailingSince: Date | undefined;

  /**
   * Publishes a dead letter per message to the DEAD stream, then terminates the message. A letter is
   * written once: its message ID is the sync and the stream sequence, so a redelivery after a lost
   * PubAck is deduplicated by the stream. If it cannot be written, the message goes back to JetStream
   * with a wait that grows on the retry schedule (its delivery count), nothing is counted or logged as
   * dead-lettered, and the sync's other messages flow on.
   */
  async #deadLetter(msgs: readonly JsMsg[], cause: DeadLetterCause): Promise<void> {
    const { js, settings, stats, log, hand, rules } = this.options;
    const sync = this.sync;
    const subject = deadLetterSubject(settings.stream.deadLetterSubjectPrefix, sync.destination.slug, sync.name);
    await Promise.all(
      msgs.map(async (msg, index) => {
        const letter = buildDeadLetter({
          destination: sync.destination.slug,
          sync: sync.id,
          definitionVersion: sync.destination.version,
          reason: cause.reason,
          message: cause.message,
          attempts: cause.attempts,
          lastStatus: cause.lastStatus,
          responseExcerpt: cause.responseExcerpt,
          // A header built from a secret (Basic auth: base64 of id:key) is blanked whole; values are redacted too.
          request: cause.request && redactRequest(sync, cause.request),
          event: cause.events?.[index],
          data: msg.data,
          source: { stream: msg.info.stream, sequence: msg.info.streamSequence, subject: msg.subject, publishedAt: msg.time.toISOString() },
          secrets: sync.parameters.secretValues,
          maxPayload: this.options.maxPayload,
        });
        const headers = natsHeaders();
        headers.set('Destinations-Reason', cause.reason);
        headers.set('Destinations-Sync', sync.id);
        try {
          await js.publish(subject, JSON.stringify(letter), { headers, msgID: `${sync.id}:${msg.info.streamSequence}` });
        } catch (error) {
          stats.deadLetterFailures += 1;
          this.#deadLettersFailingSince ??= new Date();
          const delayMs = retryDelayMs(rules.policy, msg.info.deliveryCount);
          log.error('cannot write dead letter; message returned to the stream', { error, reason: cause.reason, retryInMs: delayMs });
          this.#backToStream(msg, delayMs);
          return;
        }
        // No reason in the TERM: nats-server 2.9 ignores "+TERM <reason>" and redelivers the
        // message after ack_wait (a new dead letter each time); the reason is in the dead letter.
        msg.term();
        this.#deadLettersFailingSince = undefined;
        if (cause.reason === 'retries_exhausted') stats.expired += 1;
        else stats.countDiscarded(cause.reason, 1);
        log.warn('dead-lettered', { reason: cause.reason, message: letter.message, insertId: letter.insertId, attempts: cause.attempts, status: cause.lastStatus });
      }),
    );
    hand.letGo(msgs);
  }
}
