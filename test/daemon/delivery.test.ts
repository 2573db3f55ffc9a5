// The daemon end to end: a real nats-server, real HTTP sinks, the real delivery path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { loadDestinations, RENDER_FOR_DELIVERY, renderForSync } from '../../daemon/registry/index.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { useNatsServer, type TestStreams } from '../helpers/nats-server.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const SECRET = 'tok-3f9a-very-secret';

const nats = useNatsServer();

before(() => {
  process.env.TEST_SINK_TOKEN = SECRET;
});

interface Scenario {
  sink: TestSink;
  daemon: TestDaemon;
  subject: string;
  stream: Omit<TestStreams, 'subject'>;
  dir: string;
  cleanup(): Promise<void>;
}

async function scenario(options: { definition?: Record<string, unknown>; sync?: Record<string, unknown>; settings?: Record<string, unknown>; body?: string } = {}): Promise<Scenario> {
  const sink = await startTestSink();
  const folder = makeDestinationsDir();
  writeDestinationFolder(folder.dir, 'testsink', {
    definition: options.definition ?? testDefinition(),
    body: options.body,
    syncs: {
      main: {
        parameters: { endpoint: sink.url, token: { env: 'TEST_SINK_TOKEN' } },
        selectedProperties: [{ scope: 'event', property: 'price' }],
        ...options.sync,
      },
    },
  });
  const { subject, ...stream } = nats.streams('ev');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, ...options.settings }));
  return {
    sink,
    daemon,
    stream,
    dir: folder.dir,
    subject,
    async cleanup() {
      await daemon.stop();
      await sink.close();
      folder.remove();
    },
  };
}

async function publish(subject: string, events: unknown[]): Promise<void> {
  await Promise.all(events.map((event) => nats.js.publish(subject, typeof event === 'string' ? event : JSON.stringify(event))));
}

async function deadLetters(streamName: string, count: number): Promise<DeadLetter[]> {
  const jsm = await jetstreamManager(nats.connection);
  const letters: DeadLetter[] = [];
  for (let seq = 1; letters.length < count; seq++) {
    const stored = await jsm.streams.getMessage(streamName, { seq }).catch(() => null);
    if (stored) letters.push(stored.json<DeadLetter>());
    if (seq > count * 10) break;
  }
  return letters;
}

describe('daemon delivery', () => {
  it('delivers 1,000 events exactly once each, with the body the preview renders', async () => {
    const s = await scenario();
    try {
      const events = Array.from({ length: 1_000 }, (_, i) => testEvent(i));
      await publish(s.subject, events);
      const requests = await s.sink.waitForRequests(1_000);
      const ids = requests.map((request) => JSON.parse(request.body).insert_id as string);
      assert.equal(new Set(ids).size, 1_000, 'each event once');
      assert.equal(requests.length, 1_000, 'no duplicates');

      const loaded = await loadDestinations(s.dir, { resolveSecrets: true });
      const sync = loaded.destinations[0].syncs[0];
      const byId = new Map(requests.map((request) => [JSON.parse(request.body).insert_id as string, request]));
      for (const event of events.slice(0, 50)) {
        const preview = renderForSync(sync, [buildEventContext(event as never, sync.selection)], 'track', RENDER_FOR_DELIVERY, { idempotencyKey: event.insert_id as string });
        const got = byId.get(event.insert_id as string)!;
        assert.equal(got.body, preview.body);
        assert.equal(got.headers.authorization, `Bearer ${SECRET}`);
        assert.equal(got.headers['idempotency-key'], event.insert_id);
      }
      const stats = s.daemon.daemon.runners.get('testsink.main')!.stats;
      await waitUntil(nats.connection, () => stats.deliveredFirstAttempt === 1_000);
      const jsm = await jetstreamManager(nats.connection);
      await waitUntil(nats.connection, async () => (await jsm.consumers.info(s.stream.name, 'testsink__main')).num_ack_pending === 0);
      assert.equal(s.sink.requests.length, 1_000, 'no duplicates');
    } finally {
      await s.cleanup();
    }
  });

  it('retries a 500 with backoff and delivers when the destination recovers, recording the attempts', async () => {
    const s = await scenario({ definition: testDefinition({ retry: { initialDelayMs: 50, multiplier: 2, jitter: 0, maxAttempts: 9 } }) });
    try {
      s.sink.behave((_request, index) => (index < 2 ? answer.status(500) : answer.ok()));
      await publish(s.subject, [testEvent(1)]);
      const requests = await s.sink.waitForRequests(3);
      assert.equal(requests.length, 3);
      assert.ok(requests[1].at - requests[0].at >= 45, 'waited before the second attempt');
      assert.ok(requests[2].at - requests[1].at >= 95, 'waited longer before the third');
      const stats = s.daemon.daemon.runners.get('testsink.main')!.stats;
      await waitUntil(nats.connection, () => stats.deliveredAfterRetry === 1);
      assert.equal(stats.deliveredFirstAttempt, 0);
    } finally {
      await s.cleanup();
    }
  });

  it('hands long waits to JetStream (nak with delay) and counts the attempt from the delivery count', async () => {
    const s = await scenario({
      // Breaker off: an event failing every attempt with nothing else answered meanwhile is, to the breaker, a
      // destination that is down (it opens on a run as long as the retry schedule, and the event waits in the stream).
      definition: testDefinition({ retry: { initialDelayMs: 300, multiplier: 1, jitter: 0, maxAttempts: 3 }, circuitBreaker: { enabled: false } }),
      settings: { maxInProcessWaitMs: 0 },
    });
    try {
      s.sink.behave(() => answer.status(503));
      await publish(s.subject, [testEvent(7)]);
      await waitForStreamCount(nats.connection, s.stream.deadLetterStream, 1);
      assert.equal(s.sink.requests.length, 3, 'three attempts, one per JetStream delivery');
      const [letter] = await deadLetters(s.stream.deadLetterStream, 1);
      assert.equal(letter.reason, 'retries_exhausted');
      assert.equal(letter.attempts, 3);
      assert.equal(letter.lastStatus, 503);
      assert.ok(s.sink.requests[1].at - s.sink.requests[0].at >= 290, 'JetStream held it for the nak delay');
    } finally {
      await s.cleanup();
    }
  });

  it('dead-letters a 400 at once with the reason, the response, and the request without secrets', async () => {
    const s = await scenario();
    try {
      s.sink.behave(() => ({ status: 400, body: '{"error":"bad payload"}' }));
      await publish(s.subject, [testEvent(3)]);
      await waitForStreamCount(nats.connection, s.stream.deadLetterStream, 1);
      assert.equal(s.sink.requests.length, 1);
      const [letter] = await deadLetters(s.stream.deadLetterStream, 1);
      assert.equal(letter.reason, 'http_4xx');
      assert.equal(letter.lastStatus, 400);
      assert.equal(letter.attempts, 1);
      assert.match(letter.responseExcerpt ?? '', /bad payload/);
      assert.equal(letter.insertId, 'insert-3');
      assert.equal(letter.sync, 'testsink.main');
      assert.match(letter.definitionVersion, /^[0-9a-f]{6,}$/);
      assert.equal(letter.request?.headers.authorization, '[redacted]', 'a header built from a secret is redacted whole');
      assert.ok(!JSON.stringify(letter).includes(SECRET), 'no secret in the dead letter');
      assert.ok(!JSON.stringify(s.daemon.logs).includes(SECRET), 'no secret in the logs');
    } finally {
      await s.cleanup();
    }
  });

  it('respects Retry-After: no request to the sync before it passes, then delivers', async () => {
    const s = await scenario();
    try {
      s.sink.behave((_request, index) => (index === 0 ? answer.status(429, { 'retry-after': '2' }) : answer.ok()));
      await publish(s.subject, [testEvent(1)]);
      await s.sink.waitForRequests(1);
      await publish(s.subject, [testEvent(2)]);
      const requests = await s.sink.waitForRequests(3);
      for (const request of requests.slice(1)) assert.ok(request.at - requests[0].at >= 1_990, `request ${request.body} came ${request.at - requests[0].at} ms after the 429`);
      const ids = requests.map((request) => JSON.parse(request.body).insert_id).sort();
      assert.deepEqual(ids, ['insert-1', 'insert-1', 'insert-2']);
    } finally {
      await s.cleanup();
    }
  });

  it('counts in-process retries across redeliveries: 9 attempts in all, not 9 deliveries of 4', async () => {
    const s = await scenario({ definition: testDefinition({ retry: { maxAttempts: 9, initialDelayMs: 10, jitter: 0 } }) });
    try {
      // Retry-After 0: every wait is short, so each delivery retries in process until its local
      // bound (3), then goes back to JetStream with nak(0).
      s.sink.behave(() => answer.status(503, { 'retry-after': '0' }));
      await publish(s.subject, [testEvent(3)]);
      await waitForStreamCount(nats.connection, s.stream.deadLetterStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(s.stream.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.deepEqual([letter.reason, letter.attempts], ['retries_exhausted', 9]);
      assert.equal(s.sink.requests.length, 9, 'one request per attempt');
    } finally {
      await s.cleanup();
    }
  });

  it('times out a destination that never answers, and retries', async () => {
    const s = await scenario({ definition: testDefinition({ retry: { initialDelayMs: 10, jitter: 0 } }), settings: { requestTimeoutMs: 300 } });
    try {
      s.sink.behave((_request, index) => (index === 0 ? 'hang' : answer.ok()));
      await publish(s.subject, [testEvent(5)]);
      const requests = await s.sink.waitForRequests(2);
      assert.ok(requests[1].at - requests[0].at >= 290, 'the second try came after the timeout');
      const stats = s.daemon.daemon.runners.get('testsink.main')!.stats;
      await waitUntil(nats.connection, () => stats.deliveredAfterRetry === 1);
    } finally {
      await s.cleanup();
    }
  });

  it('dead-letters malformed JSON, an event without event_type and an oversize event, and keeps running', async () => {
    const s = await scenario({ definition: testDefinition({ limits: { maxEventBytes: 2_000 } }) });
    try {
      await publish(s.subject, ['{"event_type": "purchase", "user_id": ', { user_id: 'u-1', insert_id: 'no-type' }, testEvent(9, { event_properties: { blob: 'x'.repeat(3_000) } })]);
      await waitForStreamCount(nats.connection, s.stream.deadLetterStream, 3);
      const letters = await deadLetters(s.stream.deadLetterStream, 3);
      assert.deepEqual(letters.map((letter) => letter.reason).sort(), ['event_too_large', 'invalid_event', 'invalid_event']);
      const malformed = letters.find((letter) => letter.rawEvent !== undefined)!;
      assert.equal(Buffer.from(malformed.rawEvent!, 'base64').toString(), '{"event_type": "purchase", "user_id": ');
      assert.match(letters.find((letter) => letter.insertId === 'no-type')!.message ?? '', /event_type/);
      await publish(s.subject, [testEvent(10)]);
      const [request] = await s.sink.waitForRequests(1);
      assert.equal(JSON.parse(request.body).insert_id, 'insert-10');
      assert.equal(s.sink.requests.length, 1, 'bad events never reached the destination');
    } finally {
      await s.cleanup();
    }
  });

  it('keeps consuming when handling a message throws, and returns that message to the stream', async () => {
    const s = await scenario();
    try {
      const runner = s.daemon.daemon.runners.get('testsink.main')!;
      const filter = runner.sync.filter;
      let calls = 0;
      // A bug on the first look at a message: the loop must survive it and nothing may be lost.
      (runner.sync as { filter: typeof filter }).filter = (event) => {
        calls += 1;
        if (calls === 1) throw new Error('a bug in a filter');
        return filter(event);
      };
      await publish(s.subject, [testEvent(1), testEvent(2)]);
      const requests = await s.sink.waitForRequests(2);
      assert.deepEqual(requests.map((request) => JSON.parse(request.body).insert_id).sort(), ['insert-1', 'insert-2']);
      assert.ok(s.daemon.logs.some((line) => line.msg === 'cannot handle a message; returned to the stream'));
    } finally {
      await s.cleanup();
    }
  });

  it('acks and counts filtered events without sending or dead-lettering them', async () => {
    const s = await scenario({ sync: { filter: { eventTypes: ['purchase'], conditions: [{ scope: 'event', property: 'price', op: 'greater', value: 100 }] } } });
    try {
      await publish(s.subject, [testEvent(1, { event_type: 'view' }), testEvent(2, { event_properties: { price: 5 } }), testEvent(3, { event_properties: { price: 500 } })]);
      const [request] = await s.sink.waitForRequests(1);
      assert.equal(JSON.parse(request.body).insert_id, 'insert-3');
      const stats = s.daemon.daemon.runners.get('testsink.main')!.stats;
      await waitUntil(nats.connection, () => stats.filtered === 2);
      const jsm = await jetstreamManager(nats.connection);
      await waitUntil(nats.connection, async () => (await jsm.consumers.info(s.stream.name, 'testsink__main')).num_ack_pending === 0);
      assert.equal((await jsm.streams.info(s.stream.deadLetterStream)).state.messages, 0);
    } finally {
      await s.cleanup();
    }
  });
});
