// What an inbound protocol (Amplitude's, Segment's) is to the ingest: the routes it serves, how a
// request's body becomes a key and events in our shape, and how each outcome is answered in the
// vendor's own words (the SDKs read the outcome from the body, so the bodies must be the vendor's).
// The ingest server owns everything between: the body's bounds and gzip, the key table, the rate
// limit, publishing and the wait for JetStream's acknowledgement.
import type { IncomingHttpHeaders } from 'node:http';
import type { AmplitudeEvent } from '../events/index.js';
import type { IngestRejection } from './ingest-rejections.js';

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One event to publish: our shape, and the id JetStream deduplicates by (insert_id, messageId). */
export interface InboundEvent {
  event: AmplitudeEvent;
  msgId: string | undefined;
}

export type ParsedRequest =
  | { ok: true; key: string | undefined; events: InboundEvent[] }
  | { ok: false; reason: IngestRejection; answer: Answer; rejectedEvents?: number };

export interface RouteLimits {
  /** The request body, after gzip, is refused past this (the vendor's documented request limit). */
  maxBodyBytes: number;
}

/** Users and devices over their key's rate, and the events of theirs in the request (indexes). */
export interface Throttled {
  epsThreshold: number;
  users: Record<string, number>;
  devices: Record<string, number>;
  events: number[];
}

export interface InboundProtocol {
  /** As keys name it (ingest.keys[].protocol) and metrics label it. */
  readonly name: 'amplitude' | 'segment';
  readonly routes: Readonly<Record<string, RouteLimits>>;
  /** The body (already decompressed and within the route's limit) and headers → key and events, or the answer that refuses them. */
  parse(path: string, headers: IncomingHttpHeaders, body: Buffer, receivedAt: number): ParsedRequest;
  stored(count: number, bodyBytes: number, receivedAt: number): Answer;
  tooLarge(limit: number): Answer;
  badBody(message: string): Answer;
  unauthorized(): Answer;
  throttled(throttled: Throttled, retryAfterSeconds: number): Answer;
  /** NATS or JetStream did not take them; `storedIndexes` were stored all the same (a retry of them is dropped as a duplicate). */
  unavailable(message: string, retryAfterSeconds: number, storedIndexes: number[]): Answer;
}
