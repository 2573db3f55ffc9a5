export { decodeEvent, checkEvent, isIdentifyEvent, DEFAULT_MAX_EVENT_DEPTH, EVENT_REJECTIONS, type DecodedEvent, type EventRejection } from './decode.js';
export { SharedDecodes, type SharedDecodeCounts, type SharedDecodesOptions, type StreamPosition } from './shared-decodes.js';
export { compileFilter, type EventPredicate } from './filter.js';
export { afterDelivery, changedOperations, DEFAULT_MAX_REMEMBERED_PROPERTIES, memoryOfValues, mergeMemories, encodeMemory, decodeMemory, valueHash, type Remembered, type UserMemory, type UserOperations } from './identify-diff.js';
export { readProperty } from './properties.js';
export type { AmplitudeEvent } from '../../schema/generated/event.js';
