// A sync's event filter, compiled once into a predicate: the type is listed (or no list is
// given) and every property condition holds.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import type { Condition, ConditionValue, Filter } from '../../schema/generated/sync.js';
import { readProperty } from './properties.js';

export type EventPredicate = (event: AmplitudeEvent) => boolean;

export function compileFilter(filter: Filter | undefined): EventPredicate {
  const types = filter?.eventTypes?.length ? new Set(filter.eventTypes) : undefined;
  const conditions = (filter?.conditions ?? []).map(compileCondition);
  if (!types && conditions.length === 0) return () => true;
  return (event) => (!types || types.has(event.event_type)) && conditions.every((holds) => holds(event));
}

function compileCondition(condition: Condition): EventPredicate {
  const read = (event: AmplitudeEvent) => readProperty(event, condition);
  const values = (Array.isArray(condition.value) ? condition.value : [condition.value]).filter(
    (value): value is ConditionValue => value !== undefined,
  );
  const first = values[0];
  switch (condition.op) {
    case 'set':
      return (event) => isSet(read(event));
    case 'not_set':
      return (event) => !isSet(read(event));
    case 'is':
      return (event) => values.some((value) => same(read(event), value));
    case 'is_not':
      return (event) => !values.some((value) => same(read(event), value));
    case 'contains':
      return (event) => contains(read(event), first);
    case 'does_not_contain':
      return (event) => !contains(read(event), first);
    case 'less':
      return (event) => compare(read(event), first, (a, b) => a < b);
    case 'less_or_equal':
      return (event) => compare(read(event), first, (a, b) => a <= b);
    case 'greater':
      return (event) => compare(read(event), first, (a, b) => a > b);
    case 'greater_or_equal':
      return (event) => compare(read(event), first, (a, b) => a >= b);
  }
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/**
 * Amplitude compares as strings ("5" is 5), and a list property "is" X when one item is X. An object
 * is never a value: String() of one is "[object Object]", and of one whose own `toString` is data
 * ({"toString": 1}, which a publisher can send) a TypeError.
 */
function same(actual: unknown, expected: ConditionValue): boolean {
  if (Array.isArray(actual)) return actual.some((item) => same(item, expected));
  if (actual === undefined || actual === null || typeof actual === 'object') return false;
  return actual === expected || String(actual) === String(expected);
}

/** Substring for strings (case-insensitive, as in Amplitude), membership for lists. */
function contains(actual: unknown, expected: ConditionValue | undefined): boolean {
  if (expected === undefined) return false;
  if (Array.isArray(actual)) return actual.some((item) => same(item, expected));
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'bigint') return false;
  return String(actual).toLowerCase().includes(String(expected).toLowerCase());
}

/** A decimal number written as text ("5", "-79.99", "1e3"); not hex, binary, octal, blanks or "". */
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A number, or a bigint, or a decimal string read as a number; anything else (booleans, "0x10", "") is not a number. */
function numberOf(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'bigint' || (typeof value === 'string' && DECIMAL.test(value)) ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** Numbers compare as numbers; anything that is not a number never matches. */
function compare(actual: unknown, expected: ConditionValue | undefined, test: (a: number, b: number) => boolean): boolean {
  const a = numberOf(actual);
  const b = numberOf(expected);
  return a !== undefined && b !== undefined && test(a, b);
}
