// What a template may read and call, decided by allow-list: the own, enumerable properties of
// plain objects and of lists (their items and length), the characters and length of strings, and
// nothing of anything else. Only functions we registered, and the template's own macros, can be
// called. So no value leads to `constructor`, a prototype or a method: a template is data.

/** Names that lead from a value to JavaScript itself; refused outright, even as own data, so the rule is simple to state. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** A template broke the rule (found at run time; `validate` finds most of them before). */
export class TemplateGuardError extends Error {
  override name = 'TemplateGuardError';
  constructor(detail: string) {
    super(`not allowed: ${detail}`);
  }
}

/** Functions a template may call: our globals, what they hand out (joiner's), and macros. */
const callables = new WeakSet<object>();

export function allowCall<T extends (...args: never[]) => unknown>(fn: T): T {
  callables.add(fn);
  return fn;
}

export function isCallable(value: unknown): boolean {
  return typeof value === 'function' && callables.has(value);
}

export function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const INDEX = /^(?:0|[1-9]\d*)$/;

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return `an object that is not data (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `a ${typeof value}`;
}

/** Absent data, or a name JavaScript gives every string, list or object (a method, `valueOf`): refused, so the error says why. */
function absent(value: unknown, key: string): undefined {
  if (key in Object(value)) throw new TemplateGuardError(`"${key}" of ${describe(value)} is JavaScript's, not data: a template reads only its data`);
  return undefined;
}

/**
 * `value.name` or `value[name]` in a template. Absent data is undefined (so `is defined` and
 * `or_default` work); reaching past data is an error.
 */
export function readMember(value: unknown, name: unknown): unknown {
  if (typeof name !== 'string' && typeof name !== 'number') {
    throw new TemplateGuardError(`a member name must be a string or a number, not ${describe(name)}`);
  }
  const key = typeof name === 'string' ? name : String(name);
  if (FORBIDDEN_NAMES.has(key)) throw new TemplateGuardError(`"${key}" leads to JavaScript, not data: a template reads only its data`);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') {
    if (Array.isArray(value)) return key === 'length' || INDEX.test(key) ? value[key as unknown as number] : absent(value, key);
    if (!isPlainObject(value)) throw new TemplateGuardError(`cannot read "${key}" of ${describe(value)}: a template reads only its data`);
    // True only for an own, enumerable property: inherited names and hidden ones are absent.
    if (!Object.prototype.propertyIsEnumerable.call(value, key)) return absent(value, key);
    const member = (value as Record<string, unknown>)[key];
    if (typeof member === 'function' && !callables.has(member)) throw new TemplateGuardError(`"${key}" is a function, not data`);
    return member;
  }
  if (typeof value === 'string') return key === 'length' || INDEX.test(key) ? value[key as unknown as number] : absent(value, key);
  if (typeof value === 'function') throw new TemplateGuardError(`cannot read "${key}" of a function: a template can only call it`);
  return absent(value, key);
}
