export { decodeEvent, checkEvent, isIdentifyEvent, DEFAULT_MAX_EVENT_DEPTH, EVENT_REJECTIONS, type DecodedEvent, type EventRejection } from './decode.js';
export { compileFilter, type EventPredicate } from './filter.js';
export { readProperty } from './properties.js';
export type { AmplitudeEvent } from '../../schema/generated/event.js';
