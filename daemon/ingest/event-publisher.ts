// Publishing a request's events to JetStream and waiting for every acknowledgement: each with its
// insert_id (Segment: messageId) as Nats-Msg-Id, so a retry of an event already stored is dropped
// within the stream's duplicate window. The outcome names each event stored and each not, so the
// answer can say exactly which were. While the connection is down nothing is tried (the client
// would hold the publishes until it reconnects): the request is answered 503 at once.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { InboundEvent } from './inbound-protocol.js';
import { jsonOf } from './parse-body.js';

export interface PublishOutcome {
  /** Indexes of the events JetStream acknowledged (stored now, or already within the duplicate window). */
  stored: number[];
  /** Of those, how many JetStream reported as duplicates. */
  duplicates: number;
  /** Indexes of the events not acknowledged. */
  failed: number[];
  /** Why the first of them failed. */
  error?: Error;
}

export interface EventSink {
  publishAll(subject: string, events: readonly InboundEvent[]): Promise<PublishOutcome>;
}

export class NatsUnavailable extends Error {
  override name = 'NatsUnavailable';
}

export function jetStreamSink(js: JetStreamClient, connected: () => boolean, timeoutMs: number): EventSink {
  return {
    async publishAll(subject, events) {
      if (!connected()) return { stored: [], duplicates: 0, failed: events.map((_event, index) => index), error: new NatsUnavailable('NATS is not connected') };
      const settled = await Promise.allSettled(
        events.map(({ event, msgId }) => js.publish(subject, jsonOf(event), msgId === undefined ? { timeout: timeoutMs } : { msgID: msgId, timeout: timeoutMs })),
      );
      const outcome: PublishOutcome = { stored: [], duplicates: 0, failed: [] };
      settled.forEach((result, index) => {
        if (result.status === 'fulfilled') {
          outcome.stored.push(index);
          if (result.value.duplicate) outcome.duplicates += 1;
        } else {
          outcome.failed.push(index);
          outcome.error ??= result.reason instanceof Error ? result.reason : new Error(String(result.reason));
        }
      });
      return outcome;
    },
  };
}
