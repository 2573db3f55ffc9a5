// Amplitude's HTTP API v2 and Batch Event Upload, as an inbound protocol of the ingest.
export { amplitudeProtocol, AMPLITUDE_LIMITS, INVALID_API_KEY } from './amplitude-protocol.js';
