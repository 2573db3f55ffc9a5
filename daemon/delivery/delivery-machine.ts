// A delivery is one HTTP request carrying one or more events, modelled as a state machine:
//   rendering → sending → delivered
//                       → waiting → sending …   (short waits stay in process)
//                       → deferred              (long waits go back to JetStream as nak(delay))
//                       → dead                  (permanent failure or retries used up)
// The daemon drives it with events (no promise child actors: an actor per request must stay cheap,
// ~20 µs). What the machine asks of the world it asks through `context.world`, the runner's side.
import { and, assign, setup } from 'xstate';
import type { RenderedRequest } from '../render/index.js';
import type { RetryPolicy } from './backoff.js';
import { hasAttemptsLeft, retryDelayMs } from './backoff.js';
import { PermanentDeliveryError, RetryableDeliveryError, ShutdownError } from './errors.js';

/** Cancels the request in flight when a delivery is released. A plain object rather than an
 *  AbortController: it is made for every delivery and used only on shutdown. */
export class DeliveryCancel {
  aborted = false;
  reason: unknown = undefined;
  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
  }
}

/** The side of a running delivery the world may talk to. */
export interface DeliveryHandle {
  send(event: DeliveryEvent): void;
}

/** What the delivery asks of the runner; each call answers by sending an event to the actor. */
export interface DeliveryWorld {
  /** Render the request; answer `rendered` or `render.failed`. */
  render(self: DeliveryHandle): void;
  /** Send it through the limiter; answer `sent` with the classification. */
  send(self: DeliveryHandle, request: RenderedRequest, signal: DeliveryCancel): void;
  /** Retry-After: pause the whole sync's limiter. */
  pause(ms: number): void;
  /** A state was entered (traces record it as a span event); `progress` is the delivery as it stands. */
  entered?(state: string, self: DeliveryHandle, progress: DeliveryProgress): void;
}

/** A read-only view of a delivery on entering a state (the machine's own context, not a copy). */
export interface DeliveryProgress {
  readonly attempt: number;
  readonly requests: number;
  readonly status?: number;
  readonly reason?: string;
  readonly message?: string;
  /** The wait scheduled by the last retryable failure (waiting, deferred). */
  readonly delayMs?: number;
}

export type SendResult = { kind: 'delivered'; status: number } | RetryableDeliveryError | PermanentDeliveryError;

export type DeliveryEvent =
  | { type: 'rendered'; request: RenderedRequest }
  | { type: 'render.failed'; code: string; message: string }
  | { type: 'sent'; result: SendResult }
  | { type: 'abort' };

export interface DeliveryInput {
  /** JetStream delivery count of the message(s): the attempt number, so restarts keep counting. */
  attempt: number;
  policy: RetryPolicy;
  maxInProcessWaitMs: number;
  maxInProcessRetries: number;
  world: DeliveryWorld;
  random?: () => number;
}

export const DELIVERY_OUTCOMES = {
  delivered: 'delivered',
  dead: 'dead',
  deferred: 'deferred',
  released: 'released',
} as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[keyof typeof DELIVERY_OUTCOMES];

export interface DeliveryOutput {
  outcome: DeliveryOutcome;
  attempt: number;
  /** Requests sent in this delivery (more than one after in-process retries). */
  requests: number;
  status?: number;
  /** Dead: the reason code (http_4xx, retries_exhausted, render_failed, …). */
  reason?: string;
  message?: string;
  /** Deferred: how long JetStream should wait before redelivering. */
  delayMs?: number;
  request?: RenderedRequest;
}

interface DeliveryContext {
  attempt: number;
  requests: number;
  localRetries: number;
  policy: RetryPolicy;
  maxInProcessWaitMs: number;
  maxInProcessRetries: number;
  world: DeliveryWorld;
  random: () => number;
  request?: RenderedRequest;
  status?: number;
  reason?: string;
  message?: string;
  delayMs?: number;
  /** One per delivery: it cancels whichever request is in flight when the delivery is released. */
  abort: DeliveryCancel;
  outcome?: DeliveryOutcome;
}

function failureOf(event: DeliveryEvent): RetryableDeliveryError | PermanentDeliveryError | undefined {
  return event.type === 'sent' && event.result instanceof Error ? event.result : undefined;
}

function waitFor(context: DeliveryContext, error: RetryableDeliveryError): number {
  return error.retryAfterMs ?? retryDelayMs(context.policy, context.attempt, context.random);
}

function finalState(outcome: DeliveryOutcome) {
  return {
    type: 'final',
    entry: [{ type: 'settle', params: { outcome } }, { type: 'announce', params: { state: outcome } }],
  } as const;
}

export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryContext,
    events: {} as DeliveryEvent,
    input: {} as DeliveryInput,
    output: {} as DeliveryOutput,
  },
  guards: {
    isDelivered: ({ event }) => event.type === 'sent' && !(event.result instanceof Error),
    isPermanent: ({ event }) => failureOf(event) instanceof PermanentDeliveryError,
    hasAttemptsLeft: ({ context }) => hasAttemptsLeft(context.policy, context.attempt),
    isShortWait: ({ context, event }) => {
      const failure = failureOf(event);
      return (
        failure instanceof RetryableDeliveryError &&
        context.localRetries < context.maxInProcessRetries &&
        waitFor(context, failure) <= context.maxInProcessWaitMs
      );
    },
  },
  actions: {
    render: ({ context, self }) => context.world.render(self),
    prepareSend: assign({ requests: ({ context }) => context.requests + 1 }),
    send: ({ context, self }) => context.world.send(self, context.request!, context.abort),
    // Only an abort cancels: building an Error on every normal exit from sending cost ~50 µs a delivery.
    cancelSend: ({ context }) => context.abort.abort(new ShutdownError('delivery released')),
    pauseOnRetryAfter: ({ context, event }) => {
      const failure = failureOf(event);
      if (failure instanceof RetryableDeliveryError && failure.retryAfterMs !== undefined) context.world.pause(failure.retryAfterMs);
    },
    recordRequest: assign({ request: ({ event }) => (event.type === 'rendered' ? event.request : undefined) }),
    recordRenderFailure: assign(({ event }) =>
      event.type === 'render.failed' ? { reason: event.code, message: event.message } : {},
    ),
    recordResult: assign(({ event }) => {
      if (event.type !== 'sent') return {};
      const result = event.result;
      if (!(result instanceof Error)) return { status: result.status, reason: undefined, message: undefined };
      return { status: result.status, reason: result.code, message: result.message };
    }),
    scheduleRetry: assign(({ context, event }) => ({ delayMs: waitFor(context, failureOf(event) as RetryableDeliveryError) })),
    // An in-process retry is an attempt too: the schedule escalates and the attempts run out.
    countLocalRetry: assign({ localRetries: ({ context }) => context.localRetries + 1, attempt: ({ context }) => context.attempt + 1 }),
    markExhausted: assign({ reason: 'retries_exhausted' }),
    markPermanent: assign(({ event }) => {
      const failure = failureOf(event);
      return { reason: failure?.code === 'http_4xx' || !failure ? 'http_4xx' : failure.code };
    }),
    announce: ({ context, self }, params: { state: string }) => context.world.entered?.(params.state, self, context),
    settle: assign((_, params: { outcome: DeliveryOutcome }) => ({ outcome: params.outcome })),
  },
  delays: {
    backoff: ({ context }) => context.delayMs ?? 0,
  },
}).createMachine({
  id: 'delivery',
  context: ({ input }) => ({
    attempt: input.attempt,
    requests: 0,
    abort: new DeliveryCancel(),
    localRetries: 0,
    policy: input.policy,
    maxInProcessWaitMs: input.maxInProcessWaitMs,
    maxInProcessRetries: input.maxInProcessRetries,
    world: input.world,
    random: input.random ?? Math.random,
  }),
  initial: 'rendering',
  on: {
    abort: { target: '.released', actions: 'cancelSend' },
  },
  states: {
    rendering: {
      entry: [{ type: 'announce', params: { state: 'rendering' } }, 'render'],
      on: {
        rendered: { target: 'sending', actions: 'recordRequest' },
        'render.failed': { target: 'dead', actions: 'recordRenderFailure' },
      },
    },
    sending: {
      entry: ['prepareSend', { type: 'announce', params: { state: 'sending' } }, 'send'],
      on: {
        sent: [
          { guard: 'isDelivered', target: 'delivered', actions: 'recordResult' },
          { guard: 'isPermanent', target: 'dead', actions: ['recordResult', 'markPermanent'] },
          {
            guard: and(['hasAttemptsLeft', 'isShortWait']),
            target: 'waiting',
            actions: ['recordResult', 'pauseOnRetryAfter', 'scheduleRetry', 'countLocalRetry'],
          },
          { guard: 'hasAttemptsLeft', target: 'deferred', actions: ['recordResult', 'pauseOnRetryAfter', 'scheduleRetry'] },
          { target: 'dead', actions: ['recordResult', 'markExhausted'] },
        ],
      },
    },
    waiting: {
      entry: { type: 'announce', params: { state: 'waiting' } },
      after: { backoff: 'sending' },
    },
    delivered: finalState('delivered'),
    deferred: finalState('deferred'),
    dead: finalState('dead'),
    released: finalState('released'),
  },
  output: ({ context }) => {
    const state = context.outcome!;
    return {
      outcome: state,
      attempt: context.attempt,
      requests: context.requests,
      status: context.status,
      reason: context.reason,
      message: context.message,
      delayMs: state === 'deferred' ? context.delayMs : undefined,
      request: context.request,
    };
  },
});

export type DeliveryActorRef = import('xstate').ActorRefFrom<typeof deliveryMachine>;
