// The one place that decides how a sync's request is rendered, so the daemon, preview, send and
// the examples all produce the same request: one event gets {input, mappedProperties,
// mappedFields, parameters}; a batched destination gets {events: [...], parameters}, whatever
// the number of events (a preview is a one-event batch). Whether it renders for delivery or for a
// preview is the caller's explicit RenderMode; the destination's auth schemes (daemon/auth) see the
// rendered request here, and are stamped per attempt by the sender's caller (delivery) or here (preview).
import { createHash } from 'node:crypto';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { isIdentifyEvent } from '../events/index.js';
import {
  buildEventContext,
  ConstantRenders,
  RenderError,
  renderRequest,
  SecretTracker,
  headerId,
  type EventContext,
  type RenderContext,
  type RenderedRequest,
  type RequestTemplates,
} from '../render/index.js';
import { AuthSettingsError, FOR_DELIVERY, syncAuth, type SyncAuth } from '../auth/index.js';
import { rememberDerivedSecrets, type Redactor } from '../secrets/index.js';
import { hasMissingSecrets, missingSecrets, SECRET_PLACEHOLDERS } from './parameters.js';
import type { LoadedSync } from './types.js';

export const REQUEST_KINDS = { track: 'track', identify: 'identify' } as const;
export type RequestKind = (typeof REQUEST_KINDS)[keyof typeof REQUEST_KINDS];

/** `$identify` events use the identify request; every other event the track request. */
export function requestKindOf(event: AmplitudeEvent): RequestKind {
  return isIdentifyEvent(event) ? 'identify' : 'track';
}

/** A sync that cannot make this request at all: not an event's fault, the configuration's. */
export class RequestNotPossibleError extends Error {
  override name = 'RequestNotPossibleError';
  constructor(
    /** Or an auth scheme's AuthSettingsError code ('signing_secret'). */
    readonly code: 'identify_not_supported' | 'identify_not_forwarded' | 'unresolved_secret' | 'batch_size' | (string & {}),
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a render is for. `delivery`: the sync's own parameter values (an unresolved secret refuses),
 * its parameters-only templates rendered once, secrets tracked, and the auth schemes' stamps left to
 * each attempt. `preview` (preview, send's siblings validate and plan, the examples): the parameter
 * values given (secrets masked as <secret:NAME>, or shown), and the request stamped as its first
 * attempt would be, with placeholders where a secret or a token would go.
 */
export type RenderMode = { mode: 'delivery' } | { mode: 'preview'; parameters: Record<string, unknown> };

export const RENDER_FOR_DELIVERY: RenderMode = { mode: 'delivery' };

export function renderForPreview(parameters: Record<string, unknown>): RenderMode {
  return { mode: 'preview', parameters };
}

export interface RenderForSyncOptions {
  /** The id sent in the idempotency header and signed (default: the events' insert_id, or their batch key). */
  idempotencyKey?: string;
  /** Headers the daemon adds (traceparent); the destination's own headers win. */
  extraHeaders?: Record<string, string>;
}

/**
 * An event's batch key (`batch.key`): events of different keys never share a request. Undefined when
 * the destination declares none. Throws RenderError when the key cannot be rendered for this event.
 * `parameters`: the sync's own (the daemon), or a preview's (validate, secrets as placeholders).
 */
export function renderBatchKey(sync: LoadedSync, context: EventContext, parameters: Record<string, unknown> = sync.parameters.values): string | undefined {
  const template = sync.destination.batchKey;
  return template === undefined ? undefined : template.render(oneEventContext(context, parameters));
}

/** The templates of a request kind; throws when the destination or the sync does not do identify. */
export function templatesFor(sync: LoadedSync, kind: RequestKind): RequestTemplates {
  if (kind === 'track') return sync.destination.track;
  if (!sync.destination.identify) {
    throw new RequestNotPossibleError('identify_not_supported', `destination ${sync.destination.slug} has no identify request`);
  }
  if (!sync.identifyForwarding) {
    throw new RequestNotPossibleError('identify_not_forwarded', `sync ${sync.id} does not forward identify events (identifyForwarding is off)`);
  }
  return sync.destination.identify;
}

/**
 * Renders the request for one event, or for a batch of events of one kind, of a sync. This is the
 * function the daemon calls. `contexts` come from `buildEventContext(event, sync.selection)` (which
 * is where an event that cannot be delivered is found, one event at a time). A destination without
 * `batch` takes exactly one context; with `batch`, 1..batch.maxEvents. Throws RenderError (template),
 * RequestNotPossibleError (configuration: identify, unresolved secret, batch size).
 */
export function renderForSync(
  sync: LoadedSync,
  contexts: readonly EventContext[],
  kind: RequestKind,
  mode: RenderMode,
  options: RenderForSyncOptions = {},
): RenderedRequest {
  const templates = templatesFor(sync, kind);
  const batch = sync.destination.definition.batch;
  const count = contexts.length;
  if (count === 0 || (!batch && count !== 1) || (batch && count > batch.maxEvents)) {
    throw new RequestNotPossibleError(
      'batch_size',
      `${sync.destination.slug} takes ${batch ? `1 to ${batch.maxEvents} events` : 'one event'} per request, not ${count}`,
    );
  }
  const preview = mode.mode === 'preview';
  if (!preview && hasMissingSecrets(sync.parameters)) {
    const reasons = missingSecrets(sync.parameters).map((name) => `${name}: ${sync.parameters.unresolved.get(name) ?? 'not read'}`);
    throw new RequestNotPossibleError('unresolved_secret', `sync ${sync.id} has unresolved secrets (${reasons.join('; ')})`);
  }
  const parameters = preview ? mode.parameters : sync.parameters.values;
  const context: RenderContext = batch ? { events: [...contexts], parameters } : oneEventContext(contexts[0], parameters);
  // The sync's own parameters: its parameters-only templates render once (a preview's values are new each time).
  const constants = preview ? undefined : constantRendersOf(sync);
  const auth = authFor(sync, mode);
  // The key goes only into the idempotency header and the auth schemes (a signature's id): a batch's is a hash of 100 insert_ids, made only when one of them is sent.
  // Both carry its header form (headerId), so the id signed is the id sent, and the same event gives the same key on every attempt.
  const key = options.idempotencyKey ?? (templates.idempotencyHeader === undefined ? undefined : defaultIdempotencyKey(contexts));
  const renderOptions = { idempotencyKey: key === undefined ? undefined : headerId(key), extraHeaders: options.extraHeaders, constants };
  const secrets = sync.parameters.secretValues;
  let request: RenderedRequest;
  // Placeholders (a preview) or no secrets: nothing to learn, nothing to hide.
  if (preview || secrets.length === 0) {
    request = renderRequest(templates, context, renderOptions);
  } else {
    const tracker = new SecretTracker(secrets);
    try {
      request = tracker.run(() => renderRequest(templates, context, renderOptions));
      rememberDerivedSecrets(request, tracker.derived);
    } catch (error) {
      // A render error can quote rendered output: it leaves here with every form of every secret redacted.
      throw withoutSecrets(error, tracker.redactor());
    }
  }
  if (auth === undefined) return request;
  // After the render: the body's bytes are final. A delivery is stamped before each attempt, by whoever sends it.
  auth.rendered(request, () => {
    if (renderOptions.idempotencyKey !== undefined) return renderOptions.idempotencyKey;
    const computed = defaultIdempotencyKey(contexts);
    return computed === undefined ? undefined : headerId(computed);
  });
  return preview ? auth.stampForPreview(request) : request;
}

/** The sync's auth schemes, prepared for the mode; a setting they cannot use is the configuration's fault. */
function authFor(sync: LoadedSync, mode: RenderMode): SyncAuth | undefined {
  try {
    return mode.mode === 'preview' ? syncAuth(sync, { mode: 'preview', parameters: mode.parameters, isPlaceholder }) : syncAuth(sync, FOR_DELIVERY);
  } catch (error) {
    if (error instanceof AuthSettingsError) throw new RequestNotPossibleError(error.code, `sync ${sync.id}: ${error.message}`);
    throw error;
  }
}

/**
 * An event's context with the parameters, written out (a field added to EventContext is added
 * here): `{ ...context, parameters }` cost ~1 µs, the spread's copy taking a slow path once a
 * property is added after it.
 */
function oneEventContext(context: EventContext, parameters: Record<string, unknown>): RenderContext {
  return { input: context.input, mappedProperties: context.mappedProperties, mappedFields: context.mappedFields, parameters };
}

/** Per loaded sync: a reload makes new LoadedSyncs, so a changed parameter or secret is never served from here. */
const constantRenders = new WeakMap<LoadedSync, ConstantRenders>();

function constantRendersOf(sync: LoadedSync): ConstantRenders {
  let constants = constantRenders.get(sync);
  if (!constants) {
    constants = new ConstantRenders();
    constantRenders.set(sync, constants);
  }
  return constants;
}

function isPlaceholder(name: string, value: unknown): boolean {
  return value === SECRET_PLACEHOLDERS.masked(name) || value === SECRET_PLACEHOLDERS.unresolved(name);
}

function withoutSecrets(error: unknown, redactor: Redactor): unknown {
  if (error instanceof RenderError) return new RenderError(error.file, error.line, error.column, redactor.redact(error.detail));
  if (error instanceof Error) {
    const message = redactor.redact(error.message);
    if (message !== error.message) {
      error.message = message;
      error.stack = redactor.redact(error.stack ?? '');
    }
  }
  return error;
}

/** One event's insert_id; for several, a hash of their insert_ids (absent when one lacks it). Sent as headerId() of it. */
export function defaultIdempotencyKey(contexts: readonly EventContext[]): string | undefined {
  if (contexts.length === 1) return contexts[0].input.insert_id;
  if (contexts.some((context) => context.input.insert_id === undefined)) return undefined;
  const hash = createHash('sha256');
  for (const context of contexts) hash.update(String(context.input.insert_id)).update('\n');
  return hash.digest('hex').slice(0, 32);
}

/** Convenience for tools and tests: events in, request out (builds each event's context). */
export function renderEventsForSync(
  sync: LoadedSync,
  events: readonly AmplitudeEvent[],
  kind: RequestKind = requestKindOf(events[0]),
  mode: RenderMode = RENDER_FOR_DELIVERY,
): RenderedRequest {
  return renderForSync(sync, events.map((event) => buildEventContext(event, sync.selection)), kind, mode);
}
