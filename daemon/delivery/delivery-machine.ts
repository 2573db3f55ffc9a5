// A delivery is one HTTP request carrying one or more events, modelled as a state machine:
//   idle → rendering → sending → delivered
//                              → waiting → sending …   (short waits stay in process)
//                              → deferred              (long waits go back to JetStream as nak(delay))
//                              → dead                  (permanent failure or retries used up)
//   A retryable failure passes through `deciding`, where what follows it is decided once.
//   and from `released` (a delivery let go on shutdown). An actor rests in its last outcome, where
//   the next delivery starts as it would from idle.
// One delivery is one run of the machine from rest to an outcome. The actors that run it are kept
// and reused (DeliveryActors): creating an actor cost more than running it (measured in
// docs/decisions.md), and a delivery must stay cheap. By default they run the table derived from
// this machine (machine-table.ts, table-actor.ts: XState's semantics without its per-step Sets, Maps
// and snapshots); `deliveryRuntime: "xstate"` runs XState's interpreter, for Stately's tools. The daemon drives the machine with events (no
// promise child actors); what the machine asks of the world it asks through the `Delivery` it runs,
// which is also where it records what happened (attempt, status, reason), so no `assign` copies the
// context on every step.
import { EventEmitter } from 'node:events';
import { createActor, setup } from 'xstate';
import type { ContractViolation } from '../contract/index.js';
import type { RenderedRequest } from '../render/index.js';
import { DEFAULT_DELIVERY_RUNTIME } from '../defaults.js';
import { DEAD_LETTER_REASONS, type DeliveryReason, type RenderFailureReason } from '../reasons.js';
import { PermanentDeliveryError, RetryableDeliveryError, ShutdownError } from './errors.js';
import { deriveMachineTable, type MachineTable } from './machine-table.js';
import { decideRetry, RETRY_DECISIONS, type RetryDecision, type RetryRules } from './retry-decision.js';
import { TableActor, type TableClock } from './table-actor.js';

/** Cancels the request in flight when a delivery is released. An EventEmitter the HTTP sender
 *  listens to (~0.2 µs) rather than an AbortController (~7 µs to make, ~4 µs more per listener): it
 *  is made for every delivery and used only on shutdown. */
export class DeliveryCancel extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** The side of a running delivery the world may talk to. */
export interface DeliveryHandle {
  send(event: DeliveryEvent): void;
}

/** How a sync retries (the same for each of its deliveries), and where the schedule's jitter comes from. */
export interface DeliveryRules extends RetryRules {
  random?: () => number;
}

/** A read-only view of a delivery as it stands (the delivery itself, not a copy). */
export interface DeliveryProgress {
  readonly attempt: number;
  readonly requests: number;
  readonly status?: number;
  readonly reason?: DeliveryReason;
  readonly message?: string;
  /** The wait scheduled by the last retryable failure (waiting, deferred). */
  readonly delayMs?: number;
}

export const DELIVERY_OUTCOMES = {
  delivered: 'delivered',
  dead: 'dead',
  deferred: 'deferred',
  released: 'released',
} as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[keyof typeof DELIVERY_OUTCOMES];

/**
 * One delivery: the record the machine keeps while it runs it, and what it asks of the world, which
 * the runner implements. Each `render`/`send` answers by sending an event to `self`.
 */
export abstract class Delivery implements DeliveryProgress {
  /** Requests sent in this delivery (more than one after in-process retries). */
  requests = 0;
  localRetries = 0;
  request: RenderedRequest | undefined = undefined;
  status: number | undefined = undefined;
  /** Dead: the reason code (http_4xx, retries_exhausted, render_failed, …). */
  reason: DeliveryReason | undefined = undefined;
  message: string | undefined = undefined;
  /** Dead as contract_violation: where the request breaks the destination's contract. */
  detail: ContractViolation | undefined = undefined;
  /** Waiting or deferred: how long until the next attempt. */
  delayMs: number | undefined = undefined;
  outcome: DeliveryOutcome | undefined = undefined;
  /** The schedule's jitter for the request in flight, drawn when it is sent (see decideRetry). */
  jitterDraw = 0;
  /** What follows the last retryable failure, decided once when it arrived (the `deciding` state). */
  retry: RetryDecision | undefined = undefined;
  /** Cancels whichever request is in flight when the delivery is released. */
  readonly cancel = new DeliveryCancel();

  constructor(
    /** JetStream delivery count of the message(s): the attempt number, so restarts keep counting. */
    public attempt: number,
    readonly rules: DeliveryRules,
  ) {}

  /** Render the request: the request, or why it cannot be made (a permanent failure). Synchronous:
   *  the machine leaves `rendering` in the same step, with no event through the mailbox. */
  abstract render(): RenderedRequest | RenderFailure;
  /** Send it through the limiter; answer `sent` with the classification. */
  abstract send(self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void;
  /** Retry-After: pause the whole sync's limiter. */
  abstract pause(ms: number): void;
  /** An outcome was reached: `outcome` says which. */
  abstract settled(): void;
  /** The machine failed (a bug in an action): nothing was settled. */
  abstract failed(error: unknown): void;
  /** A state was entered (traces record it as a span event). */
  entered(_state: DeliveryState, _self: DeliveryHandle): void {}
}

/** A request that cannot be rendered: dead with this reason (render_failed, missing_required_field, …). */
export interface RenderFailure {
  failed: true;
  code: RenderFailureReason;
  message: string;
  /** A request that was rendered but must not be sent (it breaks the contract): kept for the dead letter. */
  request?: RenderedRequest;
  detail?: ContractViolation;
}

export type SendResult = { kind: 'delivered'; status: number } | RetryableDeliveryError | PermanentDeliveryError;

export type DeliveryEvent =
  | { type: 'deliver'; delivery: Delivery }
  | { type: 'sent'; result: SendResult }
  | { type: 'abort' };

export type DeliveryState = 'rendering' | 'sending' | 'waiting' | DeliveryOutcome;

export interface DeliveryContext {
  /** The delivery being run (undefined while idle), in a holder the actions write to: an `assign`
   *  would copy the context and the snapshot at each start and end of a run. */
  run: { delivery: Delivery | undefined };
  /** Called on reaching an outcome: the actor is free for the next delivery. */
  onIdle: (self: DeliveryHandle) => void;
}

function failureOf(event: DeliveryEvent): RetryableDeliveryError | PermanentDeliveryError | undefined {
  return event.type === 'sent' && event.result instanceof Error ? event.result : undefined;
}

/** Only ever called while a delivery runs, where one is always set. */
const current = (context: DeliveryContext): Delivery => context.run.delivery!;

/** The decision `deciding` made (only read there, after it was made). */
const retryOf = (context: DeliveryContext): RetryDecision => current(context).retry!;

/** Where a delivery starts: from idle, or from the outcome the actor's last delivery reached. */
const nextDelivery = { deliver: { target: 'rendering', actions: 'begin' } } as const;

/** An outcome settles its delivery, and the actor rests there until the next one (no transition
 *  back to idle: each transition costs XState ~4 µs and ~7 KB of Sets and Maps). */
function outcomeState(outcome: DeliveryOutcome) {
  return { entry: { type: 'settle', params: { outcome } }, on: nextDelivery } as const;
}

const abortToReleased = { target: 'released', actions: 'cancelSend' } as const;

export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryContext,
    events: {} as DeliveryEvent,
    input: {} as { onIdle: (self: DeliveryHandle) => void },
  },
  guards: {
    // A render failure records its reason (a request that breaks the contract is kept, unsent, for the dead letter).
    renderFailed: ({ context }) => current(context).reason !== undefined,
    isDelivered: ({ event }) => event.type === 'sent' && !(event.result instanceof Error),
    isPermanent: ({ event }) => failureOf(event) instanceof PermanentDeliveryError,
    waitsInProcess: ({ context }) => retryOf(context).kind === RETRY_DECISIONS.waitInProcess,
    goesBackToStream: ({ context }) => retryOf(context).kind === RETRY_DECISIONS.backToStream,
  },
  actions: {
    begin: ({ context, event }) => {
      if (event.type === 'deliver') context.run.delivery = event.delivery;
    },
    announce: ({ context, self }, params: { state: DeliveryState }) => current(context).entered(params.state, self),
    // Announces the state and renders: the request, or the reason it cannot be made, is recorded on
    // the delivery, and the eventless transitions below leave `rendering` in the same macrostep.
    render: ({ context, self }) => {
      const delivery = current(context);
      delivery.entered('rendering', self);
      const rendered = delivery.render();
      if ('failed' in rendered) {
        delivery.reason = rendered.code;
        delivery.message = rendered.message;
        delivery.request = rendered.request;
        delivery.detail = rendered.detail;
      } else {
        delivery.request = rendered;
      }
    },
    send: ({ context, self }) => {
      const delivery = current(context);
      delivery.entered('sending', self);
      delivery.requests += 1;
      delivery.jitterDraw = (delivery.rules.random ?? Math.random)();
      delivery.send(self, delivery.request!, delivery.cancel);
    },
    // Only an abort cancels: building an Error on every normal exit from sending cost ~50 µs a delivery.
    cancelSend: ({ context }) => current(context).cancel.abort(new ShutdownError('delivery released')),
    recordResult: ({ context, event }) => {
      if (event.type !== 'sent') return;
      const delivery = current(context);
      const result = event.result;
      delivery.status = result.status;
      delivery.reason = result instanceof Error ? result.code : undefined;
      delivery.message = result instanceof Error ? result.message : undefined;
    },
    // The one place a retryable failure's next step is decided; the guards and actions after it read the decision.
    decideRetry: ({ context, event }) => {
      const failure = failureOf(event) as RetryableDeliveryError;
      const delivery = current(context);
      delivery.retry = decideRetry(delivery.rules, {
        attempt: delivery.attempt,
        retriesInProcess: delivery.localRetries,
        retryAfterMs: failure.retryAfterMs,
        jitterDraw: delivery.jitterDraw,
      });
    },
    pauseOnRetryAfter: ({ context, event }) => {
      const failure = failureOf(event);
      if (failure instanceof RetryableDeliveryError && failure.retryAfterMs !== undefined) current(context).pause(failure.retryAfterMs);
    },
    scheduleRetry: ({ context }) => {
      const decision = retryOf(context);
      if (decision.kind !== RETRY_DECISIONS.giveUp) current(context).delayMs = decision.delayMs;
    },
    // An in-process retry is an attempt too: the schedule escalates and the attempts run out.
    countLocalRetry: ({ context }) => {
      current(context).localRetries += 1;
      current(context).attempt += 1;
    },
    markExhausted: ({ context }) => {
      current(context).reason = DEAD_LETTER_REASONS.retriesExhausted;
    },
    markPermanent: ({ context, event }) => {
      const failure = failureOf(event);
      current(context).reason = failure instanceof PermanentDeliveryError ? failure.code : DEAD_LETTER_REASONS.http4xx;
    },
    // Settles the delivery and frees the actor: it keeps no delivery (its messages and events are
    // freed with it) and rests here until the next one.
    settle: ({ context, self }, params: { outcome: DeliveryOutcome }) => {
      const delivery = current(context);
      delivery.outcome = params.outcome;
      if (params.outcome !== 'deferred' && params.outcome !== 'dead') delivery.delayMs = undefined;
      delivery.entered(params.outcome, self);
      delivery.settled();
      context.run.delivery = undefined;
      context.onIdle(self);
    },
  },
  delays: {
    backoff: ({ context }) => context.run.delivery?.delayMs ?? 0,
  },
}).createMachine({
  id: 'delivery',
  context: ({ input }) => ({ run: { delivery: undefined }, onIdle: input.onIdle }),
  initial: 'idle',
  states: {
    idle: { on: nextDelivery },
    // Left at once, within the step that entered it: rendering is synchronous, so nothing can arrive meanwhile.
    rendering: {
      entry: 'render',
      always: [{ guard: 'renderFailed', target: 'dead' }, { target: 'sending' }],
    },
    sending: {
      entry: 'send',
      on: {
        sent: [
          { guard: 'isDelivered', target: 'delivered', actions: 'recordResult' },
          { guard: 'isPermanent', target: 'dead', actions: ['recordResult', 'markPermanent'] },
          { target: 'deciding', actions: 'recordResult' },
        ],
        abort: abortToReleased,
      },
    },
    // A retryable failure: left at once, within the step that entered it, by the decision made on entry.
    deciding: {
      entry: 'decideRetry',
      always: [
        { guard: 'waitsInProcess', target: 'waiting', actions: ['pauseOnRetryAfter', 'scheduleRetry', 'countLocalRetry'] },
        { guard: 'goesBackToStream', target: 'deferred', actions: ['pauseOnRetryAfter', 'scheduleRetry'] },
        { target: 'dead', actions: 'markExhausted' },
      ],
    },
    waiting: {
      entry: { type: 'announce', params: { state: 'waiting' } },
      after: { backoff: 'sending' },
      on: { abort: abortToReleased },
    },
    delivered: outcomeState('delivered'),
    deferred: outcomeState('deferred'),
    dead: outcomeState('dead'),
    released: outcomeState('released'),
  },
});

/** Which interpreter runs the machine: the table derived from it (machine-table.ts), or XState's own
 *  (for inspection with Stately's tools). Both run the same definition and implementations. */
export const DELIVERY_RUNTIMES = { derived: 'derived', xstate: 'xstate' } as const;
export type DeliveryRuntime = (typeof DELIVERY_RUNTIMES)[keyof typeof DELIVERY_RUNTIMES];

/** What the daemon and the tests see of a running delivery machine, whichever runtime runs it. */
export interface DeliveryActor extends DeliveryHandle {
  getSnapshot(): { readonly value: string; readonly status: string; readonly context: DeliveryContext };
  stop(): void;
}

/** The machine as a table, derived once, when the first sync's actors are made (a machine outside the
 *  table's subset stops the daemon's start there, naming what it uses). */
let deliveryTable: MachineTable | undefined;

/**
 * The actors that run one sync's deliveries. An actor that reaches an outcome is free and is reused;
 * at most `keepIdle` free actors are kept, the rest are stopped.
 */
export class DeliveryActors {
  readonly #idle: DeliveryActor[] = [];
  readonly #running = new Map<DeliveryActor, Delivery>();
  readonly #clock: TableClock | undefined;
  readonly #keepIdle: number;
  readonly #runtime: DeliveryRuntime;

  /** `clock`: XState's clock interface (a SimulatedClock in tests), for the waits of either runtime. */
  constructor(options: { keepIdle: number; clock?: TableClock; runtime?: DeliveryRuntime }) {
    this.#keepIdle = options.keepIdle;
    this.#clock = options.clock;
    this.#runtime = options.runtime ?? DEFAULT_DELIVERY_RUNTIME;
    if (this.#runtime === DELIVERY_RUNTIMES.derived) deliveryTable ??= deriveMachineTable(deliveryMachine);
  }

  /** Runs `delivery` on an idle actor; its `settled` (or `failed`) is called at the end. */
  start(delivery: Delivery): DeliveryActor {
    const actor = this.#idle.pop() ?? this.#create();
    this.#running.set(actor, delivery);
    actor.send({ type: 'deliver', delivery });
    return actor;
  }

  /** Releases the deliveries waiting for an in-process retry (nothing of theirs is on the wire). */
  abortWaiting(): void {
    for (const actor of [...this.#running.keys()]) if (actor.getSnapshot().value === 'waiting') actor.send({ type: 'abort' });
  }

  /** Releases every running delivery: each ends `released` and cancels its request in flight. */
  abortAll(): void {
    for (const actor of [...this.#running.keys()]) actor.send({ type: 'abort' });
  }

  get running(): number {
    return this.#running.size;
  }

  get idle(): number {
    return this.#idle.length;
  }

  /** A machine error is a bug in an action: the actor is stopped and never reused. */
  #failed(actor: DeliveryActor, error: unknown): void {
    const delivery = this.#running.get(actor);
    this.#running.delete(actor);
    delivery?.failed(error);
  }

  #create(): DeliveryActor {
    const input = { onIdle: this.#onIdle };
    if (this.#runtime === DELIVERY_RUNTIMES.derived) {
      const actor: DeliveryActor = new TableActor<DeliveryContext, DeliveryEvent>(deliveryTable!, {
        input,
        clock: this.#clock,
        onError: (error) => this.#failed(actor, error),
      });
      return actor;
    }
    // No `clock` key unless one was given: an explicit undefined replaces XState's default clock.
    const actor = createActor(deliveryMachine, this.#clock ? { clock: this.#clock, input } : { input });
    actor.subscribe({ error: (error: unknown) => this.#failed(actor, error) });
    actor.start();
    return actor;
  }

  readonly #onIdle = (self: DeliveryHandle): void => {
    const actor = self as DeliveryActor;
    this.#running.delete(actor);
    if (this.#idle.length < this.#keepIdle) this.#idle.push(actor);
    else queueMicrotask(() => actor.stop());
  };
}
