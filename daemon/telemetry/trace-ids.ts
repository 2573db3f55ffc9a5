// Deterministic trace and span ids, so every attempt at one event lands in one trace and each
// attempt can link to the one before it, across in-process retries, nak(delay) redeliveries and
// restarts, with nothing stored anywhere:
//   trace id of an event  = sha256("destinations/event\n" + key)[0..32 hex]
//       key = the event's insert_id, or "<stream>/<stream sequence>" when it has none
//   span id of an attempt = sha256("destinations/attempt\n" + stream/sequence/sync/delivery count/request)[0..16 hex]
// A publisher's traceparent wins over the derived trace id (the attempts join the publisher's trace).
// The SDK's tracer generates ids itself; the IdGenerator installed by installTracing() returns the
// ids hinted here for the very next span, and random ones otherwise.
import * as crypto from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

const INVALID_TRACE_ID = '00000000000000000000000000000000';
const INVALID_SPAN_ID = '0000000000000000';

/** SHA-256 in hex: the one-shot crypto.hash (Node ≥ 20.12) is several times cheaper than a Hash object. */
const sha256: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** The trace id of every attempt at an event without a publisher trace. */
export function eventTraceId(key: string): string {
  const id = sha256(`destinations/event\n${key}`).slice(0, 32);
  return id === INVALID_TRACE_ID ? '00000000000000000000000000000001' : id;
}

/** The span id of one request of one JetStream delivery of one message to one sync. */
export function attemptSpanId(stream: string, sequence: number, sync: string, deliveryCount: number, request: number): string {
  const id = sha256(`destinations/attempt\n${stream}/${sequence}/${sync}/${deliveryCount}/${request}`).slice(0, 16);
  return id === INVALID_SPAN_ID ? '0000000000000001' : id;
}

/** The key an event's trace id is derived from. */
export function eventTraceKey(insertId: unknown, stream: string, sequence: number): string {
  return typeof insertId === 'string' && insertId !== '' ? insertId : `${stream}/${sequence}`;
}

/** Ids for the next span the SDK starts; consumed (cleared) when read. */
class HintedIdGenerator implements IdGenerator {
  constructor(readonly random: IdGenerator) {}
  traceId: string | undefined;
  spanId: string | undefined;

  generateTraceId(): string {
    const id = this.traceId;
    if (id === undefined) return this.random.generateTraceId();
    this.traceId = undefined;
    return id;
  }

  generateSpanId(): string {
    const id = this.spanId;
    if (id === undefined) return this.random.generateSpanId();
    this.spanId = undefined;
    return id;
  }
}

let installed: HintedIdGenerator | undefined;

/** The generator installTracing() gives the tracer provider (random ids unless hinted); from then
 *  on hints are honoured. */
export function hintedIdGenerator(random: IdGenerator): IdGenerator {
  installed = new HintedIdGenerator(random);
  return installed;
}

/** Whether our provider is installed, so hints are worth computing. */
export function idHintsActive(): boolean {
  return installed !== undefined;
}

/** Stops honouring hints (tracing shut down). */
export function deactivateIdHints(): void {
  installed = undefined;
}

/** Runs `start` (which must start exactly one span, synchronously) with the given ids. A trace id
 *  is used only by a root span; a hint the span did not use is dropped. */
export function withIds<T>(traceId: string | undefined, spanId: string | undefined, start: () => T): T {
  const generator = installed;
  if (generator === undefined) return start();
  generator.traceId = traceId;
  generator.spanId = spanId;
  try {
    return start();
  } finally {
    generator.traceId = undefined;
    generator.spanId = undefined;
  }
}
