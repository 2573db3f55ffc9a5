// Every settlement of a sync's JetStream messages, in one place: nothing else in the daemon calls
// ack, nak or term. Each verb is named by its act and, for a nak, by whether the try it ends is
// spent as an attempt of the retry policy ("Spent": the next delivery is the next attempt) or not
// ("Free": the next delivery is the same attempt again). An attempt is the message's JetStream
// delivery count plus what it used in process before a nak(delay) (attemptOf, carried below).
//
// | verb                        | JetStream act                                         | attempt spent?                       | who calls it                                                   |
// |-----------------------------|-------------------------------------------------------|--------------------------------------|----------------------------------------------------------------|
// | ackFiltered                 | ack, at once                                          | — (final)                            | runner: filtered, replay for another sync; identify unchanged   |
// | ackIfDelivered              | ack, at once                                          | — (final)                            | runner: a copy JetStream sent again of one delivered lately     |
// | settle → delivered          | ack, with the event-loop turn's other acks            | — (final)                            | SyncDelivery, when its machine reaches an outcome               |
// | settle → per item           | named failed: dead letter + term; throttled or        | spent (named); free (others resent)  | SyncDelivery: an answer that named items (multiStatus)          |
// |                             | retryable: nak(its delay); others: ack, or nak at once|                                      |                                                                 |
// | settle → deferred           | nak(the schedule's delay)                             | spent (carried across the nak)       | SyncDelivery                                                    |
// | settle → released           | as nakReleased                                        | as nakReleased                       | SyncDelivery (aborted: stop, circuit opened)                    |
// | settle → dead               | dead letter, then term                                | — (final)                            | SyncDelivery                                                    |
// | nakReleased                 | nak at once; nak(wait for the probe) while held off   | spent; free while the circuit holds  | runner: stop, circuit opened (held, batched, untaken messages)  |
// | nakFreeForTurn              | nak(delay): after its user's earlier events           | free                                 | user barrier full (ordering "user")                             |
// | nakSpentOnSchedule          | nak(the schedule's delay for its delivery count)      | spent                                | identify changes: the identify memory cannot be read            |
// | nakSpentAfterBug            | nak(DEFAULT_MAX_IN_PROCESS_WAIT_MS)                   | spent                                | intake: handling the message threw                              |
// | nakSpentAfterMachineBug     | nak(DEFAULT_MAX_IN_PROCESS_WAIT_MS), per message      | spent                                | SyncDelivery: the delivery machine failed                       |
// | termDeadLettered            | dead letter, then term                                | — (final)                            | runner: an event that cannot become a request; SyncDelivery: an |
// |                             |                                                       |                                      | event of a batch whose request alone breaks the contract        |
// | flushAcks                   | the acks still waiting for the end of the turn        | —                                    | runner's drain                                                  |
// | holdNaks → handBack         | every nak above from the stop on, sent at the drain's end in stream order (nak at once; nak(wait for the probe) while held off) | as the verb that asked | runner: stopPulling, then the drain's end |
//
// A dead letter that cannot be written goes back with nak(the schedule's delay), spent, and the
// delivered identify whose memory cannot be written with nak(the same), its carried attempts
// forgotten. The fourth act, working(), settles nothing: the intake's heartbeat sends it for every
// message in hand. Messages from a consumer NATS has since lost are never settled on the broker.
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_CARRIED_ATTEMPTS, DEFAULT_DELIVERED_REMEMBERED, DEFAULT_MAX_IN_PROCESS_WAIT_MS, DEFAULT_RESPONSE_EXCERPT_BYTES } from '../defaults.js';
import { buildDeadLetter, deadLetterSubject } from '../dead-letter/index.js';
import { deadLetterReasonOf, decideRetry, retryDelayMs, RETRY_DECISIONS, RetryableDeliveryError, type DeliveryOutcome, type DeliveryProgress, type ItemResults, type RetryRules } from '../delivery/index.js';
import type { AmplitudeEvent } from '../events/index.js';
import type { Logger } from '../log.js';
import type { LoadedSync } from '../registry/index.js';
import { redactRequest } from '../registry/index.js';
import type { ContractViolation } from '../contract/index.js';
import type { RenderedRequest } from '../render/index.js';
import { deadLetterReason, type DeadLetterReason } from '../reasons.js';
import { redactorFor } from '../secrets/index.js';
import { recentDeliveriesOf, type DeliveryRedaction, type SyncStats } from '../telemetry/index.js';
import type { MessagesInHand } from './intake.js';
import type { DeliveryItem } from './delivery-item.js';
import { PeriodicSummary } from './periodic-summary.js';
import { OldestFirst } from './oldest-first.js';

/** What a dead letter says about why its message could not be delivered. */
export interface DeadLetterCause {
  reason: DeadLetterReason;
  message?: string;
  attempts: number;
  lastStatus?: number;
  responseExcerpt?: string;
  request?: RenderedRequest;
  /** contract_violation: where the request breaks the destination's contract. */
  detail?: ContractViolation;
  /** The decoded events, one per message, when decoding got that far. */
  events?: AmplitudeEvent[];
}

/** A delivery that reached its outcome, as Outcomes reads it (SyncDelivery is one). */
export interface SettledDelivery extends DeliveryProgress {
  readonly items: readonly DeliveryItem[];
  readonly kind: 'track' | 'identify';
  readonly outcome: DeliveryOutcome | undefined;
  readonly request: RenderedRequest | undefined;
  readonly detail?: ContractViolation;
  /** The last answer, when there was one. */
  readonly lastResponse: { status: number; bodyExcerpt: string } | undefined;
  /** What the last answer said item by item (the destination's multiStatus), when it named items. */
  readonly itemResults?: ItemResults;
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
  /** Taken from a consumer NATS has since lost: settled here, never on the broker (an ack on the consumer made again could skip it ahead). */
  stale?: (msg: JsMsg) => boolean;
  /** A dead letter could not be written: the dead-letter stream may be gone (the daemon checks). */
  lost?: (why: string) => void;
}

const NONE: ReadonlySet<JsMsg> = new Set();

export class Outcomes {
  #pendingAcks: JsMsg[] = [];
  /** Stream sequences delivered lately (the oldest go first past DEFAULT_DELIVERED_REMEMBERED): see ackIfDelivered. */
  readonly #deliveredLately = new Set<number>();
  readonly #deliveredOldest = new OldestFirst(this.#deliveredLately);
  /** From the stop on (holdNaks): what goes back to the stream waits here for the drain's end (handBack). */
  #handingBack: Set<JsMsg> | undefined;
  /**
   * Attempts a message used beyond its JetStream delivery count (in-process retries count as
   * attempts), remembered when it goes back with nak(delay) so that its next delivery counts on
   * from there and the retry policy's attempts are not used again. In memory only: after a restart
   * or a reload, or on another daemon, counting starts again from the delivery count. Keyed by
   * stream sequence; the oldest entries go first past DEFAULT_CARRIED_ATTEMPTS.
   */
  readonly #carriedAttempts = new Map<number, number>();
  readonly #carriedOldest = new OldestFirst(this.#carriedAttempts);

  /** Dead letters are logged per sync and reason once per interval (each is at debug), like failing requests. */
  readonly #letters: PeriodicSummary;
  #lastLetter: Record<string, unknown> | undefined;
  /** Dead letters the DEAD stream refused, the same way. */
  readonly #unwritten: PeriodicSummary;
  #lastUnwritten: Record<string, unknown> | undefined;

  /** How the console's detail of a recent delivery takes this sync's secrets out (run only when someone opens one). */
  readonly #redaction: DeliveryRedaction = {
    request: (request) => redactRequest(this.sync, request),
    text: (text) => redactorFor(this.sync.parameters.secretValues).redactCut(text),
  };

  constructor(
    private readonly sync: LoadedSync,
    private readonly options: OutcomesOptions,
  ) {
    this.#letters = new PeriodicSummary((deadLetters) => options.log.warn('events dead-lettered', { deadLetters, last: this.#lastLetter }));
    this.#unwritten = new PeriodicSummary((reasons) => options.log.error('cannot write dead letters; messages returned to the stream', { reasons, last: this.#lastUnwritten }));
  }

  /** Writes the dead-letter summaries still counting (on drain) and stops their timers. */
  stopLogging(): void {
    this.#letters.flush();
    this.#unwritten.flush();
    this.#letters.stop();
    this.#unwritten.stop();
  }

  /** The attempt a message's delivery is: its JetStream delivery count, plus what it used in process before. */
  attemptOf(msg: JsMsg): number {
    const info = msg.info;
    return this.#carriedAttempts.size === 0 ? info.deliveryCount : info.deliveryCount + (this.#carriedAttempts.get(info.streamSequence) ?? 0);
  }

  /**
   * A copy JetStream sends again of a message this sync delivered (its ack_wait ran out while it
   * waited in the client's buffer, or the ack was lost): acked, not sent again. Sent again, it
   * would reach the destination after its user's later events. Returns whether it was one.
   */
  ackIfDelivered(msg: JsMsg): boolean {
    if (!msg.info.redelivered || !this.#deliveredLately.has(msg.info.streamSequence)) return false;
    if (!this.options.stale?.(msg)) msg.ack();
    return true;
  }

  /** The stream was made again: its sequences name other messages. */
  forgetDelivered(): void {
    this.#deliveredLately.clear();
  }

  /** Left out on purpose (the sync's filter, or a replay aimed at another sync): acked, never sent. */
  ackFiltered(msg: JsMsg): void {
    if (this.options.stale?.(msg)) return;
    msg.ack();
  }

  /**
   * Let go unsent, back to JetStream at once (a stop, the circuit opening), the try spent. While the
   * circuit breaker holds the sync off, the try does not count: its next delivery is the same
   * attempt again, not before the probe.
   */
  nakReleased(msgs: readonly JsMsg[], attempt?: number): void {
    const holdMs = this.options.holdingBack?.();
    for (const msg of msgs) {
      if (holdMs === undefined) {
        this.#nak(msg);
        continue;
      }
      // Held off: not redelivered before the probe, so it cannot land in a pull request the paused
      // consumer is closing (where it would wait for ack_wait).
      this.#nakFree(msg, holdMs, attempt ?? this.attemptOf(msg));
    }
  }

  /** Handling the message threw (a bug): back to JetStream after a short wait, so nothing is lost. */
  nakSpentAfterBug(msg: JsMsg, error: unknown): void {
    this.options.log.error('cannot handle a message; returned to the stream', { error, sequence: msg.info.streamSequence });
    this.#nak(msg, DEFAULT_MAX_IN_PROCESS_WAIT_MS);
  }

  /**
   * Never sent, held back by its user's barrier while that is full (ordering "user"): back to the
   * stream for `delayMs`, costing no attempt (its next delivery is the same attempt again).
   */
  nakFreeForTurn(msg: JsMsg, delayMs: number): void {
    this.#nakFree(msg, delayMs, this.attemptOf(msg));
    this.options.stats.returnedByUserBarrier += 1;
    this.options.hand.letGo([msg]);
  }

  /** Not handled yet and not by its fault (the identify memory cannot be read): back to JetStream on the retry schedule. */
  nakSpentOnSchedule(msg: JsMsg, error: unknown): void {
    const { stats, log, hand, rules } = this.options;
    const delayMs = retryDelayMs(rules.policy, msg.info.deliveryCount);
    log.warn('cannot compare the identify with its memory; message returned to the stream', { error, retryInMs: delayMs });
    stats.deferred += 1;
    this.#nak(msg, delayMs);
    hand.letGo([msg]);
  }

  /** A message that cannot become a request (invalid event, missing field): dead-lettered. */
  termDeadLettered(msg: JsMsg, cause: DeadLetterCause): Promise<void> {
    recentDeliveriesOf(this.options.stats).refused(msg, cause.events?.[0], cause.reason, cause.attempts);
    return this.#deadLetter([msg], cause);
  }

  /** What a delivery's outcome does to its messages: ack, nak(delay), nak, or dead letter + term. */
  async settle(delivery: SettledDelivery): Promise<void> {
    const { items, kind, lastResponse: response } = delivery;
    // Every event of the request was settled before it was sent (each broke the contract alone): only its slot is left.
    if (items.length === 0) return this.options.hand.requestEnded();
    const msgs = items.map((item) => item.msg);
    const { stats, log, hand } = this.options;
    recentDeliveriesOf(stats).settled(delivery, this.#redaction);
    switch (delivery.outcome) {
      case 'delivered': {
        // A batch of one counts too: an answer that names its only event as rejected did not deliver it.
        if (delivery.itemResults && response) return this.#settleItems(delivery, response.bodyExcerpt, delivery.itemResults);
        this.#delivered(kind === 'identify' && this.options.remember ? await this.#remembered(items) : msgs, delivery);
        return this.#finish(msgs);
      }
      case 'deferred':
        stats.deferred += items.length;
        // Per request, so debug: a failing sync is summarised every 10 s (failure-log.ts).
        log.debug('delivery will be retried', { attempt: delivery.attempt, status: delivery.status, reason: delivery.reason, delayMs: delivery.delayMs, events: items.length, kind });
        for (const msg of msgs) this.#nakSpent(msg, delivery.delayMs!, delivery.attempt);
        return this.#finish(msgs);
      case 'released':
        this.nakReleased(msgs, delivery.attempt);
        return this.#finish(msgs);
      case 'dead':
        this.#forgetAttempts(msgs);
        hand.requestEnded();
        return this.#deadLetter(msgs, {
          reason: deadLetterReason(delivery.reason),
          message: delivery.message,
          attempts: delivery.attempt,
          lastStatus: delivery.status,
          responseExcerpt: response?.bodyExcerpt.slice(0, DEFAULT_RESPONSE_EXCERPT_BYTES),
          request: delivery.request,
          detail: delivery.detail,
          events: items.map((item) => item.context.input),
        });
      case undefined:
        throw new Error('settle() called before the delivery reached an outcome');
    }
  }

  /** The delivery machine failed (a bug in an action): the messages go back to JetStream, nothing is lost. */
  nakSpentAfterMachineBug(delivery: SettledDelivery, error: unknown): void {
    this.options.log.error('delivery machine failed', { error });
    const msgs = delivery.items.map((item) => item.msg);
    for (const msg of msgs) this.#nak(msg, DEFAULT_MAX_IN_PROCESS_WAIT_MS);
    this.#finish(msgs);
  }

  /**
   * The sync stops: from now on every nak waits for handBack(). What a stop hands back comes from
   * everywhere at different times (the client's buffer, held, batched, queued, waiting for a retry,
   * aborted on the wire at the drain's end), and JetStream hands naks back first come, first
   * served, so sent as they come a user's later event could go back before its earlier one.
   */
  holdNaks(): void {
    this.#handingBack ??= new Set();
  }

  /**
   * The drain's end: what the stop hands back goes back in stream order, each user's events in
   * its order for whoever reads next. At once (a retry's delay is not waited out across a stop:
   * a later event of its user would overtake it); while the circuit holds the sync off, all with
   * the same wait for the probe (JetStream hands back in sequence order the naks due together).
   */
  handBack(): JsMsg[] {
    const msgs = this.#handingBack;
    if (msgs === undefined) return [];
    this.#handingBack = undefined;
    const holdMs = this.options.holdingBack?.();
    const sorted = [...msgs].sort((a, b) => a.info.streamSequence - b.info.streamSequence);
    for (const msg of sorted) this.#nak(msg, holdMs);
    return sorted;
  }

  /** What waits for the drain's end to go back (holdNaks): still ours, so the intake heartbeats it. */
  get handingBack(): ReadonlySet<JsMsg> {
    return this.#handingBack ?? NONE;
  }

  /** Sends the acks still waiting for the end of the event-loop turn (on drain). */
  readonly flushAcks = (): void => {
    const msgs = this.#pendingAcks;
    this.#pendingAcks = [];
    const stale = this.options.stale;
    for (const msg of msgs) if (stale === undefined || !stale(msg)) msg.ack();
  };

  /** An answer that named items (multiStatus, on any status it declares): the items not named are
   *  delivered and acked, or, when the destination refused them with the request, sent again at once
   *  costing no attempt; a named retryable (throttled) item goes back to JetStream alone on its
   *  delay (never retried alone in process), a named permanent one, or one out of attempts, is
   *  dead-lettered with the destination's message. */
  async #settleItems(delivery: SettledDelivery, responseBody: string, results: ItemResults): Promise<void> {
    const { stats, log, hand, rules } = this.options;
    const items = delivery.items;
    const failed = new Map(results.failures.map((failure) => [failure.index, failure]));
    const others = items.filter((_, index) => !failed.has(index));
    const resent = results.others === 'resend' ? others.map((item) => item.msg) : [];
    const delivered = results.others === 'resend' ? [] : others.map((item) => item.msg);
    const remembered = delivered.length > 0 && delivery.kind === 'identify' && this.options.remember ? await this.#remembered(others) : delivered;
    this.#delivered(remembered, delivery);
    // Refused with the request, through no fault of their own: the same attempt again, at once.
    for (const msg of resent) this.#nakFree(msg, 0, delivery.attempt);
    const dead: Array<{ msg: JsMsg; event: AmplitudeEvent; failure: (typeof results.failures)[number] }> = [];
    const retried: JsMsg[] = [];
    for (const [index, failure] of failed) {
      const item = items[index];
      // The item's attempt is the batch request's, in-process retries of the batch included.
      const decision =
        failure.result instanceof RetryableDeliveryError
          ? decideRetry(rules, { attempt: delivery.attempt, retriesInProcess: rules.maxInProcessRetries, retryAfterMs: failure.result.retryAfterMs, jitterDraw: Math.random() })
          : undefined;
      if (decision && decision.kind !== RETRY_DECISIONS.giveUp) {
        this.#nakSpent(item.msg, decision.delayMs, delivery.attempt);
        retried.push(item.msg);
      } else {
        this.#forgetAttempts([item.msg]);
        dead.push({ msg: item.msg, event: item.context.input, failure });
      }
    }
    stats.deferred += retried.length + resent.length;
    log.info('batch partly failed', { events: items.length, status: delivery.status, retried: retried.length, resent: resent.length, dead: dead.length });
    hand.letGo([...delivered, ...resent, ...retried]);
    hand.requestEnded();
    await Promise.all(
      dead.map(({ msg, event, failure }) =>
        this.#deadLetter([msg], {
          reason: deadLetterReasonOf(failure.result),
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
    for (const msg of unremembered) this.#nak(msg, retryDelayMs(this.options.rules.policy, msg.info.deliveryCount));
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
    const lately = this.#deliveredLately;
    for (const msg of msgs) lately.add(msg.info.streamSequence);
    this.#deliveredOldest.trimTo(DEFAULT_DELIVERED_REMEMBERED);
    this.#ackSoon(msgs);
  }

  /** Back to JetStream after `delayMs`, attempt `attempt` spent: its next delivery is attempt `attempt + 1`. */
  #nakSpent(msg: JsMsg, delayMs: number, attempt: number): void {
    this.#carryAttempts(msg, attempt);
    this.#nak(msg, delayMs);
  }

  /** Back to JetStream after `delayMs`, attempt `attempt` not spent: its next delivery is attempt `attempt` again. */
  #nakFree(msg: JsMsg, delayMs: number, attempt: number): void {
    this.#carryAttempts(msg, attempt - 1);
    this.#nak(msg, delayMs);
  }

  /** Every nak goes through here: JetStream hands the message back after `delayMs` (at once without). */
  #nak(msg: JsMsg, delayMs?: number): void {
    if (this.options.stale?.(msg)) return;
    if (this.#handingBack !== undefined) {
      this.#handingBack.add(msg);
      return;
    }
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
    this.#carriedOldest.trimTo(DEFAULT_CARRIED_ATTEMPTS);
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
          detail: cause.detail && { contract: cause.detail.contract, part: cause.detail.part, pointer: cause.detail.pointer, schemaPath: cause.detail.schemaPath },
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
          this.#lastUnwritten = { error: (error as Error).message, reason: cause.reason, retryInMs: delayMs };
          this.#unwritten.count(cause.reason);
          log.debug('cannot write dead letter; message returned to the stream', { error, reason: cause.reason, retryInMs: delayMs });
          this.#nak(msg, delayMs);
          // The dead-letter stream may be gone (a server back without its store): the daemon checks.
          this.options.lost?.('a dead letter could not be written');
          return;
        }
        // No reason in the TERM: nats-server 2.9 ignores "+TERM <reason>" and redelivers the
        // message after ack_wait (a new dead letter each time); the reason is in the dead letter.
        if (!this.options.stale?.(msg)) msg.term();
        this.#deadLettersFailingSince = undefined;
        if (cause.reason === 'retries_exhausted') stats.expired += 1;
        else stats.countDiscarded(cause.reason, 1);
        const details = { reason: cause.reason, message: letter.message, insertId: letter.insertId, attempts: cause.attempts, status: cause.lastStatus };
        this.#lastLetter = details;
        this.#letters.count(cause.reason);
        log.debug('dead-lettered', details);
      }),
    );
    hand.letGo(msgs);
  }
}
