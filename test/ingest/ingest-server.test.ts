// The ingest against a real nats-server: each protocol's answers in its vendor's shape, 200 only
// for events JetStream stored (Nats-Msg-Id = insert_id / messageId, so a retry is not stored
// twice), unknown keys 401, the documented limits, invalid events refused whole, gzip, a subject no
// stream takes answered 503 with Retry-After, per-user rate limits 429, metrics and readiness.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { settingsFrom } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { runIngest, type RunningIngest } from '../../daemon/ingest/index.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();

const AMPLITUDE_KEY = 'amp-key-0123456789abcdef';
const SEGMENT_KEY = 'seg-write-key-0123456789';
const LIMITED_KEY = 'amp-limited-key-0123456789';

describe('ingest', () => {
  let ingest: RunningIngest;
  let jsm: JetStreamManager;
  const logs: string[] = [];
  const streamName = 'INGEST_TEST';
  const url = (path: string) => `http://127.0.0.1:${ingest.port}${path}`;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  };
  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
  const stored = async () => (await jsm.streams.info(streamName)).state.messages;
  const lastMessage = async (subject: string) => {
    const message = await jsm.streams.getMessage(streamName, { last_by_subj: subject });
    return { event: message!.json<Record<string, unknown>>(), msgId: message!.header?.get('Nats-Msg-Id') };
  };

  before(async () => {
    jsm = await jetstreamManager(nats.connection);
    await jsm.streams.add({ name: streamName, subjects: ['ingest.>'] });
    process.env.INGEST_TEST_AMPLITUDE_KEY = AMPLITUDE_KEY;
    process.env.INGEST_TEST_SEGMENT_KEY = SEGMENT_KEY;
    process.env.INGEST_TEST_LIMITED_KEY = LIMITED_KEY;
    process.env.INGEST_TEST_NOWHERE_KEY = 'amp-nowhere-key-0123456789';
    const settings = settingsFrom(
      {
        nats: { servers: [nats.url] },
        stream: { name: streamName, subjects: ['ingest.>', 'nostream.>'] },
        ingest: {
          port: 0,
          metricsPort: 0,
          publishTimeoutMs: 1_000,
          retryAfterSeconds: 7,
          keys: [
            { name: 'web', key: { env: 'INGEST_TEST_AMPLITUDE_KEY' }, protocol: 'amplitude', subject: 'ingest.web' },
            { name: 'server', key: { env: 'INGEST_TEST_SEGMENT_KEY' }, protocol: 'segment', subject: 'ingest.server' },
            { name: 'limited', key: { env: 'INGEST_TEST_LIMITED_KEY' }, subject: 'ingest.limited', eventsPerSecondPerUser: 1 },
            { name: 'nowhere', key: { env: 'INGEST_TEST_NOWHERE_KEY' }, subject: 'nostream.x' },
          ],
        },
      },
      undefined,
      process.cwd(),
    );
    const log = createLogger({ level: 'debug', write: (line) => logs.push(line), secrets: () => [AMPLITUDE_KEY, SEGMENT_KEY, LIMITED_KEY] });
    ingest = await runIngest({ settings, log });
  });
  after(async () => {
    await ingest?.stop();
  });

  describe('Amplitude HTTP API v2', () => {
    it('answers 200 in Amplitude’s body only once the events are stored, with insert_id as Nats-Msg-Id', async () => {
      const before = await stored();
      const events = [
        { event_type: 'purchase', user_id: 'user-1', time: 1_700_000_000_000, insert_id: 'amp-1', event_properties: { price: 9.5 } },
        { event_type: 'view', device_id: 'device-1', insert_id: 'amp-2' },
      ];
      const answer = await post('/2/httpapi', { api_key: AMPLITUDE_KEY, events, options: { min_id_length: 5 }, client_upload_time: new Date().toISOString() });
      assert.equal(answer.status, 200);
      assert.equal(answer.body.code, 200);
      assert.equal(answer.body.events_ingested, 2);
      assert.equal(typeof answer.body.payload_size_bytes, 'number');
      assert.equal(typeof answer.body.server_upload_time, 'number');
      assert.equal(await stored(), before + 2);
      const last = await lastMessage('ingest.web');
      assert.equal(last.msgId, 'amp-2');
      const exact = await post('/2/httpapi', `{"api_key": "${AMPLITUDE_KEY}", "events": [{"event_type": "big", "user_id": "user-1", "insert_id": "amp-big", "event_properties": {"order": 12345678901234567890}}]}`);
      assert.equal(exact.status, 200);
      const big = await jsm.streams.getMessage(streamName, { last_by_subj: 'ingest.web' });
      assert.match(big!.string(), /"order":12345678901234567890/, 'an integer past 2^53 is stored as sent');
      assert.equal(last.event.device_id, 'device-1');
      assert.equal(typeof last.event.time, 'number', 'an event without a time takes the upload time, as Amplitude does');
    });

    it('stores an event sent again (an SDK retry) once: JetStream drops it as a duplicate and the answer is still 200', async () => {
      const events = [{ event_type: 'retry', user_id: 'user-1', insert_id: 'amp-retry-1' }];
      const before = await stored();
      assert.equal((await post('/2/httpapi', { api_key: AMPLITUDE_KEY, events })).status, 200);
      assert.equal((await post('/batch', { api_key: AMPLITUDE_KEY, events })).status, 200);
      assert.equal(await stored(), before + 1);
      assert.equal(ingest.metrics.count('events', { protocol: 'amplitude', key: 'web' }) > 0, true);
    });

    it('answers an unknown key 401 with Amplitude’s "Invalid API key" error, and stores nothing', async () => {
      const before = await stored();
      const answer = await post('/2/httpapi', { api_key: 'not-a-key-of-ours', events: [{ event_type: 'x', user_id: 'user-1' }] });
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 401);
      assert.match(String(answer.body.error), /^Invalid API key/);
      assert.equal(await stored(), before);
      // A Segment write key is not an Amplitude key (the key names its protocol).
      assert.equal((await post('/2/httpapi', { api_key: SEGMENT_KEY, events: [{ event_type: 'x', user_id: 'user-1' }] })).status, 401);
    });

    it('answers a missing api_key or events 400 with missing_field', async () => {
      const noKey = await post('/2/httpapi', { events: [{ event_type: 'x', user_id: 'user-1' }] });
      assert.deepEqual([noKey.status, noKey.body.code, noKey.body.missing_field], [400, 400, 'api_key']);
      const noEvents = await post('/2/httpapi', { api_key: AMPLITUDE_KEY });
      assert.deepEqual([noEvents.status, noEvents.body.missing_field], [400, 'events']);
      const notJson = await post('/2/httpapi', '{"api_key": ');
      assert.equal(notJson.status, 400);
      // Hostile bodies: nested past what an event may be, refused before anything recurses; a long integer kept exact.
      const deep = await post('/2/httpapi', `{"api_key": "${AMPLITUDE_KEY}", "events": [{"event_type": "x", "user_id": "user-1", "event_properties": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`);
      assert.equal(deep.status, 400);
      assert.match(String(deep.body.error), /nests deeper/);
      const segmentDeep = await post('/v1/track', `{"userId": "u", "event": "x", "properties": {"a": ${'['.repeat(5_000)}${']'.repeat(5_000)}}}`, basic(SEGMENT_KEY));
      assert.equal(segmentDeep.status, 400);
    });

    it('refuses a request with invalid events whole, listing each event by field, and stores none', async () => {
      const before = await stored();
      const answer = await post('/2/httpapi', {
        api_key: AMPLITUDE_KEY,
        events: [
          { event_type: 'fine', user_id: 'user-1' },
          { event_type: 'bad time', user_id: 'user-1', time: 'yesterday' },
          { user_id: 'user-1' },
          { event_type: 'nobody' },
        ],
      });
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body.events_with_invalid_fields, { time: [1] });
      assert.deepEqual(answer.body.events_with_missing_fields, { event_type: [2], 'user_id or device_id': [3] });
      assert.equal(await stored(), before);
    });

    it('answers 413 past Amplitude’s limits: 2,000 events or 1 MB a request (HTTP API v2)', async () => {
      const many = Array.from({ length: 2_001 }, (_, index) => ({ event_type: 'x', user_id: `user-${index}` }));
      const tooMany = await post('/2/httpapi', { api_key: AMPLITUDE_KEY, events: many });
      assert.deepEqual([tooMany.status, tooMany.body.code], [413, 413]);
      const big = await post('/2/httpapi', { api_key: AMPLITUDE_KEY, events: [{ event_type: 'x', user_id: 'user-1', event_properties: { blob: 'x'.repeat(1024 * 1024) } }] });
      assert.deepEqual([big.status, big.body.code], [413, 413]);
    });

    it('takes a gzip body, and answers 413 for one that inflates past the limit', async () => {
      const before = await stored();
      const body = gzipSync(JSON.stringify({ api_key: AMPLITUDE_KEY, events: [{ event_type: 'zipped', user_id: 'user-1', insert_id: 'amp-gzip-1' }] }));
      const answer = await post('/2/httpapi', body, { 'content-encoding': 'gzip' });
      assert.equal(answer.status, 200);
      assert.equal(await stored(), before + 1);
      const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20));
      assert.ok(bomb.length < 10_000);
      assert.equal((await post('/2/httpapi', bomb, { 'content-encoding': 'gzip' })).status, 413);
      assert.equal((await post('/2/httpapi', body, { 'content-encoding': 'br' })).status, 400);
    });

    it('answers 503 with Retry-After, never 200, when JetStream does not acknowledge (no stream takes the subject)', async () => {
      const answer = await post('/2/httpapi', { api_key: 'amp-nowhere-key-0123456789', events: [{ event_type: 'x', user_id: 'user-1', insert_id: 'nowhere-1' }] });
      assert.equal(answer.status, 503);
      assert.equal(answer.body.code, 503);
      assert.deepEqual(answer.body.stored_events, []);
      assert.equal(answer.headers.get('retry-after'), '7');
    });
  });

  describe('Segment tracking API', () => {
    it('stores a track call sent with the write key as Basic auth, mapped to our event shape, messageId as Nats-Msg-Id', async () => {
      const answer = await post(
        '/v1/track',
        { userId: 'user-9', anonymousId: 'anon-9', event: 'Order Completed', properties: { total: 30 }, timestamp: '2026-01-02T03:04:05.000Z', messageId: 'seg-1', context: { ip: '10.0.0.1', library: { name: 'analytics-node', version: '3.1.0' } } },
        basic(SEGMENT_KEY),
      );
      assert.deepEqual([answer.status, answer.body], [200, { success: true }]);
      const last = await lastMessage('ingest.server');
      assert.equal(last.msgId, 'seg-1');
      assert.deepEqual(last.event, {
        event_type: 'Order Completed',
        user_id: 'user-9',
        device_id: 'anon-9',
        time: Date.parse('2026-01-02T03:04:05.000Z'),
        insert_id: 'seg-1',
        ip: '10.0.0.1',
        library: 'analytics-node/3.1.0',
        event_properties: { total: 30 },
      });
    });

    it('stores a batch of every call type', async () => {
      const before = await stored();
      const batch = [
        { type: 'identify', userId: 'user-9', traits: { plan: 'pro' }, messageId: 'seg-b1' },
        { type: 'page', userId: 'user-9', name: 'Home', properties: { path: '/' }, messageId: 'seg-b2' },
        { type: 'screen', anonymousId: 'anon-9', name: 'Cart', messageId: 'seg-b3' },
        { type: 'group', userId: 'user-9', groupId: 'acme', traits: { seats: 3 }, messageId: 'seg-b4' },
        { type: 'alias', userId: 'user-9', previousId: 'anon-9', messageId: 'seg-b5' },
      ];
      const answer = await post('/v1/batch', { batch, sentAt: new Date().toISOString() }, basic(SEGMENT_KEY));
      assert.equal(answer.status, 200);
      assert.equal(await stored(), before + 5);
    });

    it('answers an unknown write key 401, and refuses a message over 32 KB and a call without an identifier 400', async () => {
      const unknown = await post('/v1/track', { userId: 'user-9', event: 'x' }, basic('nope'));
      assert.deepEqual([unknown.status, unknown.body.success], [401, false]);
      assert.equal((await post('/v1/track', { userId: 'user-9', event: 'x' }, basic(AMPLITUDE_KEY))).status, 401, 'an Amplitude key is not a write key');
      const big = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'x', properties: { blob: 'x'.repeat(33 * 1024) } }] }, basic(SEGMENT_KEY));
      assert.equal(big.status, 400);
      const anonymous = await post('/v1/track', { event: 'x' }, basic(SEGMENT_KEY));
      assert.equal(anonymous.status, 400);
      assert.match(String(anonymous.body.message), /userId or an anonymousId/);
    });
  });

  describe('rate limits', () => {
    it('answers 429 naming the throttled users and events in Amplitude’s shape, stores none of the request, and lets other users through', async () => {
      const before = await stored();
      const events = Array.from({ length: 31 }, (_, index) => ({ event_type: 'burst', user_id: 'busy-user', insert_id: `burst-${index}` }));
      const answer = await post('/2/httpapi', { api_key: LIMITED_KEY, events: [...events, { event_type: 'calm', user_id: 'calm-user', insert_id: 'calm-1' }] });
      assert.equal(answer.status, 429);
      assert.equal(answer.body.code, 429);
      assert.equal(answer.body.eps_threshold, 1);
      assert.deepEqual(answer.body.throttled_users, { 'busy-user': 2 });
      assert.deepEqual(answer.body.throttled_events, Array.from({ length: 31 }, (_, index) => index));
      assert.equal(answer.headers.get('retry-after'), '7');
      assert.equal(await stored(), before);
      assert.equal((await post('/2/httpapi', { api_key: LIMITED_KEY, events: events.slice(0, 30) })).status, 200, '30 s of the rate at once is within it');
      assert.equal((await post('/2/httpapi', { api_key: LIMITED_KEY, events: [{ event_type: 'calm', user_id: 'calm-user' }] })).status, 200);
    });
  });

  describe('seen', () => {
    it('serves readiness while connected and metrics of requests, events, rejects by reason, bytes and ack latency', async () => {
      const metricsUrl = `http://127.0.0.1:${ingest.metricsPort}`;
      assert.equal((await fetch(`${metricsUrl}/readyz`)).status, 200);
      assert.equal((await fetch(url('/readyz'))).status, 200);
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      assert.match(text, /destinations_ingest_requests_total\{protocol="amplitude",status="200"\} \d+/);
      assert.match(text, /destinations_ingest_events_total\{protocol="segment",key="server"\} 6/);
      assert.match(text, /destinations_ingest_rejected_requests_total\{protocol="amplitude",reason="unauthorized"\} 2/);
      assert.match(text, /destinations_ingest_received_bytes_total\{protocol="amplitude"\} \d+/);
      assert.match(text, /destinations_ingest_ack_latency_seconds_count\{protocol="amplitude"\} \d+/);
      assert.match(text, /destinations_ingest_nats_connected 1/);
    });

    it('never writes a key into its log', () => {
      const all = logs.join('');
      assert.ok(all.includes('ingest listening'));
      for (const key of [AMPLITUDE_KEY, SEGMENT_KEY, LIMITED_KEY]) assert.ok(!all.includes(key));
    });
  });
});
