// How the daemon would group several events into requests, for preview and send: each event
// goes to the request kind it needs (identify or track) or is left out as the consumer leaves it
// out; a batched destination gets up to maxEvents (and maxBytes) per request, in arrival order,
// one kind per request; any other destination one request per event.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import { requestKindOf, type RequestKind } from './render-for-sync.js';
import type { LoadedSync } from './types.js';

export interface PlannedRequest {
  kind: RequestKind;
  /** Indexes into the events given (0-based), in order. */
  indexes: number[];
  events: AmplitudeEvent[];
}

export interface SkippedEvent {
  index: number;
  why: string;
}

/** Groups events into the requests the daemon would make for them (as if they arrived within maxWaitMs). */
export function batchEvents(sync: LoadedSync, events: readonly AmplitudeEvent[]): { requests: PlannedRequest[]; skipped: SkippedEvent[] } {
  const batch = sync.destination.definition.batch;
  const requests: PlannedRequest[] = [];
  const skipped: SkippedEvent[] = [];
  const open = new Map<RequestKind, { request: PlannedRequest; bytes: number }>();
  events.forEach((event, index) => {
    const kind = requestKindOf(event);
    if (kind === 'identify' && !(sync.identifyForwarding && sync.destination.identify)) {
      skipped.push({ index, why: sync.destination.identify ? 'identify forwarding is off for this sync' : 'the destination has no identify request' });
      return;
    }
    if (kind === 'track' && !sync.filter(event)) {
      const types = sync.definition.filter?.eventTypes;
      skipped.push({ index, why: types?.length && !types.includes(event.event_type) ? `event type ${JSON.stringify(event.event_type)} is not in filter.eventTypes` : 'a filter condition does not hold' });
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(event, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value)));
    let current = open.get(kind);
    // As the batcher: a full batch, or one that this event would take past maxBytes, is sent first.
    if (current && (!batch || current.request.events.length >= batch.maxEvents || (batch.maxBytes !== undefined && current.bytes + bytes > batch.maxBytes))) {
      open.delete(kind);
      current = undefined;
    }
    if (!current) {
      current = { request: { kind, indexes: [], events: [] }, bytes: 0 };
      requests.push(current.request);
      open.set(kind, current);
    }
    current.request.indexes.push(index);
    current.request.events.push(event);
    current.bytes += bytes;
  });
  return { requests, skipped };
}
