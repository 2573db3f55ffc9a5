// The daemon as a process, configured for tracing only through OTEL_* variables, exporting to a
// real OTLP/HTTP receiver on loopback: the spans arrive (http/json, decoded), and on SIGTERM the
// last ones are flushed before exit (http/protobuf, the default).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { DELIVERY_ATTRIBUTES as A } from '../../daemon/telemetry/index.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { spawnDaemon, writeConfig } from '../helpers/daemon-process.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

const SECRET = 'otlp-secret-5d2b';
const PUBLISHER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const PUBLISHER_SPAN = 'b7ad6b7169203331';

const nats = useNatsServer();

/** Its own stream per test; the secret in the URL too, to check url.full. */
function setup(sink: TestSink) {
  const folder = makeDestinationsDir();
  writeDestinationFolder(folder.dir, 'testsink', {
    definition: testDefinition({
      request: { method: 'POST', url: '{{ parameters.endpoint }}/track?key={{ parameters.token }}', headers: { Authorization: 'Bearer {{ parameters.token }}' }, body: 'body.njk' },
    }),
    syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'OTLP_TEST_TOKEN' } } } },
  });
  const { subject, ...stream } = nats.streams('otlp');
  const config = writeConfig(folder.dir, { nats: { servers: [nats.url] }, destinationsDir: '.', stream, admin: { enabled: false }, drainTimeoutMs: 2_000, logLevel: 'info' });
  return { config, subject, remove: folder.remove };
}

/** Only these variables configure tracing; anything OTEL_* the test runner has is cleared. */
function otelEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { OTLP_TEST_TOKEN: SECRET };
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) env[name] = undefined;
  return { ...env, ...vars };
}

async function publishWithTrace(subject: string, event: unknown): Promise<void> {
  const headers = natsHeaders();
  headers.set('traceparent', `00-${PUBLISHER_TRACE}-${PUBLISHER_SPAN}-01`);
  await nats.js.publish(subject, JSON.stringify(event), { headers });
}

describe('telemetry OTLP export', () => {
  let receiver: OtlpReceiver;
  before(async () => (receiver = await startOtlpReceiver()));
  after(() => receiver.close());

  it("sends the daemon's spans to the OTLP endpoint named by OTEL_* variables (http/json), in the publisher's trace", async () => {
    const sink = await startTestSink();
    const s = setup(sink);
    const daemon = spawnDaemon(
      s.config,
      otelEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'destinations-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      }),
    );
    try {
      await daemon.waitForLog('daemon ready');
      assert.ok(daemon.logs.some((line) => line.msg === 'tracing on' && line.protocol === 'http/json'));
      await publishWithTrace(s.subject, testEvent(1));
      const [attempt] = await receiver.waitForSpans((span) => span.name === 'deliver testsink' && span.traceId === PUBLISHER_TRACE, 1);
      assert.equal(attempt.parentSpanId, PUBLISHER_SPAN);
      assert.equal(attempt.resource['service.name'], 'destinations-under-test');
      assert.equal(attempt.scope, 'destinations');
      assert.equal(attempt.attributes[A.outcome], 'delivered');
      assert.equal(attempt.attributes[A.insertId], 'insert-1');
      assert.deepEqual(attempt.events.map((event) => event.name), ['rendering', 'sending', 'delivered']);
      const children = await receiver.waitForSpans((span) => span.parentSpanId === attempt.spanId, 3);
      assert.deepEqual(children.map((span) => span.name).sort(), ['POST', 'limiter wait', 'render']);
      const http = children.find((span) => span.name === 'POST')!;
      assert.equal(http.attributes['url.full'], `${sink.url}/track?key=[redacted]`);
      assert.equal(http.attributes['http.response.status_code'], 200);
      assert.ok(!receiver.bodies.some((body) => body.body.includes(SECRET)), 'no secret leaves the process in a span');
      daemon.child.kill('SIGTERM');
      assert.deepEqual(await daemon.exited, { code: 0, signal: null });
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
      await sink.close();
      s.remove();
    }
  });

  it('flushes buffered spans when the daemon stops (http/protobuf, the default protocol)', async () => {
    const sink = await startTestSink();
    const s = setup(sink);
    // A schedule delay far beyond the test: only the flush on stop can deliver the spans.
    const daemon = spawnDaemon(s.config, otelEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_SERVICE_NAME: 'destinations-flush-test', OTEL_BSP_SCHEDULE_DELAY: '600000' }));
    try {
      await daemon.waitForLog('daemon ready');
      await publishWithTrace(s.subject, testEvent(2));
      await sink.waitForRequests(1);
      const before = receiver.bodies.length;
      daemon.child.kill('SIGTERM');
      assert.deepEqual(await daemon.exited, { code: 0, signal: null });
      const flushed = receiver.bodies.slice(before).find((body) => body.body.includes('destinations-flush-test'));
      assert.ok(flushed, 'the spans were exported before the process exited');
      assert.equal(flushed.contentType, 'application/x-protobuf');
      // Protobuf keeps strings as bytes: the names are there, and so is the publisher's trace id (16 raw bytes).
      assert.ok(flushed.body.includes('deliver testsink'));
      assert.ok(flushed.body.includes(Buffer.from(PUBLISHER_TRACE, 'hex')));
      assert.ok(!flushed.body.includes(SECRET));
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
      await sink.close();
      s.remove();
    }
  });
});
