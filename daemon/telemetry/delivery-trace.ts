// The spans of a delivery. One span per attempt (one HTTP request), named for the destination
// ("deliver braze"), with children "render", "limiter wait" and the HTTP client span, and every state
// the delivery machine enters as a span event. See trace-ids.ts for how the attempts at one event
// share a trace and link to each other.
//
// Cost with tracing off: SyncTracer.start() starts one span through the API (the no-op tracer
// answers with a non-recording span) and hands back NOOP_TRACE, whose methods do nothing; no
// attribute object, link, id or header is built. Only when the span records is anything computed.
import type { JsMsg } from '@nats-io/jetstream';
import { Match, type MsgHdrs } from '@nats-io/nats-core';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { DeliveryProgress } from '../delivery/index.js';
import type { LoadedSync } from '../registry/index.js';
import type { HoldReason, RenderFailureReason } from '../reasons.js';
import { derivedSecretsOf, redact } from '../secrets/index.js';
import { attemptSpanId, eventTraceId, eventTraceKey, idHintsActive, withIds } from './trace-ids.js';
import { PACKAGE_VERSION, TRACER_NAME } from './tracing.js';

/** The daemon's own span attributes. */
export const DELIVERY_ATTRIBUTES = {
  destination: 'destinations.destination',
  sync: 'destinations.sync',
  definitionVersion: 'destinations.definition.version',
  requestKind: 'destinations.request.kind',
  eventType: 'destinations.event.type',
  /** One event's insert_id (a request carrying one event). */
  insertId: 'destinations.event.insert_id',
  /** Every insert_id of a batch request. */
  insertIds: 'destinations.event.insert_ids',
  eventCount: 'destinations.event.count',
  /** The delivery machine's attempt number (JetStream delivery count, plus in-process retries). */
  attempt: 'destinations.attempt',
  deliveryCount: 'destinations.delivery_count',
  /** 1 for the first request of this JetStream delivery, 2 after one in-process retry, … */
  request: 'destinations.request',
  /** delivered | waiting (in-process retry) | deferred (nak with delay) | dead | released */
  outcome: 'destinations.outcome',
  reason: 'destinations.reason',
  retryDelayMs: 'destinations.retry.delay_ms',
  /** On the "held" span event: what held the request's events back (user_barrier: for how long they waited; circuit_breaker: how long they now wait in the stream until the next probe). */
  heldBy: 'destinations.held.by',
  heldMs: 'destinations.held.ms',
  /** On a link: previous_attempt | event (a batched event's own trace) | publisher */
  linkType: 'destinations.link.type',
} as const;

/** Messaging attributes (OpenTelemetry semantic conventions, still "development": copied, not imported). */
const MESSAGING = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  batchCount: 'messaging.batch.message_count',
} as const;

export const SPAN_NAMES = { render: 'render', limiterWait: 'limiter wait' } as const;

/** What a delivery carries, as the sync runner holds it. */
export interface TracedItem {
  msg: JsMsg;
  context: { input: { event_type?: unknown; insert_id?: unknown } };
}

/** The request as sent: the HTTP span's traceparent is added to a copy when the destination asks for it. */
export interface TracedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** What the sync runner tells the trace of one delivery; every method is cheap when nothing records. */
export interface DeliveryTrace {
  entered(state: string, progress: DeliveryProgress): void;
  renderStarted(): void;
  renderEnded(failureCode?: RenderFailureReason): void;
  /** The request joined the limiter's queue. */
  queued(): void;
  /** The limiter admitted it: returns the request to send (with traceparent when propagating). */
  sending<R extends TracedRequest>(request: R): R;
  answered(status: number): void;
  failed(error: unknown): void;
  /** Its events waited before the request started: `by` what (user_barrier), the longest for `ms`. */
  held(by: HoldReason, ms: number): void;
}

const NOOP_TRACE: DeliveryTrace = {
  entered: () => undefined,
  renderStarted: () => undefined,
  renderEnded: () => undefined,
  queued: () => undefined,
  sending: (request) => request,
  answered: () => undefined,
  failed: () => undefined,
  held: () => undefined,
};

const propagator = new W3CTraceContextPropagator();

const natsHeaderGetter: TextMapGetter<MsgHdrs> = {
  keys: (headers) => headers.keys(),
  get: (headers, key) => headers.get(key, Match.IgnoreCase) || undefined,
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (headers, key, value) => {
    headers[key] = value;
  },
};

/** The publisher's context from a message's `traceparent` (and `tracestate`), or undefined. */
export function publisherContext(msg: JsMsg): Context | undefined {
  const headers = msg.headers;
  if (headers === undefined || !headers.has('traceparent', Match.IgnoreCase)) return undefined;
  const extracted = propagator.extract(ROOT_CONTEXT, headers, natsHeaderGetter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}

/** Adds the traceparent (and tracestate) of `context` to a copy of the request's headers; a
 *  traceparent the destination renders itself wins. */
function withTraceContext<R extends TracedRequest>(request: R, context: Context): R {
  if (hasHeader(request.headers, 'traceparent')) return request;
  const headers = { ...request.headers };
  propagator.inject(context, headers, recordSetter);
  return { ...request, headers };
}

/** One per sync runner: the tracer, the sync's fixed attributes, and what to redact. */
export class SyncTracer {
  readonly #tracer: Tracer = trace.getTracer(TRACER_NAME, PACKAGE_VERSION);
  readonly spanName: string;
  readonly propagate: boolean;
  readonly secrets: readonly string[];
  #fixed: Attributes | undefined;

  constructor(
    readonly sync: LoadedSync,
    readonly consumerName: string,
  ) {
    this.spanName = `deliver ${sync.destination.slug}`;
    this.propagate = sync.destination.definition.propagateTraceContext === true;
    this.secrets = sync.parameters.secretValues;
  }

  get tracer(): Tracer {
    return this.#tracer;
  }

  /** The attributes every attempt span of this sync carries (built on first use). */
  get fixedAttributes(): Attributes {
    return (this.#fixed ??= {
      [DELIVERY_ATTRIBUTES.destination]: this.sync.destination.slug,
      [DELIVERY_ATTRIBUTES.sync]: this.sync.id,
      [DELIVERY_ATTRIBUTES.definitionVersion]: this.sync.destination.version,
      [MESSAGING.system]: 'nats',
      [MESSAGING.operationType]: 'process',
      [MESSAGING.consumerGroup]: this.consumerName,
    });
  }

  /** Redacts the sync's secrets and `derived`, the strings a request's render derived from them. */
  redact(text: string, derived: readonly string[] = []): string {
    if (derived.length > 0) return redact(text, [...this.secrets, ...derived]);
    return this.secrets.length === 0 ? text : redact(text, this.secrets);
  }

  #lastUrl: string | undefined;
  #lastUrlAttributes: Attributes | undefined;

  /** url.full (user info dropped, secrets redacted), server.address and server.port of a request URL.
   *  A sync's requests mostly share one URL: the last one is kept, so redaction runs once. */
  urlAttributes(method: string, url: string, derived?: readonly string[]): Attributes {
    if (url !== this.#lastUrl || this.#lastUrlAttributes === undefined) {
      const attributes: Attributes = { [ATTR_URL_FULL]: this.redact(withoutUserInfo(url), derived) };
      const server = serverOf(url);
      if (server) {
        attributes[ATTR_SERVER_ADDRESS] = server.address;
        attributes[ATTR_SERVER_PORT] = server.port;
      }
      this.#lastUrl = url;
      this.#lastUrlAttributes = attributes;
    }
    return { [ATTR_HTTP_REQUEST_METHOD]: method, ...this.#lastUrlAttributes };
  }

  /** Starts the first attempt span of a delivery of `items` (one request). */
  start(items: readonly TracedItem[], kind: string, attempt: number): DeliveryTrace {
    const single = items.length === 1 ? items[0].msg : undefined;
    const installed = idHintsActive();
    // The publisher's context matters only to a recording span or to a request that passes it on.
    const parent = single !== undefined && (installed || this.propagate) ? publisherContext(single) : undefined;
    let span: Span;
    if (single !== undefined && installed) {
      const info = single.info;
      const traceId = parent ? undefined : eventTraceId(eventTraceKey(items[0].context.input.insert_id, info.stream, info.streamSequence));
      const spanId = attemptSpanId(info.stream, info.streamSequence, this.sync.id, info.deliveryCount, 1);
      span = withIds(traceId, spanId, () => this.#tracer.startSpan(this.spanName, { kind: SpanKind.CONSUMER }, parent ?? ROOT_CONTEXT));
    } else {
      span = this.#tracer.startSpan(this.spanName, { kind: SpanKind.CONSUMER }, parent ?? ROOT_CONTEXT);
    }
    if (span.isRecording()) return new RecordingDeliveryTrace(this, span, items, kind, attempt, parent ?? ROOT_CONTEXT);
    // Not recording, but the destination wants trace context and the publisher sent one: pass it on.
    if (this.propagate && parent !== undefined) return new PassThroughTrace(trace.setSpan(parent, span));
    return NOOP_TRACE;
  }
}

/** Tracing off (or not sampled) with propagation on: the outgoing request carries the publisher's context. */
class PassThroughTrace implements DeliveryTrace {
  constructor(readonly context: Context) {}
  entered(): void {}
  renderStarted(): void {}
  renderEnded(): void {}
  queued(): void {}
  sending<R extends TracedRequest>(request: R): R {
    return withTraceContext(request, this.context);
  }
  answered(): void {}
  failed(): void {}
  held(): void {}
}

class RecordingDeliveryTrace implements DeliveryTrace {
  #attempt: Span | undefined;
  #attemptContext: Context;
  #previous: SpanContext | undefined;
  #request = 1;
  #render: Span | undefined;
  #wait: Span | undefined;
  #http: Span | undefined;

  constructor(
    private readonly tracer: SyncTracer,
    span: Span,
    private readonly items: readonly TracedItem[],
    private readonly kind: string,
    attempt: number,
    private readonly parent: Context,
  ) {
    this.#attempt = span;
    this.#attemptContext = trace.setSpan(parent, span);
    span.setAttributes(tracer.fixedAttributes);
    span.setAttributes(this.describeItems());
    span.setAttribute(DELIVERY_ATTRIBUTES.attempt, attempt);
    span.setAttribute(DELIVERY_ATTRIBUTES.request, 1);
    this.linkToEarlier(span);
  }

  /** Event type(s), insert_id(s), count, subject and stream sequence of what this request carries. */
  private describeItems(): Attributes {
    const items = this.items;
    const first = items[0];
    const attributes: Attributes = {
      [DELIVERY_ATTRIBUTES.requestKind]: this.kind,
      [DELIVERY_ATTRIBUTES.eventCount]: items.length,
      [DELIVERY_ATTRIBUTES.deliveryCount]: first.msg.info.deliveryCount,
      [MESSAGING.destinationName]: first.msg.subject,
    };
    if (items.length === 1) {
      attributes[DELIVERY_ATTRIBUTES.eventType] = String(first.context.input.event_type);
      if (first.context.input.insert_id !== undefined) attributes[DELIVERY_ATTRIBUTES.insertId] = String(first.context.input.insert_id);
      attributes[MESSAGING.messageId] = String(first.msg.info.streamSequence);
    } else {
      attributes[DELIVERY_ATTRIBUTES.eventType] = [...new Set(items.map((item) => String(item.context.input.event_type)))].join(',');
      attributes[DELIVERY_ATTRIBUTES.insertIds] = items.map((item) => String(item.context.input.insert_id ?? ''));
      attributes[MESSAGING.batchCount] = items.length;
    }
    return attributes;
  }

  /**
   * The first span of a JetStream delivery links back to what came before it:
   * - one event, redelivered: the first attempt span of the previous delivery (its id is derived,
   *   so no state is needed across restarts);
   * - a batch: each event's own trace (the publisher's span, or the event's derived trace).
   */
  private linkToEarlier(span: Span): void {
    if (!idHintsActive() && this.items.length === 1) return;
    const links: Link[] = [];
    if (this.items.length === 1) {
      const info = this.items[0].msg.info;
      if (info.deliveryCount > 1) {
        const self = span.spanContext();
        links.push({
          context: { traceId: self.traceId, spanId: attemptSpanId(info.stream, info.streamSequence, this.tracer.sync.id, info.deliveryCount - 1, 1), traceFlags: self.traceFlags, isRemote: true },
          attributes: { [DELIVERY_ATTRIBUTES.linkType]: 'previous_attempt' },
        });
      }
    } else {
      for (const item of this.items) {
        const publisher = publisherContext(item.msg);
        const context = publisher && trace.getSpanContext(publisher);
        if (context) {
          links.push({ context, attributes: { [DELIVERY_ATTRIBUTES.linkType]: 'publisher' } });
        } else if (idHintsActive()) {
          const info = item.msg.info;
          links.push({
            context: {
              traceId: eventTraceId(eventTraceKey(item.context.input.insert_id, info.stream, info.streamSequence)),
              spanId: attemptSpanId(info.stream, info.streamSequence, this.tracer.sync.id, 0, 0),
              traceFlags: span.spanContext().traceFlags,
              isRemote: true,
            },
            attributes: { [DELIVERY_ATTRIBUTES.linkType]: 'event' },
          });
        }
      }
    }
    if (links.length > 0) span.addLinks(links);
  }

  entered(state: string, progress: DeliveryProgress): void {
    switch (state) {
      case 'rendering':
        this.#attempt?.addEvent(state);
        return;
      case 'sending':
        if (this.#attempt === undefined) this.openNextAttempt(progress);
        this.#attempt!.addEvent(state);
        return;
      case 'waiting':
        return this.closeAttempt(state, progress, 'waiting', progress.delayMs);
      case 'deferred':
        return this.closeAttempt(state, progress, 'deferred', progress.delayMs);
      case 'delivered':
      case 'dead':
      case 'released':
        return this.closeAttempt(state, progress, state, undefined);
      default:
        this.#attempt?.addEvent(state);
    }
  }

  /** After an in-process wait: a new attempt span in the same trace, linked to the one before. */
  private openNextAttempt(progress: DeliveryProgress): void {
    this.#request += 1;
    const previous = this.#previous;
    const start = () =>
      this.tracer.tracer.startSpan(
        this.tracer.spanName,
        { kind: SpanKind.CONSUMER, links: previous ? [{ context: previous, attributes: { [DELIVERY_ATTRIBUTES.linkType]: 'previous_attempt' } }] : undefined },
        this.parent,
      );
    // The same trace as the attempt before (a trace id is used only by a root span: no publisher).
    let spanId: string | undefined;
    if (this.items.length === 1 && idHintsActive()) {
      const info = this.items[0].msg.info;
      spanId = attemptSpanId(info.stream, info.streamSequence, this.tracer.sync.id, info.deliveryCount, this.#request);
    }
    const span = withIds(previous?.traceId, spanId, start);
    this.#attempt = span;
    this.#attemptContext = trace.setSpan(this.parent, span);
    if (!span.isRecording()) return;
    span.setAttributes(this.tracer.fixedAttributes);
    span.setAttributes(this.describeItems());
    span.setAttribute(DELIVERY_ATTRIBUTES.attempt, progress.attempt);
    span.setAttribute(DELIVERY_ATTRIBUTES.request, this.#request);
  }

  private closeAttempt(state: string, progress: DeliveryProgress, outcome: string, delayMs: number | undefined): void {
    const span = this.#attempt;
    if (span === undefined) return;
    const attributes: Attributes = {};
    if (delayMs !== undefined) attributes[DELIVERY_ATTRIBUTES.retryDelayMs] = delayMs;
    if (progress.reason !== undefined && outcome !== 'delivered' && outcome !== 'released') attributes[DELIVERY_ATTRIBUTES.reason] = progress.reason;
    span.addEvent(state, attributes);
    span.setAttributes(attributes);
    span.setAttribute(DELIVERY_ATTRIBUTES.outcome, outcome);
    if (outcome === 'delivered') span.setStatus({ code: SpanStatusCode.OK });
    else if (outcome !== 'released') {
      const message = progress.message === undefined ? progress.reason : `${progress.reason}: ${progress.message}`;
      span.setStatus({ code: SpanStatusCode.ERROR, message: message === undefined ? undefined : this.tracer.redact(message).slice(0, 300) });
    }
    span.end();
    this.#previous = span.spanContext();
    this.#attempt = undefined;
  }

  held(by: HoldReason, ms: number): void {
    this.#attempt?.addEvent('held', { [DELIVERY_ATTRIBUTES.heldBy]: by, [DELIVERY_ATTRIBUTES.heldMs]: ms });
  }

  renderStarted(): void {
    this.#render = this.tracer.tracer.startSpan(SPAN_NAMES.render, undefined, this.#attemptContext);
  }

  renderEnded(failureCode?: RenderFailureReason): void {
    const span = this.#render;
    if (span === undefined) return;
    if (failureCode !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, failureCode);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    this.#render = undefined;
  }

  queued(): void {
    this.#wait = this.tracer.tracer.startSpan(SPAN_NAMES.limiterWait, undefined, this.#attemptContext);
  }

  sending<R extends TracedRequest>(request: R): R {
    this.#wait?.end();
    this.#wait = undefined;
    const span = this.tracer.tracer.startSpan(request.method, { kind: SpanKind.CLIENT }, this.#attemptContext);
    this.#http = span;
    if (span.isRecording()) span.setAttributes(this.tracer.urlAttributes(request.method, request.url, derivedSecretsOf(request)));
    return this.tracer.propagate ? withTraceContext(request, trace.setSpan(this.parent, span)) : request;
  }

  answered(status: number): void {
    const span = this.#http;
    if (span === undefined) return;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // HTTP client spans: 4xx and 5xx are errors.
    if (status >= 400) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    this.#http = undefined;
  }

  failed(error: unknown): void {
    const type = errorType(error);
    for (const span of [this.#wait, this.#http]) {
      if (span === undefined) continue;
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.tracer.redact(error instanceof Error ? error.message : String(error)).slice(0, 300) });
      span.end();
    }
    this.#wait = undefined;
    this.#http = undefined;
  }
}

/** error.type: the error's code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, …), else its name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code !== '') return code;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}

/** url.full never carries credentials: user info is dropped (secrets in the rest are redacted). */
function withoutUserInfo(url: string): string {
  const at = url.indexOf('@');
  if (at === -1) return url;
  const scheme = url.indexOf('://');
  const pathStart = url.indexOf('/', scheme + 3);
  if (scheme === -1 || (pathStart !== -1 && at > pathStart)) return url;
  return url.slice(0, scheme + 3) + url.slice(at + 1);
}

function serverOf(url: string): { address: string; port: number } | undefined {
  try {
    const parsed = new URL(url);
    return { address: parsed.hostname, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80 };
  } catch {
    return undefined;
  }
}
