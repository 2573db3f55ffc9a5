// One event through one sync, for the authoring tools: preview (secrets masked or shown), send
// (real secrets, rendered for delivery: send stamps each request through the auth seam, as the
// daemon does) and the examples (masked). It renders with renderForSync, like the daemon.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { buildEventContext, type RenderedRequest } from '../render/index.js';
import { batchEvents } from './batch-events.js';
import { previewParameters, type SecretDisplay } from './parameters.js';
import { RENDER_FOR_DELIVERY, renderForPreview, renderForSync, requestKindOf, templatesFor, type RenderMode, type RequestKind } from './render-for-sync.js';
import type { LoadedSync } from './types.js';

export interface EventRequest {
  kind: RequestKind;
  request: RenderedRequest;
  /** Things to tell the user that do not stop the request: filtered out, disabled sync, unresolved secret. */
  warnings: string[];
}

/**
 * Renders the request one event would produce. `secrets`: 'mask' renders secret parameters as
 * <secret:NAME>, 'show' with their values, 'send' with the values and refuses unresolved ones.
 * Throws EventContextError, RenderError or RequestNotPossibleError.
 */
export function renderEventRequest(sync: LoadedSync, event: AmplitudeEvent, secrets: SecretDisplay | 'send', options: { userProperties?: Record<string, unknown> } = {}): EventRequest {
  const kind = requestKindOf(event);
  templatesFor(sync, kind);
  const warnings: string[] = [];
  if (!sync.enabled) warnings.push(`sync ${sync.id} is disabled (enabled: false): the daemon sends nothing for it`);
  if (kind === 'track' && !sync.filter(event)) {
    const types = sync.definition.filter?.eventTypes;
    const why = types?.length && !types.includes(event.event_type) ? `event type ${JSON.stringify(event.event_type)} is not in filter.eventTypes` : 'a filter condition does not hold';
    warnings.push(`the sync's filter drops this event (${why}): the daemon would not send it`);
  }
  const mode = renderModeOf(sync, secrets, warnings);
  const context = buildEventContext(event, sync.selection);
  // Change-based identify narrows only input.user_properties, as the daemon does (identify-changes.ts).
  if (options.userProperties) context.input = { ...event, user_properties: options.userProperties };
  return { kind, request: renderForSync(sync, [context], kind, mode), warnings };
}

/** `send` renders for delivery; a preview with its masked (or shown) values, telling why a secret is a placeholder. */
function renderModeOf(sync: LoadedSync, secrets: SecretDisplay | 'send', warnings: string[]): RenderMode {
  if (secrets === 'send') return RENDER_FOR_DELIVERY;
  const preview = previewParameters(sync.parameters, secrets);
  warnings.push(...preview.warnings);
  return renderForPreview(preview.values);
}

export interface EventsRequest extends EventRequest {
  /** 0-based positions, in the events given, of the events this request carries. */
  indexes: number[];
}

/**
 * Several events through one sync, grouped into requests as the daemon would batch them (one
 * request per event without `batch`). Events the daemon would not send are named in `warnings`.
 * Throws EventContextError, RenderError or RequestNotPossibleError, naming the event's position.
 */
export function renderEventRequests(
  sync: LoadedSync,
  events: readonly AmplitudeEvent[],
  secrets: SecretDisplay | 'send',
  options: { userProperties?: Record<string, unknown> } = {},
): { requests: EventsRequest[]; warnings: string[] } {
  if (events.length === 1) {
    const { kind, request, warnings } = renderEventRequest(sync, events[0], secrets, options);
    return { requests: [{ kind, request, warnings: [], indexes: [0] }], warnings };
  }
  const warnings: string[] = [];
  if (!sync.enabled) warnings.push(`sync ${sync.id} is disabled (enabled: false): the daemon sends nothing for it`);
  const planned = batchEvents(sync, events);
  for (const { index, why } of planned.skipped) warnings.push(`event ${index + 1} is not sent: ${why}`);
  const mode = renderModeOf(sync, secrets, warnings);
  const requests = planned.requests.map(({ kind, indexes, events: carried }) => {
    const contexts = carried.map((event, at) => {
      try {
        return buildEventContext(event, sync.selection);
      } catch (error) {
        (error as Error).message = `event ${indexes[at] + 1}: ${(error as Error).message}`;
        throw error;
      }
    });
    return { kind, indexes, warnings: [], request: renderForSync(sync, contexts, kind, mode) };
  });
  return { requests, warnings };
}
