// One request's delivery as a sync runs it: the record the delivery machine drives, the messages
// it carries, and what the machine asks of the world (render through the one render path, send
// through the sync's limiter, pause on Retry-After), answered by events to the machine.
import type { DaemonSettings } from '../config/index.js';
import { classify, Delivery, type DeliveryCancel, type DeliveryHandle, type DeliveryRules, type DeliveryState } from '../delivery/index.js';
import { LimiterStoppedError, type SyncLimiter } from '../limit/index.js';
import type { Logger } from '../log.js';
import { renderForSync, syncTls, type LoadedSync, type RequestKind } from '../registry/index.js';
import { EventContextError, type RenderedRequest } from '../render/index.js';
import type { HttpSender } from '../send/index.js';
import { restampSignature } from '../signing/index.js';
import type { DeliveryTrace, SyncStats } from '../telemetry/index.js';
import type { DeliveryItem } from './delivery-item.js';
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

  /** The one render path, answered with `rendered` or `render.failed`. */
  render(self: DeliveryHandle): void {
    const trace = this.trace;
    trace.renderStarted();
    try {
      const request = renderForSync(
        this.services.sync,
        this.items.map((item) => item.context),
        this.kind,
      );
      trace.renderEnded();
      self.send({ type: 'rendered', request });
    } catch (error) {
      const code = error instanceof EventContextError ? error.code : 'render_failed';
      trace.renderEnded(code);
      self.send({ type: 'render.failed', code, message: (error as Error).message });
    }
  }

  /** Through the limiter to the sender, answered with `sent` and the answer's classification. */
  send(self: DeliveryHandle, request: RenderedRequest, cancel: DeliveryCancel): void {
    const { stats, limiter, sender, settings } = this.services;
    const trace = this.trace;
    stats.requests += 1;
    trace.queued();
    const queuedAt = performance.now();
    limiter
      .run(() => {
        stats.limiterWait.observe((performance.now() - queuedAt) / 1_000);
        // Signed anew when this attempt leaves, after the limiter's wait: an in-process retry resends the rendered request.
        return sender.send(trace.sending(restampSignature(this.services.sync, request)), { signal: cancel, timeoutMs: settings.requestTimeoutMs, excerptBytes: this.services.responseBytes, ca: syncTls(this.services.sync).ca });
      })
      .then(
        (response) => {
          trace.answered(response.status);
          this.lastResponse = response;
          stats.countResponse(response.status);
          const result = classify({ status: response.status, headers: response.headers });
          if (result instanceof Error) stats.countFailure(result.code);
          self.send({ type: 'sent', result });
        },
        (error: unknown) => {
          trace.failed(error);
          if (error instanceof LimiterStoppedError || cancel.aborted) return self.send({ type: 'abort' });
          this.lastResponse = undefined;
          stats.countResponse(undefined);
          const result = classify({ error });
          if (result instanceof Error) stats.countFailure(result.code);
          self.send({ type: 'sent', result });
        },
      );
  }

  /** Retry-After pauses the whole sync, not one request. */
  pause(ms: number): void {
    this.services.limiter.pause(ms);
    this.services.log.warn('destination asked to slow down; sync paused', { pauseMs: ms });
  }

  override entered(state: DeliveryState): void {
    const stats = this.services.stats;
    if (state === 'waiting') {
      stats.waiting += 1;
      stats.retriedInProcess += this.items.length;
      this.#waiting = true;
    } else if (this.#waiting) {
      stats.waiting -= 1;
      this.#waiting = false;
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
