// "Undefined is never silent": a value the event does not have cannot reach the output unless the
// template says what it wants (`default(…)`, `is defined`). nunjucks checks only what `{{ }}`
// prints; a filter turns undefined into text (`json` into null, `upper` into ""), and a dict or
// list built by the template drops or nulls it when serialised. These are the checks the
// compiled template calls for those two paths (guarded-compiler.ts emits the calls).

/** Filters whose job is to replace a missing value: they alone may be given undefined. */
export const FILTERS_FOR_MISSING_VALUES: ReadonlySet<string> = new Set(['default', 'd', 'or_default']);

/** A missing value used where the template did not say what it wants. */
export class UndefinedValueError extends Error {
  override name = 'UndefinedValueError';
}

/** The value given to a filter; throws when it is undefined. `what` is the expression as written (input.event_typ). */
export function definedFilterInput(value: unknown, filter: string, what: string): unknown {
  if (value !== undefined) return value;
  throw new UndefinedValueError(
    `${what} is undefined (the event has no such value), given to filter ${filter}: ` +
      `write ${what} | default(…) or guard it with {% if ${what} is defined %}`,
  );
}

/** Dicts and lists the template built with an undefined entry, and the first such key (or index). */
const holders = new WeakMap<object, string>();

/** Records that a dict or list made by the template holds undefined at `key`: written as JSON it would lose it. */
export function markUndefinedEntry(made: object, key: string): void {
  if (!holders.has(made)) holders.set(made, key);
}

/** The key of an undefined entry of a dict or list made by the template (directly or in a dict or list it holds). */
export function undefinedEntryOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? holders.get(value) : undefined;
}
