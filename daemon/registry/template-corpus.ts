// The events `validate` renders every template with, beyond the examples: synthesised from the
// event schema and the sync's selections, mappings and filter, one difference at a time from a
// base event, so the first that breaks a template is also a small one. Deterministic: no clock,
// no randomness. Only events the daemon would render are kept (valid per the schema, within the
// size limit, passing the sync's filter, with the mapped fields it requires).
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import type { PropertyRef } from '../../schema/generated/sync.js';
import { checkEvent } from '../events/index.js';
import { buildEventContext, EventContextError } from '../render/index.js';
import type { LoadedSync } from './types.js';

export interface CorpusEvent {
  event: AmplitudeEvent;
  /** What this event varies, for messages: "device_id present", "event property price: null". */
  what: string;
}

/** Quotes, backslashes, control characters, unicode and template-looking text in one string. */
export const AWKWARD_TEXT = 'quote " backslash \\ slash / newline \n tab \t nul \u0000 bell \u0007 del \u007f ünï 😀 中文 \u2028 \u2029 {{ x }} ${x} </script>';

/** The values each selected or mapped property takes, besides being absent. */
const VALUE_KINDS: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['empty string', ''],
  ['string', 'text'],
  ['awkward string', AWKWARD_TEXT],
  ['zero', 0],
  ['negative decimal', -1.5],
  ['large integer', 9007199254740991],
  ['true', true],
  ['false', false],
  ['empty list', []],
  ['list', ['a', 1, null, { b: AWKWARD_TEXT }]],
  ['empty object', {}],
  ['object', { a: { b: AWKWARD_TEXT }, 'key "q"': 1 }],
];

/** Identify operations, each tried with every value kind. */
const USER_OPERATIONS = ['$set', '$setOnce', '$unset', '$add', '$append', '$prepend', '$remove', '$preInsert', '$postInsert'] as const;

/** Standard fields of the event schema (top level, not the property bags), with a value of their type. */
const STANDARD_FIELDS: Readonly<Record<string, unknown>> = {
  user_id: 'user-1',
  device_id: 'device-1',
  time: 1700000000000,
  insert_id: 'insert-1',
  event_id: 7,
  session_id: 1700000000000,
  app_version: AWKWARD_TEXT,
  platform: 'iOS',
  os_name: 'ios',
  os_version: '17.0',
  device_brand: AWKWARD_TEXT,
  device_manufacturer: 'Apple',
  device_model: 'iPhone',
  carrier: AWKWARD_TEXT,
  country: 'Ünited "States"',
  region: 'CA',
  city: 'San Francisco',
  dma: 'San Francisco-Oakland-San Jose, CA',
  language: 'en',
  price: 12.5,
  quantity: 2,
  revenue: -3.25,
  productId: 'product-1',
  revenueType: 'purchase',
  location_lat: 37.77,
  location_lng: -122.42,
  ip: '127.0.0.1',
  idfa: 'idfa-1',
  idfv: 'idfv-1',
  adid: 'adid-1',
  android_id: 'android-1',
  library: 'amplitude-ts/2.0.0',
  partner_id: 'partner-1',
  groups: { company: 'acme' },
  group_properties: { company: { name: AWKWARD_TEXT } },
};

/** The fields of the base event: what almost every event carries. */
const BASE_FIELDS = ['user_id', 'time', 'insert_id'] as const;

type Bag = Record<string, unknown>;

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Writes a value where a property reference reads it (a user property of an identify event goes in $set). */
function setProperty(event: Bag, ref: PropertyRef, value: unknown, identify: boolean): void {
  const bagName = { field: undefined, event: 'event_properties', user: 'user_properties', group: 'group_properties' }[ref.scope];
  if (!bagName) {
    if (value === undefined) delete event[ref.property];
    else event[ref.property] = value;
    return;
  }
  let bag = (event[bagName] ??= {}) as Bag;
  if (identify && ref.scope === 'user') bag = (bag.$set ??= {}) as Bag;
  if (value === undefined) delete bag[ref.property];
  else bag[ref.property] = value;
}

/** A value that makes a filter condition hold, where one can be told from the condition. */
function satisfying(op: string, value: unknown): { value: unknown } | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  switch (op) {
    case 'is':
    case 'less_or_equal':
    case 'greater_or_equal':
      return { value: first };
    case 'contains':
      return { value: `x${String(first)}x` };
    case 'less':
      return typeof first === 'number' ? { value: first - 1 } : undefined;
    case 'greater':
      return typeof first === 'number' ? { value: first + 1 } : undefined;
    case 'set':
      return undefined; // filled in by the caller with a value of the field's type
    default:
      return undefined;
  }
}

function label(ref: PropertyRef): string {
  return ref.scope === 'field' ? ref.property : `${ref.scope} property ${ref.property}`;
}

/** Every property reference of the sync: selected, mapped, and read by its filter; each once. */
function propertyRefs(sync: LoadedSync): PropertyRef[] {
  const refs = new Map<string, PropertyRef>();
  const add = (ref: PropertyRef) => refs.set(`${ref.scope}\0${ref.property}`, { scope: ref.scope, property: ref.property });
  for (const selected of sync.selection.selectedProperties) add(selected);
  for (const field of sync.selection.fieldMappings) add(field.source);
  for (const condition of sync.definition.filter?.conditions ?? []) add(condition);
  return [...refs.values()];
}

function baseEvent(sync: LoadedSync, identify: boolean): Bag {
  const event: Bag = { event_type: identify ? '$identify' : (sync.definition.filter?.eventTypes?.[0] ?? 'corpus_event') };
  for (const field of BASE_FIELDS) event[field] = STANDARD_FIELDS[field];
  if (identify) event.user_properties = { $set: { plan: 'pro' } };
  // Required mapped fields get a value: an event without one is dead-lettered before any template runs.
  for (const field of sync.selection.fieldMappings) {
    if (field.required) setProperty(event, field.source, field.source.scope === 'field' && typeof STANDARD_FIELDS[field.source.property] !== 'undefined' ? STANDARD_FIELDS[field.source.property] : `${field.name}-1`, identify);
  }
  if (!identify) {
    for (const condition of sync.definition.filter?.conditions ?? []) {
      const wanted = satisfying(condition.op, condition.value);
      if (wanted) setProperty(event, condition, wanted.value, identify);
      else if (condition.op === 'set') setProperty(event, condition, condition.scope === 'field' ? (STANDARD_FIELDS[condition.property] ?? 'set') : 'set', identify);
    }
  }
  return event;
}

/** The generated events of one kind for a sync, base first, each kept only when the daemon would render it. */
export function generateEvents(sync: LoadedSync, kind: 'track' | 'identify'): CorpusEvent[] {
  const identify = kind === 'identify';
  const base = baseEvent(sync, identify);
  const candidates: CorpusEvent[] = [{ event: base as AmplitudeEvent, what: 'the base event' }];
  const variant = (what: string, change: (event: Bag) => void) => {
    const event = clone(base);
    change(event);
    candidates.push({ event: event as AmplitudeEvent, what });
  };
  // Each optional standard field absent (when the base has it) and present (when it does not).
  for (const [field, value] of Object.entries(STANDARD_FIELDS)) {
    if (field in base) variant(`${field} absent`, (event) => delete event[field]);
    else variant(`${field} present`, (event) => (event[field] = clone(value)));
  }
  variant('every standard field present', (event) => {
    for (const [field, value] of Object.entries(STANDARD_FIELDS)) event[field] ??= clone(value);
  });
  if (!identify) variant('event_type: awkward string', (event) => (event.event_type = AWKWARD_TEXT));
  if (!identify) variant('event_type at the schema limit of 1024 characters', (event) => (event.event_type = `${'é'.repeat(1022)}"\\`));
  variant('no property bags at all', (event) => {
    delete event.event_properties;
    delete event.user_properties;
    delete event.group_properties;
  });
  // Each selected, mapped or filtered property absent, and with each kind of value.
  const limits = sync.destination.definition.limits;
  for (const ref of propertyRefs(sync)) {
    variant(`${label(ref)} absent`, (event) => setProperty(event, ref, undefined, identify));
    for (const [kindName, value] of valueKinds(ref)) variant(`${label(ref)}: ${kindName}`, (event) => setProperty(event, ref, clone(value), identify));
    const mapping = sync.selection.fieldMappings.find((field) => field.source.scope === ref.scope && field.source.property === ref.property);
    if (mapping?.identifier && limits?.maxIdentifierBytes) {
      const text = identifierAtLimit(limits.maxIdentifierBytes);
      variant(`${label(ref)}: a string of ${limits.maxIdentifierBytes} bytes (maxIdentifierBytes)`, (event) => setProperty(event, ref, text, identify));
    }
  }
  if (!identify && limits?.maxIdentifierBytes && typeof base.user_id === 'string') {
    const text = identifierAtLimit(limits.maxIdentifierBytes);
    variant(`user_id of ${limits.maxIdentifierBytes} bytes (maxIdentifierBytes)`, (event) => (event.user_id = text));
  }
  if (identify) {
    variant('no user_properties', (event) => delete event.user_properties);
    for (const operation of USER_OPERATIONS) {
      for (const [kindName, value] of VALUE_KINDS) {
        variant(`user_properties.${operation} of a property that is ${kindName}`, (event) => {
          ((event.user_properties as Bag)[operation] ??= {}) as Bag;
          ((event.user_properties as Bag)[operation] as Bag)[AWKWARD_TEXT] = clone(value);
        });
      }
      variant(`user_properties.${operation} that is not an object`, (event) => ((event.user_properties as Bag)[operation] = 'text'));
    }
    for (const [kindName, value] of VALUE_KINDS) {
      variant(`a plain user property that is ${kindName}`, (event) => ((event.user_properties as Bag)['plain "name" \\'] = clone(value)));
    }
    variant('$clearAll', (event) => (event.user_properties = { $clearAll: '-' }));
  }
  return candidates.filter((candidate) => wouldRender(sync, candidate.event, kind));
}

/**
 * The values a reference takes. A standard field has a type in the event schema (and `time` a
 * range a date can hold): it takes values of its type only, as events the daemon accepts do.
 */
function valueKinds(ref: PropertyRef): ReadonlyArray<readonly [string, unknown]> {
  if (ref.scope !== 'field' || !(ref.property in STANDARD_FIELDS)) return VALUE_KINDS;
  const typical = STANDARD_FIELDS[ref.property];
  if (typeof typical === 'string') return [['empty string', ''], ['string', 'text'], ['awkward string', AWKWARD_TEXT]];
  if (typeof typical === 'number') return [['zero', 0], ['typical', typical]];
  return [['typical', typical], ['empty object', {}]];
}

/** A string of exactly `bytes` UTF-8 bytes with quotes and a multi-byte character in it. */
function identifierAtLimit(bytes: number): string {
  const head = bytes >= 6 ? 'é"\\' : '';
  return head + 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(head)));
}

/** What the consumer does before a template runs: schema, size, filter, required fields. */
function wouldRender(sync: LoadedSync, event: AmplitudeEvent, kind: 'track' | 'identify'): boolean {
  const bytes = Buffer.byteLength(JSON.stringify(event));
  const limit = sync.destination.definition.limits?.maxEventBytes;
  if (limit !== undefined && bytes > limit) return false;
  if (!checkEvent(event).ok) return false;
  const isIdentify = event.event_type === '$identify';
  if (isIdentify !== (kind === 'identify')) return false;
  if (!isIdentify && !sync.filter(event)) return false;
  try {
    buildEventContext(event, sync.selection);
  } catch (error) {
    if (error instanceof EventContextError) return false;
    throw error;
  }
  return true;
}
