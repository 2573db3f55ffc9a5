// Why the ingest refused a request, as metrics count it (destinations_ingest_rejected_requests_total{reason})
// and logs name it. One vocabulary for both protocols; each answers it in its vendor's words.
export const INGEST_REJECTIONS = {
  /** Over the route's documented size or event count (Amplitude 413, Segment 400). */
  tooLarge: 'too_large',
  /** Not JSON, not gzip, missing api_key or events, an event that is not one. */
  invalid: 'invalid',
  /** No key, or one the configuration does not name (or names for the other protocol). */
  unauthorized: 'unauthorized',
  /** A user or device over the key's eventsPerSecondPerUser. */
  throttled: 'throttled',
  /** NATS unreachable, or JetStream did not acknowledge within publishTimeoutMs. */
  unavailable: 'unavailable',
  /** No such route, or not POST. */
  notFound: 'not_found',
} as const;
export type IngestRejection = (typeof INGEST_REJECTIONS)[keyof typeof INGEST_REJECTIONS];
