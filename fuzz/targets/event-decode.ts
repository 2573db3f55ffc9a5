// A message's bytes, as a publisher can put them on an event subject: the decode (size, depth scan,
// UTF-8, JSON with exact big integers, schema), the cache that shares a decode between syncs, and
// the change-based identify arithmetic over the decoded user properties.
// Findings: anything thrown (a verdict is always returned); a verdict that is not one of the
// documented ones; parseJsonExact disagreeing with JSON.parse (accepting what it refuses, refusing
// what it accepts, or a different value); a shared decode that differs from a fresh one or is not
// frozen; the identify memory not surviving its own encoding, growing past its bound, or sending
// again what it was just told the destination holds.
import { isDeepStrictEqual } from 'node:util';
import {
  afterDelivery,
  changedOperations,
  checkEvent,
  decodeEvent,
  decodeMemory,
  encodeMemory,
  EVENT_REJECTIONS,
  SharedDecodes,
  valueHash,
  type UserMemory,
} from '../../daemon/events/index.js';
import { DEFAULT_MAX_EVENT_DEPTH, DEFAULT_MAX_REMEMBERED_PROPERTIES } from '../../daemon/defaults.js';
import { JSON_SCAN, parseJsonExact, scanJson } from '../../daemon/json/index.js';
import { check, shown, type FuzzTargetInfo } from '../fuzz-target.js';

/** Small enough that the fuzzer reaches the size verdict too. */
const MAX_BYTES = 2_048;
const REJECTIONS = new Set<string>(Object.values(EVENT_REJECTIONS));
/** A verdict's message is one line for a person: bounded whatever the input. */
const MAX_MESSAGE = 512;

export const info: FuzzTargetInfo = {
  summary: 'event bytes → decodeEvent, parseJsonExact vs JSON.parse, SharedDecodes, identify memory',
  maxLen: 4_096,
  dictionary: [
    '{"event_type":"a","user_id":"u"}', '"event_type":', '"user_id":', '"device_id":', '"insert_id":', '"time":', '"event_properties":',
    '"user_properties":', '"$set":', '"$setOnce":', '"$unset":', '"$add":', '"$clearAll":', '"$identify"', '"__proto__":', '"constructor":',
    '12345678901234567890', '-9007199254740993', '1e400', '\\u0000', '\\ud800', '"\\"', '[[[[', ']]]]', '{}', 'null', 'true', '-0',
  ],
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function fuzz(data: Buffer): void {
  const verdict = decodeEvent(data, MAX_BYTES);
  check(verdict.bytes === data.byteLength, `verdict bytes ${verdict.bytes} for a ${data.byteLength}-byte message`);
  if (verdict.ok) {
    check(typeof verdict.event === 'object' && verdict.event !== null && !Array.isArray(verdict.event), 'an accepted event is not an object');
    check(checkEvent(verdict.event).ok, 'an accepted event fails checkEvent');
  } else {
    check(REJECTIONS.has(verdict.reason), `unknown rejection ${shown(verdict.reason)}`);
    check(typeof verdict.message === 'string' && verdict.message.length > 0 && verdict.message.length <= MAX_MESSAGE, `rejection message of ${verdict.message.length} characters`);
  }
  if (data.byteLength <= MAX_BYTES) exactParse(data);
  sharedDecode(data, verdict);
  if (verdict.ok) identifyMemory(verdict.event.user_properties, data);
}

/** parseJsonExact is JSON.parse with big integers kept: same verdict, same value (a bigint where a double would round). */
function exactParse(data: Buffer): void {
  if (scanJson(data, DEFAULT_MAX_EVENT_DEPTH) === JSON_SCAN.tooDeep) return;
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return;
  }
  let expected: unknown;
  let expectedError: unknown;
  try {
    expected = JSON.parse(text);
  } catch (error) {
    expectedError = error;
  }
  let actual: unknown;
  try {
    actual = parseJsonExact(text);
  } catch (error) {
    check(expectedError !== undefined, () => `parseJsonExact refuses what JSON.parse accepts: ${(error as Error).message}`);
    check(error instanceof SyntaxError, () => `parseJsonExact threw ${(error as Error).name}, not SyntaxError`);
    return;
  }
  check(expectedError === undefined, () => `parseJsonExact accepts what JSON.parse refuses (${(expectedError as Error).message}): ${shown(actual)}`);
  check(sameModuloBigints(actual, expected), () => `parseJsonExact gives ${shown(actual)}, JSON.parse ${shown(expected)}`);
}

/** Equal, where a bigint on the left stands for the double JSON.parse made of the same digits. */
function sameModuloBigints(exact: unknown, plain: unknown): boolean {
  if (typeof exact === 'bigint') return typeof plain === 'number' && Number(exact) === plain && !Number.isSafeInteger(plain);
  if (Array.isArray(exact)) return Array.isArray(plain) && exact.length === plain.length && exact.every((item, index) => sameModuloBigints(item, plain[index]));
  if (typeof exact === 'object' && exact !== null) {
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) return false;
    const keys = Object.keys(exact);
    return isDeepStrictEqual(keys, Object.keys(plain)) && keys.every((key) => sameModuloBigints((exact as Record<string, unknown>)[key], (plain as Record<string, unknown>)[key]));
  }
  return Object.is(exact, plain);
}

/** Two syncs read the message: the second gets the first one's outcome, frozen, equal to a fresh decode. */
function sharedDecode(data: Buffer, fresh: ReturnType<typeof decodeEvent>): void {
  const counts = { hits: 0, misses: 0 };
  const shared = new SharedDecodes({ readers: 2, maxEntries: 4, maxBytes: 1_048_576, counts });
  const at = { streamSequence: 1, timestampNanos: 1 };
  const first = shared.decode(data, MAX_BYTES, at);
  const second = shared.decode(data, MAX_BYTES, at);
  check(first === second || data.byteLength > MAX_BYTES, 'the second sync did not get the shared decode');
  check(isDeepStrictEqual(first, fresh), () => `shared decode ${shown(first)} differs from a fresh one ${shown(fresh)}`);
  if (first.ok && data.byteLength <= MAX_BYTES) check(Object.isFrozen(first.event), 'a shared event is not frozen');
  check(shared.size.entries === 0, `${shared.size.entries} entries left after both readers took the message`);
}

/** Change-based identify over hostile user properties. */
function identifyMemory(operations: Record<string, unknown> | undefined, data: Buffer): void {
  // A stored memory is untrusted text too (the bucket is shared): any text reads as some memory.
  const stored = decodeMemory(data.toString('latin1'));
  const changed = changedOperations(stored, operations);
  const after = afterDelivery(stored, changed ?? {});
  check(after.size <= DEFAULT_MAX_REMEMBERED_PROPERTIES, `memory of ${after.size} properties`);
  const encoded = encodeMemory(after);
  check(sameMemory(decodeMemory(encoded), after), () => `memory does not survive its encoding: ${encoded.slice(0, 200)}`);
  if (operations) valueHash(operations);
  // Plain properties only (a $set each): once delivered, the same identify changes nothing.
  if (!operations || Object.keys(operations).length > DEFAULT_MAX_REMEMBERED_PROPERTIES || Object.keys(operations).some((name) => name.startsWith('$'))) return;
  const delivered = afterDelivery(new Map(), operations);
  const again = changedOperations(delivered, operations);
  check(again === undefined, () => `identify sent again after delivery: ${shown(again)}`);
}

function sameMemory(a: UserMemory, b: UserMemory): boolean {
  return a.size === b.size && [...a].every(([name, remembered]) => isDeepStrictEqual(b.get(name), remembered));
}
