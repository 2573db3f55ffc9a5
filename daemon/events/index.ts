export { decodeEvent, checkEvent, isIdentifyEvent, EVENT_REJECTIONS, type DecodedEvent, type EventRejection } from './decode.js';
export { SharedDecodes, type SharedDecodeCounts, type SharedDecodesOptions, type StreamPosition } from './shared-decodes.js';
export { compileFilter, type EventPredicate } from './filter.js';
export { afterDelivery, changedOperations, memoryOfValues, mergeMemories, encodeMemory, decodeMemory, valueHash, type Remembered, type UserMemory, type UserOperations } from './identify-diff.js';
export { readProperty } from './properties.js';
export type { AmplitudeEvent } from '../../schema/generated/event.js';
export { fieldsOf, readableFields, READABLE_FIELDS_MAX_BYTES, type ReadableFields } from './readable-fields.js';
