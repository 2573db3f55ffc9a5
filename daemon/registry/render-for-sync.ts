// The one place that decides how a sync's request is rendered, so the daemon, preview, send and
// the examples all produce the same request: one event gets {input, mappedProperties,
// mappedFields, parameters}; a batched destination gets {events: [...], parameters}, whatever
// the number of events (a preview is a one-event batch).
import { createHash } from 'node:crypto';
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { isIdentifyEvent } from '../events/index.js';
import {
  buildEventContext,
  ConstantRenders,
  RenderError,
  renderRequest,
  SecretTracker,
  type EventContext,
  type RenderContext,
  type RenderedRequest,
  type RequestTemplates,
} from '../render/index.js';
import { rememberDerivedSecrets, type Redactor } from '../secrets/index.js';
import { SigningSecretError, signingKeys, signRequest, type SigningKey } from '../signing/index.js';
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
    readonly code: 'identify_not_supported' | 'identify_not_forwarded' | 'unresolved_secret' | 'signing_secret' | 'batch_size',
    message: string,
  ) {
    super(message);
  }
}

export interface RenderForSyncOptions {
  /** Parameter values to render with instead of the sync's own (previews pass masked ones). */
  parameters?: Record<string, unknown>;
  /** Headers the daemon adds (traceparent); the destination's own headers win. */
  extraHeaders?: Record<string, string>;
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
  idempotencyKey?: string,
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
  let parameters = options.parameters;
  if (!parameters) {
    if (hasMissingSecrets(sync.parameters)) {
      const reasons = missingSecrets(sync.parameters).map((name) => `${name}: ${sync.parameters.unresolved.get(name) ?? 'not read'}`);
      throw new RequestNotPossibleError('unresolved_secret', `sync ${sync.id} has unresolved secrets (${reasons.join('; ')})`);
    }
    parameters = sync.parameters.values;
  }
  const context: RenderContext = batch ? { events: [...contexts], parameters } : oneEventContext(contexts[0], parameters);
  // With its own parameters, a sync renders its parameters-only templates once (a preview's are new each time).
  const constants = options.parameters ? undefined : constantRendersOf(sync);
  const keys = signingKeysFor(sync, parameters, options.parameters !== undefined);
  // The key goes only into the idempotency header and the signature's id: a batch's is a hash of 100 insert_ids, made only when one of them is sent.
  const needsKey = templates.idempotencyHeader !== undefined || keys.length > 0;
  const renderOptions = { idempotencyKey: idempotencyKey ?? (needsKey ? defaultIdempotencyKey(contexts) : undefined), extraHeaders: options.extraHeaders, constants };
  const secrets = sync.parameters.secretValues;
  // Placeholders (a preview) or no secrets: nothing to learn, nothing to hide.
  if (options.parameters || secrets.length === 0) return signRequest(renderRequest(templates, context, renderOptions), keys, renderOptions.idempotencyKey);
  const tracker = new SecretTracker(secrets);
  try {
    const request = tracker.run(() => renderRequest(templates, context, renderOptions));
    rememberDerivedSecrets(request, tracker.derived);
    // Signed after the render: the body's bytes are final. The consumer renews the timestamp per attempt.
    return signRequest(request, keys, renderOptions.idempotencyKey);
  } catch (error) {
    // A render error can quote rendered output: it leaves here with every form of every secret redacted.
    throw withoutSecrets(error, tracker.redactor());
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

const NO_KEYS: readonly SigningKey[] = [];

/** The destination's signing keys from the values rendered with; a preview's masked secret signs as a placeholder. */
function signingKeysFor(sync: LoadedSync, parameters: Record<string, unknown>, preview: boolean): readonly SigningKey[] {
  const signing = sync.destination.definition.signing;
  if (!signing) return NO_KEYS;
  try {
    return signingKeys(signing, parameters, preview ? isPlaceholder : undefined);
  } catch (error) {
    if (error instanceof SigningSecretError) throw new RequestNotPossibleError('signing_secret', `sync ${sync.id}: ${error.message}`);
    throw error;
  }
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

/** One event's insert_id; for several, a hash of their insert_ids (absent when one lacks it). */
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
  options: RenderForSyncOptions = {},
): RenderedRequest {
  return renderForSync(sync, events.map((event) => buildEventContext(event, sync.selection)), kind, undefined, options);
}
