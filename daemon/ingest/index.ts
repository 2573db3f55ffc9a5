// The ingest: events in over HTTP in Amplitude's and Segment's protocols, out to the events stream,
// answered only once JetStream has them. `destinations ingest` runs it (tools/commands/ingest.ts).
export { runIngest, type IngestOptions, type RunningIngest } from './run-ingest.js';
export { ingestHandler, listen, type IngestHandlerOptions, type ListeningServer } from './ingest-server.js';
export { resolveIngestKeys, type KeyEntry, type KeyTable } from './ingest-keys.js';
export { IngestMetrics } from './ingest-metrics.js';
export { UserRateLimit } from './user-rate-limit.js';
export { jetStreamSink, NatsUnavailable, type EventSink, type PublishOutcome } from './event-publisher.js';
export { inboundProtocols } from './protocols.js';
export { INGEST_REJECTIONS, type IngestRejection } from './ingest-rejections.js';
export type { Answer, InboundEvent, InboundProtocol, ParsedRequest, Throttled } from './inbound-protocol.js';
export { amplitudeProtocol, AMPLITUDE_LIMITS, INVALID_API_KEY } from './amplitude/index.js';
export { segmentProtocol, segmentToEvent, segmentTime, SEGMENT_EVENT_TYPES, SEGMENT_LIMITS, SEGMENT_TYPES } from './segment/index.js';
