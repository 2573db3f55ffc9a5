// Tracing set-up from OTEL_* variables, and what tracing costs when it is off: no provider is
// registered in this test process, so the API answers with its no-op tracer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import type { DeliveryProgress } from '../../daemon/delivery/index.js';
import { createLogger } from '../../daemon/log.js';
import type { LoadedSync } from '../../daemon/registry/index.js';
import { startTracingFromEnv, SyncTracer, tracingPlanFromEnv, type TracedItem } from '../../daemon/telemetry/index.js';

function fakeSync(propagateTraceContext: boolean): LoadedSync {
  return {
    id: 'webhook.main',
    name: 'main',
    destination: { slug: 'webhook', version: 'abc123', definition: { propagateTraceContext } },
    parameters: { secretValues: ['s3cret'] },
  } as unknown as LoadedSync;
}

function fakeItem(traceparent?: string): TracedItem {
  const headers = traceparent === undefined ? undefined : natsHeaders();
  headers?.set('traceparent', traceparent!);
  const msg = { headers, subject: 'events.test', info: { stream: 'EVENTS', streamSequence: 7, deliveryCount: 1 } } as unknown as JsMsg;
  return { msg, context: { input: { event_type: 'purchase', insert_id: 'i-7' } } };
}

const progress: DeliveryProgress = { attempt: 1, requests: 1 };
const PUBLISHER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('telemetry tracing set-up', () => {
  it('reads the standard OTEL_* variables: off unless an OTLP endpoint or exporter is named', () => {
    const table: Array<[NodeJS.ProcessEnv, string]> = [
      [{}, 'off'],
      [{ OTEL_SERVICE_NAME: 'x' }, 'off'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'http/protobuf'],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, 'http/protobuf'],
      [{ OTEL_TRACES_EXPORTER: 'otlp' }, 'http/protobuf'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'http/json'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, 'http/protobuf'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, 'off'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, 'off'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'off: problem'],
      [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'off: problem'],
    ];
    for (const [env, expected] of table) {
      const plan = tracingPlanFromEnv(env);
      const got = plan.enabled ? plan.protocol : plan.problem ? 'off: problem' : 'off';
      assert.equal(got, expected, JSON.stringify(env));
    }
  });

  it('installs nothing without OTEL_* variables, and logs why not when a variable asks for something unsupported', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    assert.equal(await startTracingFromEnv(log, {}), undefined);
    assert.equal(await startTracingFromEnv(log, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), undefined);
    assert.match(lines.join(''), /grpc is not supported/);
    assert.equal(trace.getTracer('probe').startSpan('probe').isRecording(), false, 'still the no-op tracer');
  });

  it('with tracing off, a delivery builds no span data and hands the request through untouched', () => {
    const tracer = new SyncTracer(fakeSync(true), 'webhook__main');
    const delivery = tracer.start([fakeItem()], 'track', 1);
    const request = { method: 'POST', url: 'https://example.test/x?k=s3cret', headers: { a: 'b' }, body: '{}' };
    delivery.renderStarted();
    delivery.renderEnded();
    delivery.entered('rendering', progress);
    delivery.queued();
    assert.equal(delivery.sending(request), request, 'the same object: nothing copied, no header added');
    delivery.answered(200);
    delivery.entered('delivered', progress);
  });

  it("with tracing off and propagateTraceContext on, passes the publisher's traceparent on as it came", () => {
    const request = { method: 'POST', url: 'https://example.test/x', headers: { a: 'b' }, body: '{}' };
    const passed = new SyncTracer(fakeSync(true), 'webhook__main').start([fakeItem(PUBLISHER)], 'track', 1).sending(request);
    assert.deepEqual(passed.headers, { a: 'b', traceparent: PUBLISHER });
    assert.deepEqual(request.headers, { a: 'b' }, 'the rendered request is not changed');
    const off = new SyncTracer(fakeSync(false), 'webhook__main').start([fakeItem(PUBLISHER)], 'track', 1).sending(request);
    assert.equal(off, request, 'not asked for: nothing added');
  });
});
