// What a template sees: input (the event), parameters, mappedProperties, mappedFields; a batched
// template sees events, a list of {input, mappedProperties, mappedFields}.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import type { PropertyRef, SelectedProperty } from '../../schema/generated/sync.js';
import { readProperty } from '../events/properties.js';
import { EVENT_CONTEXT_REASONS, type EventContextReason } from '../reasons.js';

export interface FieldMapping {
  name: string;
  source: PropertyRef;
  required: boolean;
  identifier: boolean;
}

/** A sync's choices that shape each event's context, resolved once when the sync loads. */
export interface EventSelection {
  selectedProperties: SelectedProperty[];
  fieldMappings: FieldMapping[];
  maxIdentifierBytes?: number;
}

export interface EventContext {
  input: AmplitudeEvent;
  mappedProperties: Record<string, unknown>;
  mappedFields: Record<string, unknown>;
}

export interface RenderContext extends Partial<EventContext> {
  parameters: Record<string, unknown>;
  events?: EventContext[];
}

// Its reasons are the vocabulary's (daemon/reasons.ts).
export { EVENT_CONTEXT_REASONS, type EventContextReason } from '../reasons.js';

/** An event that cannot be delivered as it is: a permanent failure, dead-lettered with its reason. */
export class EventContextError extends Error {
  override name = 'EventContextError';
  constructor(
    readonly code: EventContextReason,
    message: string,
  ) {
    super(message);
  }
}

export function buildEventContext(event: AmplitudeEvent, selection: EventSelection): EventContext {
  const mappedProperties: Record<string, unknown> = {};
  for (const selected of selection.selectedProperties) {
    const value = readProperty(event, selected);
    if (value !== undefined) mappedProperties[selected.as ?? selected.property] = value;
  }
  const mappedFields: Record<string, unknown> = {};
  const limit = selection.maxIdentifierBytes;
  for (const field of selection.fieldMappings) {
    const value = readProperty(event, field.source);
    if (value === undefined || value === null || value === '') {
      if (field.required) {
        throw new EventContextError(
          EVENT_CONTEXT_REASONS.missingRequiredField,
          `required field ${field.name} (from ${field.source.scope} ${field.source.property}) has no value`,
        );
      }
      continue;
    }
    if (field.identifier && limit !== undefined) checkIdentifier(field.name, value, limit);
    mappedFields[field.name] = value;
  }
  if (limit !== undefined && event.user_id !== undefined) checkIdentifier('user_id', event.user_id, limit);
  return { input: event, mappedProperties, mappedFields };
}

function checkIdentifier(name: string, value: unknown, limit: number): void {
  const bytes = Buffer.byteLength(String(value));
  if (bytes > limit) throw new EventContextError(EVENT_CONTEXT_REASONS.identifierTooLong, `${name} is ${bytes} bytes, over the limit of ${limit}`);
}
