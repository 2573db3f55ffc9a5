// Change-based identify, the pure part (no I/O, so preview uses it as the daemon does): which operations of an identify would change what the
// destination holds, given what this sync last delivered for the user; what it holds after a
// delivery; and how two daemons' writes of one user merge. The rule throughout: an operation is
// dropped only when, going by what we delivered, it cannot change the destination's value; when
// we cannot know (a list operation, an increment, a conflict), the memory forgets and the next
// identify is sent.
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_REMEMBERED_PROPERTIES } from '../defaults.js';

/** What this sync last delivered for one property: a value (by its hash), an unset, or "set, value unknown". */
export type Remembered = { hash: string } | { unset: true } | { present: true };

/** A user's remembered properties, by name. A name absent from the map is not known at all. */
export type UserMemory = Map<string, Remembered>;

/** An identify's user_properties: operations ($set, $setOnce, $unset, $add, …) and plain properties (a $set). */
export type UserOperations = Record<string, unknown>;

const SET = '$set';
const SET_ONCE = '$setOnce';
const UNSET = '$unset';
const CLEAR_ALL = '$clearAll';
/** Operations that leave a property set to a value we cannot compute (Amplitude's list and number operations). */
const VALUE_OPERATIONS = new Set(['$add', '$append', '$prepend', '$preInsert', '$postInsert', '$remove']);


/**
 * The operations that would change something, or undefined when none would ("unchanged").
 * - a plain property and `$set`: dropped when the remembered value is the same;
 * - `$setOnce`: dropped when the property is known to be set (the destination ignores it);
 * - `$unset`: dropped when the property is known to be unset already (not when it is unknown);
 * - `$add`, `$append`, `$prepend`, `$preInsert`, `$postInsert`, `$remove`, `$clearAll` and any
 *   other operation: always sent.
 */
export function changedOperations(memory: UserMemory, operations: UserOperations | undefined): UserOperations | undefined {
  const changed: UserOperations = {};
  let any = false;
  for (const [name, value] of Object.entries(operations ?? {})) {
    if (!name.startsWith('$')) {
      if (!sameValue(memory.get(name), value)) {
        changed[name] = value;
        any = true;
      }
      continue;
    }
    if (!isObject(value) || (name !== SET && name !== SET_ONCE && name !== UNSET)) {
      changed[name] = value;
      any = true;
      continue;
    }
    const kept: Record<string, unknown> = {};
    let keptAny = false;
    for (const [property, operand] of Object.entries(value)) {
      const remembered = memory.get(property);
      const drop =
        name === SET ? sameValue(remembered, operand) : name === SET_ONCE ? remembered !== undefined && !('unset' in remembered) : remembered !== undefined && 'unset' in remembered;
      if (drop) continue;
      kept[property] = operand;
      keptAny = true;
    }
    if (keptAny) {
      changed[name] = kept;
      any = true;
    }
  }
  return any ? changed : undefined;
}

/** What the destination holds after `sent` was delivered on top of `memory` (a new map). */
export function afterDelivery(memory: UserMemory, sent: UserOperations): UserMemory {
  const next: UserMemory = Object.hasOwn(sent, CLEAR_ALL) ? new Map() : new Map(memory);
  for (const [name, value] of Object.entries(sent)) {
    if (!name.startsWith('$')) {
      next.set(name, { hash: valueHash(value) });
      continue;
    }
    if (name === CLEAR_ALL || !isObject(value)) continue;
    for (const [property, operand] of Object.entries(value)) {
      if (name === SET) next.set(property, { hash: valueHash(operand) });
      else if (name === UNSET) next.set(property, { unset: true });
      // Sent because it was unset or unknown: known unset means our value is now the value.
      else if (name === SET_ONCE) next.set(property, memory.get(property) === undefined ? { present: true } : { hash: valueHash(operand) });
      // $add, $append, $remove, …: set, to a value we cannot compute from what we know.
      else if (VALUE_OPERATIONS.has(name)) next.set(property, { present: true });
      // An operation we do not know: what it did is unknown.
      else next.delete(property);
    }
  }
  return bounded(next);
}

/**
 * Two daemons delivered for one user from the same `base`: `theirs` is in the bucket, `ours` is what
 * our delivery made of `base`. Their changes stay; ours are added; a property both changed to
 * different things is forgotten (the destination holds whichever request it processed last).
 */
export function mergeMemories(base: UserMemory, theirs: UserMemory, ours: UserMemory): UserMemory {
  const merged = new Map(theirs);
  for (const name of new Set([...base.keys(), ...ours.keys()])) {
    const before = base.get(name);
    const mine = ours.get(name);
    if (same(before, mine)) continue;
    const other = theirs.get(name);
    if (same(before, other) || same(mine, other)) {
      if (mine === undefined) merged.delete(name);
      else merged.set(name, mine);
    } else {
      merged.delete(name);
    }
  }
  return bounded(merged);
}

/** The memory a preview states: property name → the value last delivered. */
export function memoryOfValues(values: Record<string, unknown>): UserMemory {
  return new Map(Object.entries(values).map(([name, value]) => [name, { hash: valueHash(value) }]));
}

/** Stored form: [name, "h:<hash>" | "-" | "?"] pairs, compact and free of prototype questions. */
export function encodeMemory(memory: UserMemory): string {
  return JSON.stringify([...memory].map(([name, remembered]) => [name, 'hash' in remembered ? `h:${remembered.hash}` : 'unset' in remembered ? '-' : '?']));
}

/** The stored form read back; anything unreadable is an empty memory (every property is sent). */
export function decodeMemory(text: string): UserMemory {
  const memory: UserMemory = new Map();
  let pairs: unknown;
  try {
    pairs = JSON.parse(text);
  } catch {
    return memory;
  }
  if (!Array.isArray(pairs)) return memory;
  for (const pair of pairs) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') continue;
    const code: string = pair[1];
    if (code === '-') memory.set(pair[0], { unset: true });
    else if (code === '?') memory.set(pair[0], { present: true });
    else if (code.startsWith('h:')) memory.set(pair[0], { hash: code.slice(2) });
  }
  return memory;
}

/**
 * A value's hash: SHA-256 (128 bits, base64url) of its canonical JSON (keys sorted, bigints as
 * digits). The bucket keeps hashes, not values: fixed size per property, and no value in clear.
 */
export function valueHash(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('base64url').slice(0, 22);
}

function sameValue(remembered: Remembered | undefined, value: unknown): boolean {
  return remembered !== undefined && 'hash' in remembered && remembered.hash === valueHash(value);
}

function same(a: Remembered | undefined, b: Remembered | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ('hash' in a) return 'hash' in b && a.hash === b.hash;
  return 'unset' in a ? 'unset' in b : 'present' in b;
}

function bounded(memory: UserMemory): UserMemory {
  // Forgetting is safe (a forgotten property is sent again): the oldest entries go first.
  for (const name of memory.keys()) {
    if (memory.size <= DEFAULT_MAX_REMEMBERED_PROPERTIES) break;
    memory.delete(name);
  }
  return memory;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted, so {a,b} and {b,a} hash alike. Events are at most 64 levels deep (decode.ts). */
function canonical(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
