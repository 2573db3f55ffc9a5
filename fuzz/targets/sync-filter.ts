// A sync's filter (event types and property conditions, written by the operator: always
// schema-valid here) against a hostile event. Input: the event's JSON text, then a NUL byte, then
// bytes that choose the filter (property names mostly taken from the event, so conditions meet
// its values, plus names that lead to JavaScript: constructor, __proto__, toString).
// Findings: anything thrown; a predicate that is not a boolean or changes between two calls or
// once the event is frozen (shared events are); an operator and its negation both holding or both
// failing (is/is_not, contains/does_not_contain, set/not_set); less and greater_or_equal both
// holding (or greater and less_or_equal); `set` or `is` holding for a property the event does not
// own (an inherited name); a filter not being its event types and every condition.
import { compileFilter, decodeEvent, type AmplitudeEvent } from '../../daemon/events/index.js';
import type { Condition, ConditionValue, Filter } from '../../schema/generated/sync.js';
import { ByteReader } from '../byte-reader.js';
import { check, shown, splitAtNul, type FuzzTargetInfo } from '../fuzz-target.js';

type Op = Condition['op'];
type Scope = Condition['scope'];

const OPS: readonly Op[] = ['is', 'is_not', 'contains', 'does_not_contain', 'less', 'less_or_equal', 'greater', 'greater_or_equal', 'set', 'not_set'];
const SCOPES: readonly Scope[] = ['field', 'event', 'user', 'group'];
const NEGATION: Partial<Record<Op, Op>> = { is: 'is_not', is_not: 'is', contains: 'does_not_contain', does_not_contain: 'contains', set: 'not_set', not_set: 'set' };
/** Pairs that cannot both hold: a number is not both under and at-or-over another. */
const EXCLUSIVE: readonly (readonly [Op, Op])[] = [['less', 'greater_or_equal'], ['greater', 'less_or_equal']];
const INHERITED_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'length', 'prototype', '$set'];
const VALUES: readonly ConditionValue[] = ['', '5', '5.0', '-0', '0x10', '1e3', ' 5', 'Infinity', 'NaN', 'true', 'null', 'a', 'A', 0, -0, 5, 1e21, 9007199254740993, true, false];
const MAX_CONDITIONS = 4;

export const info: FuzzTargetInfo = {
  summary: 'event JSON \\0 filter choices → compileFilter: negations, numeric order, own properties only',
  maxLen: 2_048,
  dictionary: [
    '{"event_type":"a","user_id":"u","event_properties":{}}', '"event_properties":', '"user_properties":', '"group_properties":', '"$set":', '"$setOnce":',
    '"__proto__":', '"constructor":', '12345678901234567890', '1e3', '"5"', '"0x10"', '"-0"', '[]', 'null', 'true', '\\u0000',
  ],
};

const BENIGN: AmplitudeEvent = { event_type: 'purchase', user_id: 'u', event_properties: { price: 5, item: 'Shoe' } };

export function fuzz(data: Buffer): void {
  const [eventText, choices] = splitAtNul(data);
  const decoded = decodeEvent(eventText, 1_048_576);
  const event = decoded.ok ? decoded.event : BENIGN;
  const filter = chooseFilter(new ByteReader(choices ?? Buffer.alloc(0)), event);
  const passes = compileFilter(filter);
  const verdict = passes(event);
  check(typeof verdict === 'boolean', `the filter answered ${shown(verdict)}`);
  check(passes(event) === verdict, 'the filter answers differently the second time');
  const holds = (filter.conditions ?? []).map((condition) => conditionHolds(condition, event));
  const typeListed = !filter.eventTypes?.length || filter.eventTypes.includes(event.event_type);
  check(verdict === (typeListed && holds.every(Boolean)), () => `filter ${shown(filter)} answers ${verdict}, but its type check is ${typeListed} and its conditions ${shown(holds)}`);
  freezeDeep(event);
  check(passes(event) === verdict, 'the filter answers differently for the frozen event');
}

/** One condition on its own, checked against its negation, the numeric order and own properties. */
function conditionHolds(condition: Condition, event: AmplitudeEvent): boolean {
  const holds = (op: Op, value = condition.value) => compileFilter({ conditions: [{ ...condition, op, value }] })(event);
  const result = holds(condition.op);
  const negation = NEGATION[condition.op];
  if (negation) check(holds(negation) === !result, () => `${condition.op} and ${negation} agree (${result}) on ${shown(condition)}`);
  for (const [a, b] of EXCLUSIVE) check(!(holds(a) && holds(b)), () => `${a} and ${b} both hold for ${shown(condition)}`);
  if (!ownValueExists(event, condition)) {
    check(!holds('set'), () => `set holds for ${shown(condition)}, which the event does not own`);
    check(!holds('is'), () => `is holds for ${shown(condition)}, which the event does not own`);
  }
  return result;
}

/** Whether the property is the event's own data (for user scope, also inside $set or $setOnce): the filter's contract, written out independently. */
function ownValueExists(event: AmplitudeEvent, { scope, property }: Condition): boolean {
  const own = (bag: unknown): boolean => typeof bag === 'object' && bag !== null && Object.hasOwn(bag, property) && (bag as Record<string, unknown>)[property] !== undefined;
  const user = event.user_properties as Record<string, unknown> | undefined;
  switch (scope) {
    case 'field':
      return own(event);
    case 'event':
      return own(event.event_properties);
    case 'group':
      return own(event.group_properties);
    case 'user':
      return own(user) || own(user?.$set) || own(user?.$setOnce);
  }
}

function chooseFilter(reader: ByteReader, event: AmplitudeEvent): Filter {
  const filter: Filter = {};
  if (reader.bool()) {
    const types = new Set([reader.bool() ? event.event_type : reader.string(8) || 'x']);
    if (reader.bool()) types.add(reader.string(8) || 'y');
    filter.eventTypes = [...types];
  }
  const count = reader.int(MAX_CONDITIONS + 1);
  if (count > 0) filter.conditions = Array.from({ length: count }, () => chooseCondition(reader, event));
  return filter;
}

function chooseCondition(reader: ByteReader, event: AmplitudeEvent): Condition {
  const scope = reader.pick(SCOPES);
  const bag = scope === 'field' ? event : scope === 'event' ? event.event_properties : scope === 'group' ? event.group_properties : event.user_properties;
  const names = [...Object.keys(bag ?? {}), ...INHERITED_NAMES];
  const property = reader.bool() ? reader.pick(names) : reader.string(12) || 'p';
  const condition: Condition = { scope, property, op: reader.pick(OPS) };
  const values = [...VALUES, ...scalarsOf((bag as Record<string, unknown> | undefined)?.[property])];
  const choice = reader.int(4);
  if (choice === 1) condition.value = reader.pick(values);
  else if (choice === 2) condition.value = [reader.pick(values), reader.pick(values)];
  else if (choice === 3) condition.value = reader.string(12);
  return condition;
}

/** The condition values an event's own value suggests (so `is` and `contains` meet it). */
function scalarsOf(value: unknown): ConditionValue[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [value];
  if (typeof value === 'bigint') return [value.toString(), Number(value)];
  if (Array.isArray(value)) return value.flatMap(scalarsOf).slice(0, 4);
  return [];
}

function freezeDeep(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) freezeDeep(member);
}
