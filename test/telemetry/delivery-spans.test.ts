// The spans of real deliveries (real nats-server, real HTTP sink, in-process daemon), recorded by an
// in-memory exporter: one span per attempt with its state events, links between the attempts at
// one event, HTTP client spans, and no secret anywhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { attemptSpanId, DELIVERY_ATTRIBUTES as A, eventTraceId, installTracing, SPAN_NAMES, type TracingHandle } from '../../daemon/telemetry/index.js';
import { useNatsServer, type TestStreams } from '../helpers/nats-server.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { byStart, SpanRecorder, spanText } from './span-recorder.js';

const SECRET = 'tok-9c1e-span-secret';
const PUBLISHER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PUBLISHER_SPAN = '00f067aa0ba902b7';

const nats = useNatsServer();
let tracing: TracingHandle;
const recorder = new SpanRecorder();

before(async () => {
  tracing = await installTracing([new SimpleSpanProcessor(recorder)]);
  process.env.SPAN_TEST_TOKEN = SECRET;
});

after(async () => {
  await tracing.shutdown();
});

interface Scenario {
  sink: TestSink;
  daemon: TestDaemon;
  subject: string;
  stream: Omit<TestStreams, 'subject'>;
  cleanup(): Promise<void>;
}

/** The test destination, with the secret in the URL's query as well as in a header. */
function secretInUrlDefinition(overrides: Record<string, unknown> = {}) {
  return testDefinition({
    request: {
      method: 'POST',
      url: '{{ parameters.endpoint }}/track?api_key={{ parameters.token }}',
      headers: { Authorization: 'Bearer {{ parameters.token }}' },
      body: 'body.njk',
      idempotencyHeader: 'Idempotency-Key',
    },
    ...overrides,
  });
}

async function scenario(options: { definition?: Record<string, unknown>; settings?: Record<string, unknown>; body?: string } = {}): Promise<Scenario> {
  const sink = await startTestSink();
  const folder = makeDestinationsDir();
  writeDestinationFolder(folder.dir, 'testsink', {
    definition: options.definition ?? secretInUrlDefinition(),
    body: options.body,
    syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'SPAN_TEST_TOKEN' } } } },
  });
  const { subject, ...stream } = nats.streams('spans');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, ...options.settings }));
  return {
    sink,
    daemon,
    stream,
    subject,
    async cleanup() {
      await daemon.stop();
      await sink.close();
      folder.remove();
    },
  };
}

async function publish(subject: string, event: unknown, traceparent?: string): Promise<number> {
  const headers = natsHeaders();
  if (traceparent) headers.set('traceparent', traceparent);
  const ack = await nats.js.publish(subject, JSON.stringify(event), traceparent ? { headers } : undefined);
  return ack.seq;
}

const isAttemptOf = (stream: string) => (span: ReadableSpan) => span.name === 'deliver testsink' && span.attributes[A.sync] === 'testsink.main' && spanStream(span) === stream;
const spanStream = (span: ReadableSpan) => (span.attributes['messaging.destination.name'] as string | undefined)?.replace(/^spans(\d+)\..*$/, 'SPANS_$1');
const eventNames = (span: ReadableSpan) => span.events.map((event) => event.name);
const childrenOf = (span: ReadableSpan) => recorder.getFinishedSpans().filter((child) => child.parentSpanContext?.spanId === span.spanContext().spanId);

describe('telemetry delivery spans', () => {
  it('records an event that fails twice with 500 and then succeeds as three linked attempt spans with their state events, and no secret', async () => {
    const s = await scenario({ definition: secretInUrlDefinition({ retry: { initialDelayMs: 20, multiplier: 2, jitter: 0, maxAttempts: 9 }, propagateTraceContext: true }) });
    try {
      s.sink.behave((_request, index) => (index < 2 ? answer.status(500) : answer.ok()));
      const seq = await publish(s.subject, testEvent(1));
      const attempts = byStart(await recorder.waitFor(isAttemptOf(s.stream.name), 3));
      assert.equal(attempts.length, 3);

      // One trace for the event, derived from its insert_id; each span id derived from stream, sequence, sync, delivery and request.
      const traceId = eventTraceId('insert-1');
      attempts.forEach((span, index) => {
        assert.equal(span.spanContext().traceId, traceId);
        assert.equal(span.spanContext().spanId, attemptSpanId(s.stream.name, seq, 'testsink.main', 1, index + 1));
        assert.equal(span.kind, SpanKind.CONSUMER);
        assert.equal(span.parentSpanContext, undefined, 'no publisher: the attempts are roots of the event trace');
      });

      // Every state the machine entered, as span events, attempt by attempt.
      assert.deepEqual(attempts.map(eventNames), [['rendering', 'sending', 'waiting'], ['sending', 'waiting'], ['sending', 'delivered']]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.outcome]), ['waiting', 'waiting', 'delivered']);
      assert.deepEqual(attempts.map((span) => span.attributes[A.reason]), ['http_5xx', 'http_5xx', undefined]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.retryDelayMs]), [20, 40, undefined]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.attempt]), [1, 2, 3]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.request]), [1, 2, 3]);
      assert.deepEqual(attempts.map((span) => span.status.code), [SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.OK]);
      assert.deepEqual(attempts[0].events[2].attributes, { [A.retryDelayMs]: 20, [A.reason]: 'http_5xx' });

      // The attributes a trace search uses.
      for (const span of attempts) {
        assert.equal(span.attributes[A.destination], 'testsink');
        assert.equal(span.attributes[A.sync], 'testsink.main');
        assert.match(String(span.attributes[A.definitionVersion]), /^[0-9a-f]{6,}$/);
        assert.equal(span.attributes[A.eventType], 'purchase');
        assert.equal(span.attributes[A.insertId], 'insert-1');
        assert.equal(span.attributes[A.eventCount], 1);
        assert.equal(span.attributes['messaging.message.id'], String(seq));
      }

      // Each attempt links to the one before it.
      assert.equal(attempts[0].links.length, 0);
      for (const index of [1, 2]) {
        assert.equal(attempts[index].links.length, 1);
        assert.equal(attempts[index].links[0].context.spanId, attempts[index - 1].spanContext().spanId);
        assert.equal(attempts[index].links[0].attributes?.[A.linkType], 'previous_attempt');
      }

      // Children: render once, a limiter wait and an HTTP client span per attempt.
      assert.deepEqual(childrenOf(attempts[0]).map((span) => span.name).sort(), ['POST', SPAN_NAMES.limiterWait, SPAN_NAMES.render].sort());
      assert.deepEqual(childrenOf(attempts[1]).map((span) => span.name).sort(), ['POST', SPAN_NAMES.limiterWait].sort());
      const http = attempts.map((attempt) => childrenOf(attempt).find((span) => span.name === 'POST')!);
      assert.deepEqual(http.map((span) => span.attributes['http.response.status_code']), [500, 500, 200]);
      assert.deepEqual(http.map((span) => span.status.code), [SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
      for (const span of http) {
        assert.equal(span.kind, SpanKind.CLIENT);
        assert.equal(span.attributes['http.request.method'], 'POST');
        assert.equal(span.attributes['url.full'], `${s.sink.url}/track?api_key=[redacted]`);
        assert.equal(span.attributes['server.address'], '127.0.0.1');
        assert.equal(span.attributes['server.port'], s.sink.port);
      }

      // propagateTraceContext: each request carries its HTTP span as the parent.
      const requests = await s.sink.waitForRequests(3);
      requests.forEach((request, index) => assert.equal(request.headers.traceparent, `00-${traceId}-${http[index].spanContext().spanId}-01`));
      assert.equal(requests[0].url, `/track?api_key=${SECRET}`, 'the destination still gets the real key');

      const everything = recorder.getFinishedSpans().map(spanText).join('\n');
      assert.ok(!everything.includes(SECRET), 'no secret in any span name, attribute, event, link or status');
    } finally {
      await s.cleanup();
    }
  });

  it("continues the publisher's trace, and links a redelivery (nak with delay) to the previous delivery's attempt", async () => {
    const s = await scenario({
      definition: secretInUrlDefinition({ retry: { initialDelayMs: 100, multiplier: 1, jitter: 0, maxAttempts: 5 } }),
      settings: { maxInProcessWaitMs: 0 },
    });
    try {
      s.sink.behave((_request, index) => (index < 2 ? answer.status(503) : answer.ok()));
      const seq = await publish(s.subject, testEvent(2), `00-${PUBLISHER_TRACE}-${PUBLISHER_SPAN}-01`);
      const attempts = byStart(await recorder.waitFor(isAttemptOf(s.stream.name), 3));
      assert.deepEqual(attempts.map(eventNames), [['rendering', 'sending', 'deferred'], ['rendering', 'sending', 'deferred'], ['rendering', 'sending', 'delivered']]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.outcome]), ['deferred', 'deferred', 'delivered']);
      assert.deepEqual(attempts.map((span) => span.attributes[A.retryDelayMs]), [100, 100, undefined]);
      assert.deepEqual(attempts.map((span) => span.attributes[A.deliveryCount]), [1, 2, 3]);
      for (const [index, span] of attempts.entries()) {
        assert.equal(span.spanContext().traceId, PUBLISHER_TRACE, "the publisher's trace");
        assert.equal(span.parentSpanContext?.spanId, PUBLISHER_SPAN, "a child of the publisher's span");
        assert.equal(span.spanContext().spanId, attemptSpanId(s.stream.name, seq, 'testsink.main', index + 1, 1));
      }
      // No memory across deliveries: the link is derived, and it names the real previous span.
      assert.equal(attempts[0].links.length, 0);
      assert.equal(attempts[1].links[0].context.spanId, attempts[0].spanContext().spanId);
      assert.equal(attempts[2].links[0].context.spanId, attempts[1].spanContext().spanId);
      assert.equal(attempts[2].links[0].context.traceId, PUBLISHER_TRACE);
      assert.equal((await s.sink.waitForRequests(3))[0].headers.traceparent, undefined, 'propagateTraceContext is off for this destination');
    } finally {
      await s.cleanup();
    }
  });

  it('records a permanent failure of a batch: dead, its reason, every insert_id, and a link to each event', async () => {
    const s = await scenario({ definition: secretInUrlDefinition({ batch: { maxEvents: 2, maxWaitMs: 5_000 } }), body: TEST_BATCH_BODY });
    try {
      s.sink.behave(() => ({ status: 400, body: '{"error":"bad"}' }));
      await publish(s.subject, testEvent(3));
      await publish(s.subject, testEvent(4, { event_type: 'signup' }), `00-${PUBLISHER_TRACE}-${PUBLISHER_SPAN}-01`);
      const [attempt] = await recorder.waitFor(isAttemptOf(s.stream.name), 1);
      assert.deepEqual(eventNames(attempt), ['rendering', 'sending', 'dead']);
      assert.equal(attempt.attributes[A.outcome], 'dead');
      assert.equal(attempt.attributes[A.reason], 'http_4xx');
      assert.equal(attempt.attributes[A.eventCount], 2);
      assert.deepEqual(attempt.attributes[A.insertIds], ['insert-3', 'insert-4']);
      assert.equal(attempt.attributes[A.eventType], 'purchase,signup');
      assert.equal(attempt.attributes['messaging.batch.message_count'], 2);
      assert.equal(attempt.status.code, SpanStatusCode.ERROR);
      assert.deepEqual(
        attempt.links.map((link) => [link.attributes?.[A.linkType], link.context.traceId]),
        [
          ['event', eventTraceId('insert-3')],
          ['publisher', PUBLISHER_TRACE],
        ],
      );
      assert.ok(!recorder.getFinishedSpans().map(spanText).join('\n').includes(SECRET));
    } finally {
      await s.cleanup();
    }
  });
});
