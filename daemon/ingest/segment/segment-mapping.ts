// A Segment message (track, identify, page, screen, group, alias) in our event shape (Amplitude's
// HTTP API v2 event). The table in docs/operations.md#segment-to-our-event-shape is this function in
// words; test/ingest/segment-mapping.test.ts holds the two together, row by row.
import type { AmplitudeEvent } from '../../events/index.js';

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** event_type of the calls that carry no event name of their own. */
export const SEGMENT_EVENT_TYPES = {
  identify: '$identify',
  group: '$groupidentify',
  page: 'Page Viewed',
  screen: 'Screen Viewed',
  alias: 'Alias',
} as const;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
/** Segment lets an id be a number; ours are strings. */
const id = (value: unknown): string | undefined => (typeof value === 'number' && Number.isFinite(value) ? String(value) : text(value));

/** When the event happened: timestamp; else originalTimestamp moved by the sender's clock skew (sentAt against our clock), as Segment does; else now. */
export function segmentTime(message: Json, sentAt: unknown, receivedAt: number): number {
  const timestamp = Date.parse(String(message.timestamp ?? ''));
  if (!Number.isNaN(timestamp)) return timestamp;
  const original = Date.parse(String(message.originalTimestamp ?? ''));
  const sent = Date.parse(String(message.sentAt ?? sentAt ?? ''));
  if (!Number.isNaN(original)) return Number.isNaN(sent) ? original : receivedAt - (sent - original);
  return receivedAt;
}

/** The context fields Amplitude's event has a place for; the rest of the context is not kept. */
function contextFields(context: unknown): Partial<AmplitudeEvent> {
  if (!isObject(context)) return {};
  const of = (name: string): Json => (isObject(context[name]) ? (context[name] as Json) : {});
  const library = of('library');
  const fields: Partial<AmplitudeEvent> = {
    ip: text(context.ip),
    language: text(context.locale),
    library: text(library.name) && `${library.name as string}${text(library.version) ? `/${library.version as string}` : ''}`,
    app_version: text(of('app').version),
    os_name: text(of('os').name),
    os_version: text(of('os').version),
    device_manufacturer: text(of('device').manufacturer),
    device_model: text(of('device').model),
    carrier: text(of('network').carrier),
    country: text(of('location').country),
    region: text(of('location').region),
    city: text(of('location').city),
    location_lat: number(of('location').latitude),
    location_lng: number(of('location').longitude),
  };
  for (const key of Object.keys(fields) as Array<keyof AmplitudeEvent>) if (fields[key] === undefined) delete fields[key];
  return fields;
}

export type MappedMessage = { ok: true; event: AmplitudeEvent; msgId: string | undefined } | { ok: false; error: string };

/** One Segment message → our event, or what makes it not one (Segment's own rules: an identifier, a track's name). */
export function segmentToEvent(type: string, message: unknown, sentAt: unknown, receivedAt: number): MappedMessage {
  if (!isObject(message)) return { ok: false, error: 'a message is not a JSON object' };
  if (!(SEGMENT_TYPES as readonly string[]).includes(type)) return { ok: false, error: `type ${JSON.stringify(type).slice(0, 40)} is not one of ${SEGMENT_TYPES.join(', ')}` };
  const userId = id(message.userId);
  const anonymousId = id(message.anonymousId);
  if (userId === undefined && anonymousId === undefined) return { ok: false, error: 'a message needs a userId or an anonymousId' };
  const properties = isObject(message.properties) ? message.properties : {};
  const traits = isObject(message.traits) ? message.traits : {};
  const messageId = text(message.messageId);
  const event: AmplitudeEvent = {
    event_type: '',
    ...(userId === undefined ? {} : { user_id: userId }),
    ...(anonymousId === undefined ? {} : { device_id: anonymousId }),
    time: segmentTime(message, sentAt, receivedAt),
    ...(messageId === undefined ? {} : { insert_id: messageId }),
    ...contextFields(message.context),
  };
  switch (type as SegmentType) {
    case 'track': {
      const name = text(message.event);
      if (name === undefined) return { ok: false, error: 'a track call needs an event name (event)' };
      event.event_type = name;
      event.event_properties = properties;
      break;
    }
    case 'page':
    case 'screen': {
      event.event_type = SEGMENT_EVENT_TYPES[type as 'page' | 'screen'];
      const name = text(message.name);
      const category = text(message.category);
      event.event_properties = { ...properties, ...(name === undefined ? {} : { name }), ...(category === undefined ? {} : { category }) };
      break;
    }
    case 'identify':
      event.event_type = SEGMENT_EVENT_TYPES.identify;
      event.user_properties = { $set: traits };
      break;
    case 'group': {
      const groupId = id(message.groupId);
      if (groupId === undefined) return { ok: false, error: 'a group call needs a groupId' };
      event.event_type = SEGMENT_EVENT_TYPES.group;
      event.groups = { group: groupId };
      event.group_properties = { $set: traits };
      break;
    }
    case 'alias': {
      const previousId = id(message.previousId);
      if (previousId === undefined) return { ok: false, error: 'an alias call needs a previousId' };
      event.event_type = SEGMENT_EVENT_TYPES.alias;
      event.event_properties = { previous_id: previousId };
      break;
    }
  }
  return { ok: true, event, msgId: messageId };
}
