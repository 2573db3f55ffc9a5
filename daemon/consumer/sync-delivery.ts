// One request's delivery as a sync runs it: the record the delivery machine drives, the messages
// it carries, and what the machine asks of the world (render through the one render path, send
// through the sync's limiter, pause on Retry-After), answered by events to the machine.
import type { DaemonSettings } from '../config/index.js';
import {
  CIRCUIT_STATES,
  classify,
  Delivery,
  readItemResults,
  PermanentDeliveryError,
  RetryableDeliveryError,
  type CircuitBreaker,
  type DeliveryCancel,
  type DeliveryHandle,
  type DeliveryRules,
  type DeliveryState,
  type ItemResults,
  type RenderFailure,
  type ResponseHeaders,
  type SendResult,
} from '../delivery/index.js';
import { LimiterStoppedError, type SyncLimiter } from '../limit/index.js';
import type { Logger } from '../log.js';
import { syncAuth } from '../auth/index.js';
import { contractBreakers, RENDER_FOR_DELIVERY, renderForSync, syncTls, type LoadedSync, type RequestKind } from '../registry/index.js';
import { EventContextError, type RenderedRequest } from '../render/index.js';
import { CONTRACT_VIOLATION, HOLD_REASONS, RENDER_FAILED } from '../reasons.js';
import { checkContract, describeViolation, type RequestContract } from '../contract/index.js';
import type { HttpSender } from '../send/index.js';
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
  /** What the last answer said item by item, when the destination declared it answers so (multiStatus). */
  itemResults: ItemResults | undefined = undefined;
  /** In the waiting state (counted in the sync's waiting gauge). */
  #waiting = false;

  constructor(
    private readonly services: SyncDeliveryServices,
    /** The request's events; those of a batch that break the contract alone leave it when it renders. */
    public items: DeliveryItem[],
    readonly kind: RequestKind,
    attempt: number,
    readonly trace: DeliveryTrace,
  ) {
    super(attempt, services.rules);
  }

  /** The one render path: the request, or why it cannot be made (a request that breaks the destination's contract is never sent). */
  render(): RenderedRequest | RenderFailure {
    const trace = this.trace;
    trace.renderStarted();
    try {
      const sync = this.services.sync;
      let request = renderForSync(sync, this.items.map((item) => item.context), this.kind, RENDER_FOR_DELIVERY);
      const contract = sync.destination.contracts[this.kind];
      let violation = contract && checkContract(contract, request);
      if (violation && contract && this.items.length > 1 && this.#dropBreakers(contract)) {
        // What is left of the batch, without the events that broke the contract alone.
        if (this.items.length === 0) {
          trace.renderEnded(CONTRACT_VIOLATION);
          return { failed: true, code: CONTRACT_VIOLATION, message: 'every event of the batch breaks the contract alone: each dead-lettered on its own' };
        }
        request = renderForSync(sync, this.items.map((item) => item.context), this.kind, RENDER_FOR_DELIVERY);
        violation = checkContract(contract, request);
      }
      if (violation) {
        trace.renderEnded(CONTRACT_VIOLATION);
        return { failed: true, code: CONTRACT_VIOLATION, message: describeViolation(violation), request, detail: violation };
      }
      trace.renderEnded();
      return request;
    } catch (error) {
      const code = error instanceof EventContextError ? error.code : RENDER_FAILED;
      trace.renderEnded(code);
      return { failed: true, code, message: (error as Error).message };
    }
  }

  /**
   * A batch that breaks the contract: the events whose request alone breaks it are dead-lettered
   * each on its own (contract_violation, its own request and pointer) and leave the batch, so the
   * rest are sent. Whether any left. A batch none of whose events breaks it alone breaks it by
   * being together (too many items for the contract): it stays whole, and is dead-lettered whole.
   */
  #dropBreakers(contract: RequestContract): boolean {
    const items = this.items;
    const breakers = contractBreakers(this.services.sync, items.map((item) => item.context), this.kind, contract);
    if (breakers.length === 0) return false;
    const broken = new Set<number>();
    for (const { index, request, violation } of breakers) {
      broken.add(index);
      void this.services.outcomes.termDeadLettered(items[index].msg, {
        reason: CONTRACT_VIOLATION,
        message: `${describeViolation(violation)} (event ${index} of a batch of ${items.length}, checked alone; the others go on without it)`,
        attempts: this.attempt,
        request,
        detail: violation,
        events: [items[index].context.input],
      });
    }
    this.items = items.filter((_, index) => !broken.has(index));
    this.services.log.debug('events of a batch break the contract: dead-lettered, the rest sent', { events: items.length, dead: broken.size });
    return true;
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
        const send = (outgoing: RenderedRequest) => sender.send(trace.sending(outgoing), { signal: cancel, timeoutMs: settings.requestTimeoutMs, excerptBytes: this.services.responseBytes, ca });
        // The destination's auth schemes stamp this attempt when it leaves, after the limiter's wait (an in-process
        // retry resends the rendered request): a signature's timestamp, a bearer token (a 401 refreshes it once).
        const auth = syncAuth(this.services.sync);
        if (auth === undefined) return send(request);
        const exchange = (own: RenderedRequest, excerptBytes: number) => sender.send(own, { timeoutMs: settings.requestTimeoutMs, excerptBytes, ca });
        return auth.send(request, { send, exchange, refused: (response) => trace.answered(response.status) });
      })
      .then(
        (response) => {
          trace.answered(response.status);
          this.lastResponse = response;
          stats.countResponse(response.status);
          this.itemResults = this.#itemResultsOf(response);
          const result = classify({ status: response.status, headers: response.headers, itemized: this.itemResults !== undefined });
          if (result instanceof Error) this.#failed(result);
          else this.services.failures.succeeded();
          this.#answer(self, result);
        },
        (error: unknown) => {
          trace.failed(error);
          if (error instanceof LimiterStoppedError || cancel.aborted) return self.send({ type: 'abort' });
          this.lastResponse = undefined;
          this.itemResults = undefined;
          stats.countResponse(undefined);
          const result = classify({ error });
          if (result instanceof Error) this.#failed(result);
          this.#answer(self, result);
        },
      );
  }

  /** A batched destination's answer read item by item, on the statuses its multiStatus declares. */
  #itemResultsOf(response: { status: number; headers: ResponseHeaders; bodyExcerpt: string }): ItemResults | undefined {
    const definition = this.services.sync.destination.definition;
    const spec = definition.batch && (this.kind === 'identify' ? definition.identify?.multiStatus : definition.request.multiStatus);
    if (!spec) return undefined;
    return readItemResults(spec, { status: response.status, headers: response.headers, body: response.bodyExcerpt }, this.items.map((item) => item.context));
  }

  /** Tells the machine, unless the circuit breaker now holds the sync off: then a retryable failure goes back to the stream, costing no attempt. */
  #answer(self: DeliveryHandle, result: SendResult): void {
    const breaker = this.services.breaker;
    if (result instanceof RetryableDeliveryError) {
      breaker.failed();
      if (breaker.state !== CIRCUIT_STATES.closed) {
        // The span shows why this attempt ends released: held in the stream until the breaker's next probe.
        this.trace.held(HOLD_REASONS.circuitBreaker, breaker.holdMs ?? 0);
        return self.send({ type: 'abort' });
      }
    } else {
      breaker.succeeded();
    }
    self.send({ type: 'sent', result });
  }

  #failed(failure: RetryableDeliveryError | PermanentDeliveryError): void {
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
    this.services.outcomes.nakSpentAfterMachineBug(this, error);
  }
}
