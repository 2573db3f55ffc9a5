// "input.event_typ is undefined": the event fields the schema names, nearest the one written.
// An event may carry fields the schema does not list, so an unknown name is not an error by itself;
// the hint is added only where a render already failed on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean } from '../did-you-mean.js';
import { SCHEMA_DIR } from '../paths.js';

let fields: string[] | undefined;

/** The top-level fields of schema/event.schema.json, read once. */
function eventFields(): string[] {
  fields ??= Object.keys((JSON.parse(readFileSync(join(SCHEMA_DIR, 'event.schema.json'), 'utf8')) as { properties: object }).properties);
  return fields;
}

/** A render error's text with "did you mean" after an undefined input.NAME that is not an event field. */
export function withEventFieldHint(detail: string): string {
  const undefinedField = /\binput\.([A-Za-z_$][\w$]*) is undefined/.exec(detail);
  if (!undefinedField || eventFields().includes(undefinedField[1])) return detail;
  const hint = didYouMean(undefinedField[1], eventFields());
  if (!hint) return detail;
  const end = undefinedField.index + undefinedField[0].length;
  return `${detail.slice(0, end)}${hint}${detail.slice(end)}`;
}
