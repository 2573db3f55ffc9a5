// One event through one sync, for the authoring tools: preview (secrets masked or shown), send
// (real secrets) and the examples (masked). It renders with renderForSync, like the daemon.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { withOAuthPlaceholder } from '../oauth/index.js';
import { buildEventContext, type RenderedRequest } from '../render/index.js';
import { previewParameters, type SecretDisplay } from './parameters.js';
import { renderForSync, requestKindOf, templatesFor, type RequestKind } from './render-for-sync.js';
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
export function renderEventRequest(sync: LoadedSync, event: AmplitudeEvent, secrets: SecretDisplay | 'send'): EventRequest {
  const kind = requestKindOf(event);
  templatesFor(sync, kind);
  const warnings: string[] = [];
  if (!sync.enabled) warnings.push(`sync ${sync.id} is disabled (enabled: false): the daemon sends nothing for it`);
  if (kind === 'track' && !sync.filter(event)) {
    const types = sync.definition.filter?.eventTypes;
    const why = types?.length && !types.includes(event.event_type) ? `event type ${JSON.stringify(event.event_type)} is not in filter.eventTypes` : 'a filter condition does not hold';
    warnings.push(`the sync's filter drops this event (${why}): the daemon would not send it`);
  }
  let parameters: Record<string, unknown> | undefined;
  if (secrets !== 'send') {
    const preview = previewParameters(sync.parameters, secrets);
    parameters = preview.values;
    warnings.push(...preview.warnings);
  }
  let request = renderForSync(sync, [buildEventContext(event, sync.selection)], kind, undefined, { parameters });
  // A preview fetches no token: it shows where the bearer goes (send adds the real one).
  if (secrets !== 'send') request = withOAuthPlaceholder(sync.destination.definition, request);
  return { kind, request, warnings };
}
