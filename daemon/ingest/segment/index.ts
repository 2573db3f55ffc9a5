// Segment's HTTP tracking API, as an inbound protocol of the ingest.
export { segmentProtocol, writeKeyOf, SEGMENT_LIMITS } from './segment-protocol.js';
export { segmentToEvent, segmentTime, SEGMENT_TYPES, SEGMENT_EVENT_TYPES, type MappedMessage, type SegmentType } from './segment-mapping.js';
