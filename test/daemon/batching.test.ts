// Batched destinations: several events a request, bounded by count, bytes and wait; a batch is
// retried as a unit, and a multi-status answer retries or dead-letters only the failed items.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type SinkBehaviour, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.BATCH_TOKEN = 'batch-secret';
});

interface BatchScenario {
  sink: TestSink;
  daemon: TestDaemon;
  subject: string;
  deadStream: string;
  cleanup(): Promise<void>;
}

async function batchScenario(batch: Record<string, unknown>, behaviour?: SinkBehaviour, extra: Record<string, unknown> = {}): Promise<BatchScenario> {
  const sink = await startTestSink(behaviour);
  const folder = makeDestinationsDir();
  const definition = testDefinition({ batch, retry: { initialDelayMs: 50, multiplier: 1, jitter: 0, maxAttempts: 5 }, ...extra });
  writeDestinationFolder(folder.dir, 'batched', {
    definition,
    body: TEST_BATCH_BODY,
    syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'BATCH_TOKEN' } } } },
  });
  const { subject, ...stream } = nats.streams('batch');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInProcessWaitMs: 0 }));
  return {
    sink,
    daemon,
    subject,
    deadStream: stream.deadLetterStream,
    async cleanup() {
      await daemon.stop();
      await sink.close();
      folder.remove();
    },
  };
}

const idsOf = (body: string): string[] => (JSON.parse(body) as { events: Array<{ insert_id: string }> }).events.map((event) => event.insert_id);

async function publish(subject: string, events: unknown[]): Promise<void> {
  for (const event of events) await nats.js.publish(subject, JSON.stringify(event));
}

describe('batching', () => {
  it('sends full batches at the size limit', async () => {
    const s = await batchScenario({ maxEvents: 10, maxWaitMs: 60_000 });
    try {
      await publish(s.subject, Array.from({ length: 20 }, (_, i) => testEvent(i)));
      const requests = await s.sink.waitForRequests(2);
      assert.deepEqual(requests.map((request) => idsOf(request.body).length), [10, 10]);
      assert.deepEqual(requests.flatMap((request) => idsOf(request.body)).sort(), Array.from({ length: 20 }, (_, i) => `insert-${i}`).sort());
    } finally {
      await s.cleanup();
    }
  });

  it('sends a partial batch when its oldest event has waited maxWaitMs', async () => {
    const s = await batchScenario({ maxEvents: 100, maxWaitMs: 300 });
    try {
      const publishedAt = Date.now();
      await publish(s.subject, [testEvent(1), testEvent(2), testEvent(3)]);
      const [request] = await s.sink.waitForRequests(1);
      assert.deepEqual(idsOf(request.body), ['insert-1', 'insert-2', 'insert-3']);
      assert.ok(request.at - publishedAt >= 250, `waited for the batch to fill (${request.at - publishedAt} ms)`);
    } finally {
      await s.cleanup();
    }
  });

  it('keeps each batch under maxBytes', async () => {
    const size = Buffer.byteLength(JSON.stringify(testEvent(10)));
    const s = await batchScenario({ maxEvents: 100, maxBytes: size * 3 + 5, maxWaitMs: 200 });
    try {
      await publish(s.subject, Array.from({ length: 9 }, (_, i) => testEvent(10 + i)));
      await s.sink.waitForRequests(3);
      await waitUntil(nats.connection, () => s.sink.requests.flatMap((request) => idsOf(request.body)).length === 9);
      for (const request of s.sink.requests) assert.ok(idsOf(request.body).length <= 3, `at most 3 events fit in maxBytes, got ${idsOf(request.body).length}`);
    } finally {
      await s.cleanup();
    }
  });

  it('retries a failed batch as a unit', async () => {
    const s = await batchScenario({ maxEvents: 5, maxWaitMs: 60_000 }, (_request, index) => (index === 0 ? answer.status(503) : answer.ok()));
    try {
      await publish(s.subject, Array.from({ length: 5 }, (_, i) => testEvent(i)));
      const requests = await s.sink.waitForRequests(2);
      assert.deepEqual(idsOf(requests[1].body).sort(), idsOf(requests[0].body).sort(), 'the same five events, together');
      const stats = s.daemon.daemon.runners.get('batched.main')!.stats;
      await waitUntil(nats.connection, () => stats.deliveredAfterRetry === 5);
    } finally {
      await s.cleanup();
    }
  });

  it('with a multi-status answer, retries the retryable item and dead-letters the rejected one only', async () => {
    const multiStatus = { failedItemsPath: 'result.errors', indexField: 'index', statusField: 'status' };
    const behaviour: SinkBehaviour = (_request, index) =>
      index === 0 ? { status: 200, body: JSON.stringify({ result: { errors: [{ index: 1, status: 400 }, { index: 2, status: 503 }] } }) } : answer.ok();
    const s = await batchScenario({ maxEvents: 4, maxWaitMs: 500 }, behaviour, {
      request: { ...(testDefinition().request as object), multiStatus },
    });
    try {
      await publish(s.subject, Array.from({ length: 4 }, (_, i) => testEvent(i)));
      const first = await s.sink.waitForRequests(1);
      const order = idsOf(first[0].body);
      await waitForStreamCount(nats.connection, s.deadStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(s.deadStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.insertId, order[1]);
      assert.equal(letter.reason, 'http_4xx');
      assert.equal(letter.lastStatus, 400);
      assert.match(letter.message ?? '', /item 1 of the batch failed with status 400/);
      // The retryable item comes back alone after its delay and goes out in a batch of its own.
      const requests = await s.sink.waitForRequests(2);
      assert.deepEqual(idsOf(requests[1].body), [order[2]]);
      const stats = s.daemon.daemon.runners.get('batched.main')!.stats;
      await waitUntil(nats.connection, () => stats.deliveredFirstAttempt === 2 && stats.deliveredAfterRetry === 1);
      assert.equal(stats.deferred, 1);
      assert.equal((await jsm.streams.info(s.deadStream)).state.messages, 1, 'only the rejected item is dead');
    } finally {
      await s.cleanup();
    }
  });

  it('dead-letters an event a 2xx lists as rejected, even alone in its batch, with the destination\'s reason; identify reads its own list', async () => {
    // Braze's shape: one errors array for every input array of the request, no status per object.
    const multiStatus = (array: string) => ({ failedItemsPath: 'errors', messageField: 'type', match: { input_array: array } });
    const behaviour: SinkBehaviour = (request) =>
      request.url === '/identify'
        ? { status: 201, body: JSON.stringify({ message: 'success', errors: [{ type: 'attribute name is reserved', input_array: 'attributes', index: 0 }] }) }
        : { status: 201, body: JSON.stringify({ message: 'success', errors: [{ type: "'external_id' is required", input_array: 'events', index: 0 }, { type: 'not ours', input_array: 'attributes', index: 0 }] }) };
    const sink = await startTestSink(behaviour);
    const folder = makeDestinationsDir();
    const base = testDefinition();
    const definition = testDefinition({
      batch: { maxEvents: 4, maxWaitMs: 20 },
      request: { ...(base.request as object), multiStatus: multiStatus('events') },
      identify: { url: '{{ parameters.endpoint }}/identify', body: 'identify.njk', multiStatus: multiStatus('attributes') },
    });
    const identifyBody = '{ "attributes": [{% for item in events %}{ "id": {{ item.input.user_id | json }} }{{ "," if not loop.last }}{% endfor %}] }\n';
    writeDestinationFolder(folder.dir, 'batched', {
      definition,
      body: TEST_BATCH_BODY,
      identifyBody,
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'BATCH_TOKEN' } }, identifyForwarding: true } },
    });
    const { subject, ...stream } = nats.streams('batch');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await publish(subject, [testEvent(1)]);
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      await publish(subject, [{ event_type: '$identify', user_id: 'u-9', insert_id: 'identify-9', user_properties: { $set: { plan: 'pro' } } }]);
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 2);
      const jsm = await jetstreamManager(nats.connection);
      const letters = await Promise.all([1, 2].map(async (seq) => (await jsm.streams.getMessage(stream.deadLetterStream, { seq }))!.json<DeadLetter>()));
      assert.deepEqual(
        letters.map((letter) => [letter.insertId, letter.reason, letter.lastStatus, letter.message]),
        [
          ['insert-1', 'http_4xx', 400, "item 0 of the batch failed with status 400: 'external_id' is required"],
          ['identify-9', 'http_4xx', 400, 'item 0 of the batch failed with status 400: attribute name is reserved'],
        ],
      );
      const stats = daemon.daemon.runners.get('batched.main')!.stats;
      assert.equal(stats.deliveredFirstAttempt, 0, 'a rejected event is not counted as delivered');
      assert.equal(sink.requests.length, 2);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
