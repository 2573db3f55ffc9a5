// Which fields of an event are missing or invalid, by name, as Amplitude's 400 lists them
// (events_with_missing_fields, events_with_invalid_fields). The daemon's own check (events/decode)
// stops at the first error; a sender needs every field of every event at once.
import { Ajv } from 'ajv';
import type { AmplitudeEvent } from '../events/index.js';
import { schemaValidator } from '../schema-validator.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = schemaValidator<AmplitudeEvent>(ajv, 'event.schema.json');

export interface EventProblems {
  missing: string[];
  invalid: string[];
}

/** undefined for a valid event (schema/event.schema.json); else the top-level fields at fault. */
export function eventProblems(event: unknown): EventProblems | undefined {
  if (validate(event)) return undefined;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { missing: [], invalid: ['event'] };
  const missing = new Set<string>();
  const invalid = new Set<string>();
  for (const error of validate.errors ?? []) {
    if (error.keyword === 'required' && error.instancePath === '') {
      // The anyOf's branches (user_id, device_id) are reported below as one.
      const field = (error.params as { missingProperty: string }).missingProperty;
      if (field !== 'user_id' && field !== 'device_id') missing.add(field);
    } else if (error.keyword === 'anyOf' && error.instancePath === '') {
      missing.add('user_id or device_id');
    } else {
      invalid.add(error.instancePath.split('/')[1] || 'event');
    }
  }
  return { missing: [...missing], invalid: [...invalid] };
}
