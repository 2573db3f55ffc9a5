// Secrets in no form: a Basic-auth destination (like the shipped customerio: base64 of
// "site_id:api_key") run by a real daemon against a real nats-server and a real node:http sink
// that echoes the request it got. Every output of the run is searched for every form of the
// secret and of the Basic credentials derived from it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { installTracing, type TracingHandle } from '../../daemon/telemetry/index.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';
import { SpanRecorder, spanText } from '../telemetry/span-recorder.js';

// Quote, slash, plus, ampersand and equals: its raw, JSON-escaped and URL-encoded forms all differ.
const API_KEY = 'sk_"live"/9f3a+Zq&x=7Wm';
const SITE_ID = 'site-4c1d';
const BASIC = Buffer.from(`${SITE_ID}:${API_KEY}`).toString('base64');
const ENV = { BASICAUTH_API_KEY: API_KEY };

/** Every form a string can take in our outputs: raw, URL-encoded, JSON-escaped, base64. */
function forms(value: string): Array<[form: string, text: string]> {
  return [
    ['raw', value],
    ['URL-encoded', encodeURIComponent(value)],
    ['JSON-escaped', JSON.stringify(value).slice(1, -1)],
    ['base64', Buffer.from(value).toString('base64')],
  ];
}

function assertNoSecret(output: string, where: string): void {
  for (const [name, value] of [
    ['the API key', API_KEY],
    ['the Basic credentials', BASIC],
  ]) {
    for (const [form, text] of forms(value)) assert.ok(!output.includes(text), `${where} holds ${name} (${form}): ${excerptAround(output, text)}`);
  }
}

function excerptAround(output: string, text: string): string {
  const at = output.indexOf(text);
  return output.slice(Math.max(0, at - 80), at + text.length + 40);
}

/** Customer.io's shape, with the Basic credentials also in the body (some APIs want them there), and
 *  a price written without `json`, so an event with a text price renders a body that is not JSON. */
const DEFINITION = {
  name: 'Basic auth sink',
  category: 'Other',
  summary: 'Customer.io-like: HTTP Basic credentials built from a site id and a secret key.',
  description: 'Posts each event with Basic credentials, base64 of site_id:api_key.',
  parameters: [
    { name: 'endpoint', displayName: 'Endpoint' },
    { name: 'site_id', displayName: 'Site ID' },
    { name: 'api_key', displayName: 'API key', secret: true },
  ],
  userPropertyMappings: [{ name: 'id', required: true, identifier: true }],
  request: {
    method: 'POST',
    url: '{{ parameters.endpoint }}/api/v1/customers/{{ mappedFields.id | urlencode }}/events',
    headers: { Authorization: "Basic {{ (parameters.site_id ~ ':' ~ parameters.api_key) | base64 }}" },
    body: 'body.njk',
  },
  retry: { initialDelayMs: 10, multiplier: 1, jitter: 0, maxAttempts: 5 },
};
const BODY = `{"auth": "Basic {{ (parameters.site_id ~ ':' ~ parameters.api_key) | base64 }}", "price": {{ input.event_properties.price }}, "insert_id": {{ input.insert_id | json }}}\n`;

function event(insertId: string, price: unknown): Record<string, unknown> {
  return { event_type: 'purchase', user_id: 'user-1', time: 1_700_000_000_000, insert_id: insertId, event_properties: { price } };
}

/** The sink echoes the request it got (headers and body), as some APIs do in their errors:
 *  `retried` gets two 500s then a 400, `ok` a 200. */
let retriedAttempts = 0;
function echo(recorded: RecordedRequest) {
  const body = JSON.stringify({ error: 'echo', headers: recorded.headers, body: recorded.body });
  if (recorded.body.includes('"retried"')) return { status: ++retriedAttempts < 3 ? 500 : 400, body };
  return { status: 200, body };
}

const nats = useNatsServer();
let tracing: TracingHandle;
const recorder = new SpanRecorder();

before(async () => {
  tracing = await installTracing([new SimpleSpanProcessor(recorder)]);
  Object.assign(process.env, ENV);
});

after(async () => {
  await tracing.shutdown();
});

describe('secrets in no form', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };
  let deadStream: string;

  before(async () => {
    sink = await startTestSink(echo);
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'basicauth', {
      definition: DEFINITION,
      body: BODY,
      syncs: {
        main: {
          parameters: { endpoint: sink.url, site_id: SITE_ID, api_key: { env: 'BASICAUTH_API_KEY' } },
          fieldMappings: { id: { scope: 'field', property: 'user_id' } },
        },
      },
    });
    const { subject, ...stream } = nats.streams('secrets');
    deadStream = stream.deadLetterStream;
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, admin: { enabled: true, host: '127.0.0.1', port: 0 } }));
    admin = await startAdminServer(daemon.daemon);
    await nats.js.publish(subject, JSON.stringify(event('retried', 12)));
    await nats.js.publish(subject, JSON.stringify(event('unrenderable', 'not-a-number')));
    await nats.js.publish(subject, JSON.stringify(event('ok', 3)));
    await waitForStreamCount(nats.connection, deadStream, 2);
    const stats = daemon.daemon.runners.get('basicauth.main')!.stats;
    await waitUntil(nats.connection, () => stats.deliveredFirstAttempt === 1, 10_000, 'the good event delivered');
    await recorder.waitFor((span) => span.name === 'deliver basicauth' && span.attributes['destinations.outcome'] === 'dead', 2);
  });

  after(async () => {
    await admin?.close();
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

  it('sends the real credentials to the destination, so the run has something to leak', () => {
    assert.equal(sink.requests.length, 4, 'three attempts at one event, one at another');
    for (const recorded of sink.requests) assert.equal(recorded.headers.authorization, `Basic ${BASIC}`);
  });

  it('keeps every form of the secret and of the Basic credentials out of the dead letters', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const letters: Array<Record<string, unknown>> = [];
    for (let seq = 1; letters.length < 2 && seq < 20; seq++) {
      const stored = await jsm.streams.getMessage(deadStream, { seq }).catch(() => null);
      if (stored) letters.push(stored.json());
    }
    const byReason = Object.fromEntries(letters.map((letter) => [letter.reason, letter]));
    assert.deepEqual(Object.keys(byReason).sort(), ['http_4xx', 'render_failed']);
    assert.match(String(byReason.render_failed.message), /rendered body is not valid JSON/);
    assert.match(JSON.stringify(byReason.http_4xx.request), /Basic \[redacted\]/, 'the body keeps its shape');
    assert.match(String(byReason.http_4xx.responseExcerpt), /"error":"echo"/, 'the excerpt is kept, only redacted');
    assert.match(String(byReason.render_failed.message), /Basic \[redacted\]/, 'the quoted line keeps its shape');
    assert.match(String(byReason.http_4xx.responseExcerpt), /"authorization":"Basic \[redacted\]"/);
    for (const letter of letters) assertNoSecret(JSON.stringify(letter), `dead letter ${String(letter.reason)}`);
  });

  it('keeps them out of the log lines', () => {
    assert.ok(daemon.logs.some((line) => line.msg === 'dead-lettered' && line.reason === 'render_failed'));
    assertNoSecret(JSON.stringify(daemon.logs), 'the log');
  });

  it('keeps them out of the spans: status, attributes, events', () => {
    const spans = recorder.getFinishedSpans();
    assert.ok(spans.some((span) => /render_failed: .*not valid JSON/.test(span.status.message ?? '')), 'the render error is in a span status');
    for (const span of spans) assertNoSecret(spanText(span), `span ${span.name}`);
  });

  it('keeps them out of /metrics, /destinations and status', async () => {
    for (const path of ['/metrics', '/destinations']) {
      const response = await request(`http://127.0.0.1:${admin.port}${path}`);
      assert.equal(response.statusCode, 200);
      assertNoSecret(await response.body.text(), path);
    }
    const status = await runCli(['status', '--url', `http://127.0.0.1:${admin.port}`]);
    assert.equal(status.code, 0, status.stderr);
    assertNoSecret(status.stdout + status.stderr, 'status');
  });

  it('keeps them out of a preview (curl and json) and out of what send prints', async () => {
    const eventFile = join(folder.dir, 'event.json');
    writeFileSync(eventFile, JSON.stringify(event('previewed', 5)));
    const dir = join(folder.dir, 'basicauth');
    for (const format of ['curl', 'json']) {
      const preview = await runCli(['preview', dir, '--event', eventFile, '--format', format], { env: ENV });
      assert.equal(preview.code, 0, preview.stderr);
      assertNoSecret(preview.stdout + preview.stderr, `preview --format ${format}`);
    }
    const badFile = join(folder.dir, 'bad-event.json');
    writeFileSync(badFile, JSON.stringify(event('bad', 'not-a-number')));
    const failed = await runCli(['preview', dir, '--event', badFile], { env: ENV });
    assert.equal(failed.code, 1);
    assertNoSecret(failed.stdout + failed.stderr, 'a failed preview');
    // The sink echoes the credentials back; send prints the response.
    const sent = await runCli(['send', dir, '--event', eventFile], { env: ENV });
    assert.match(sent.stdout, /HTTP 200/);
    assertNoSecret(sent.stdout + sent.stderr, 'send');
    const unsent = await runCli(['send', dir, '--event', badFile], { env: ENV });
    assert.equal(unsent.code, 1);
    assertNoSecret(unsent.stdout + unsent.stderr, 'a failed send');
  });
});
