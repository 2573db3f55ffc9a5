// One request's delivery as a sync runs it: the record the delivery machine drives, the messages
// it carries, and what the machine asks of the world (render through the one render path, send
// through the sync's limiter, pause on Retry-After), answered by events to the machine.
import type { DaemonSettings } from '../config/index.js';
import {
  CIRCUIT_STATES,
  classify,
  Delivery,
  RetryableDeliveryError,
  type CircuitBreaker,
  type DeliveryCancel,
  type DeliveryHandle,
  type DeliveryRules,
  type DeliveryState,
  type RenderFailure,
  type SendResult,
} from '../delivery/index.js';
import { LimiterStoppedError, type SyncLimiter } from '../limit/index.js';
import type { Logger } from '../log.js';
import { oauthTokenFor, OAUTH_TOKEN_RESPONSE_BYTES, sendWithOAuth } from '../oauth/index.js';
import { renderForSync, syncTls, type LoadedSync, type RequestKind } from '../registry/index.js';
import { EventContextError, type RenderedRequest } from '../render/index.js';
import type { HttpSender } from '../send/index.js';
import { restampSignature } from '../signing/index.js';
import type { DeliveryTrace, SyncStats } from '../telemetry/index.js';
import type { DeliveryItem } from './delivery-item.js';
import type { FailureLog } from './failure-log.js';
import type { Outcomes, SettledDelivery } from './outcomes.js';

/** What every delivery of one sync shares. */
export interface SyncDeliveryServices {
  sync: LoadedSync;
  rules: DeliveryRules;
  stats: SyncStats;
  limiter: SyncLimiter;
  sender: HttpSender;
  settings: DaemonSettings;
  outcomes: Outcomes;
  log: Logger;
  /** How much of a response to keep: all of it (bounded) when it may list failed batch items. */
  responseBytes: number | undefined;
  /** Holds the sync off while its destination keeps failing. */
  breaker: CircuitBreaker;
  /** One summary line at most every 10 s while the sync fails, and a line when it recovers. */
  failures: FailureLog;
  /** The destination's slots: a request waiting for an in-process retry gives its slot back meanwhile. */
  slots: { retryWaitStarted(): void; retryWaitEnded(): void };
}

export class SyncDelivery extends Delivery implements SettledDelivery {
  lastResponse: { status: number; bodyExcerpt: string } | undefined = undefined;
  /** In the waiting state (counted in the sync's waiting gauge). */
  #waiting = false;

  constructor(
    private readonly services: SyncDeliveryServices,
    readonly items: DeliveryItem[],
    readonly kind: RequestKind,
    attempt: number,
    readonly trace: DeliveryTrace,
  ) {
    super(attempt, services.rules);
  }

  /** The one render path: the request, or why it cannot be made. */
  render(): RenderedRequest | RenderFailure {
    const trace = this.trace;
    trace.renderStarted();
    try {
      const request = renderForSync(
        this.services.sync,
        this.items.map((item) => item.context),
        this.kind,
      );
      trace.renderEnded();
      return request;
    } catch (error) {
      const code = error instanceof EventContextError ? error.code : 'render_failed';
      trace.renderEnded(code);
      return { failed: true, code, message: (error as Error).message };
    }
  }

  /** Through the limiter to the sender, answered with `sent` and the answer's classification. */
  send(self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void {
    const { stats, limiter, sender, settings } = this.services;
    const trace = this.trace;
    stats.requests += 1;
    this.services.breaker.sending();
    trace.queued();
    const queuedAt = performance.now();
    limiter
      .run(() => {
        stats.limiterWait.observe((performance.now() - queuedAt) / 1_000);
        const ca = syncTls(this.services.sync).ca;
        // Signed anew when this attempt leaves, after the limiter's wait: an in-process retry resends the rendered request.
        const send = (outgoing: RenderedRequest) =>
          sender.send(trace.sending(restampSignature(this.services.sync, outgoing)), { signal: cancel, timeoutMs: settings.requestTimeoutMs, excerptBytes: this.services.responseBytes, ca });
        // A destination with oauth: the sync's bearer token first (one fetch however many wait), a 401 retried once with a fresh one.
        const token = oauthTokenFor(this.services.sync);
        if (token === undefined) return send(request);
        const sendToken = (tokenRequest: RenderedRequest) => sender.send(tokenRequest, { timeoutMs: settings.requestTimeoutMs, excerptBytes: OAUTH_TOKEN_RESPONSE_BYTES, ca });
        return sendWithOAuth(token, request, { send, sendToken, unauthorized: (response) => trace.answered(response.status) });
      })
      .then(
        (response) => {
          trace.answered(response.status);
          this.lastResponse = response;
          stats.countResponse(response.status);
          const result = classify({ status: response.status, headers: response.headers });
          if (result instanceof Error) this.#failed(result);
          else this.services.failures.succeeded();
          this.#answer(self, result);
        },
        (error: unknown) => {
          trace.failed(error);
          if (error instanceof LimiterStoppedError || cancel.aborted) return self.send({ type: 'abort' });
          this.lastResponse = undefined;
          stats.countResponse(undefined);
          const result = classify({ error });
          if (result instanceof Error) this.#failed(result);
          this.#answer(self, result);
        },
      );
  }

  /** Tells the machine, unless the circuit breaker now holds the sync off: then a retryable failure goes back to the stream, costing no attempt. */
  #answer(self: DeliveryHandle, result: SendResult): void {
    const breaker = this.services.breaker;
    if (result instanceof RetryableDeliveryError) {
      breaker.failed();
      if (breaker.state !== CIRCUIT_STATES.closed) {
        // The span shows why this attempt ends released: held in the stream until the breaker's next probe.
        this.trace.held('circuit_breaker', breaker.holdMs ?? 0);
        return self.send({ type: 'abort' });
      }
    } else {
      breaker.succeeded();
    }
    self.send({ type: 'sent', result });
  }

  #failed(failure: Error & { code: string; status?: number }): void {
    this.services.stats.countFailure(failure.code);
    this.services.failures.failed(failure.code, failure.status, failure.message);
  }

  /** Retry-After pauses the whole sync, not one request. */
  pause(ms: number): void {
    this.services.limiter.pause(ms);
    // Per pause, so debug: the failure summary (failure-log.ts) and status show a failing, paused sync.
    this.services.log.debug('destination asked to slow down; sync paused', { pauseMs: ms });
  }

  override entered(state: DeliveryState): void {
    const stats = this.services.stats;
    if (state === 'waiting') {
      stats.waiting += 1;
      stats.retriedInProcess += this.items.length;
      this.#waiting = true;
      this.services.slots.retryWaitStarted();
    } else if (this.#waiting) {
      stats.waiting -= 1;
      this.#waiting = false;
      this.services.slots.retryWaitEnded();
    }
    this.trace.entered(state, this);
  }

  settled(): void {
    void this.services.outcomes.settle(this);
  }

  failed(error: unknown): void {
    this.services.outcomes.failed(this, error);
  }
}
