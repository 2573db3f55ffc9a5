// Partial success on whatever status the destination uses, end to end: a real nats-server, the
// daemon, and a node:http sink answering with the vendors' recorded shapes. Mixpanel's strict 400
// imports the rest (acked); Amplitude's 400 and 429 refuse the rest with the request (sent again),
// the invalid event dead-lettered with Amplitude's words and the throttled one retried alone.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import type { MultiStatus } from '../../schema/generated/destination.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type RecordedRequest, type SinkBehaviour } from '../helpers/http-sink.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';
import { AMPLITUDE, MIXPANEL } from '../fixtures/item-results/vendor-answers.js';

const nats = useNatsServer();

before(() => {
  process.env.ITEMS_TOKEN = 'items-secret';
});

const idsOf = (request: RecordedRequest): string[] => (JSON.parse(request.body) as { events: Array<{ insert_id: string }> }).events.map((event) => event.insert_id);

async function scenario(multiStatus: MultiStatus, behaviour: SinkBehaviour, run: (s: { sink: Awaited<ReturnType<typeof startTestSink>>; deadStream: string; stats: () => import('../../daemon/telemetry/index.js').SyncStats }) => Promise<void>): Promise<void> {
  const sink = await startTestSink(behaviour);
  const folder = makeDestinationsDir();
  const definition = testDefinition({
    batch: { maxEvents: 3, maxWaitMs: 300 },
    retry: { initialDelayMs: 50, multiplier: 1, jitter: 0, maxAttempts: 5 },
    request: { ...(testDefinition().request as object), multiStatus },
  });
  writeDestinationFolder(folder.dir, 'vendor', { definition, body: TEST_BATCH_BODY, syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'ITEMS_TOKEN' } } } } });
  const { subject, ...stream } = nats.streams('items');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInProcessWaitMs: 0 }));
  try {
    for (const index of [0, 1, 2]) await nats.js.publish(subject, JSON.stringify(testEvent(index)));
    await run({ sink, deadStream: stream.deadLetterStream, stats: () => daemon.daemon.runners.get('vendor.main')!.stats });
  } finally {
    await daemon.stop();
    await sink.close();
    folder.remove();
  }
}

async function deadLetters(stream: string, count: number): Promise<DeadLetter[]> {
  await waitForStreamCount(nats.connection, stream, count);
  const jsm = await jetstreamManager(nats.connection);
  return Promise.all(Array.from({ length: count }, async (_, i) => (await jsm.streams.getMessage(stream, { seq: i + 1 }))!.json<DeadLetter>()));
}

describe('partial success on any status', () => {
  it("Mixpanel's strict 400: the failed record is dead-lettered with Mixpanel's message, the others acked and never sent again", async () => {
    // Whichever request carries insert-1 first (under load the three may not share the first request).
    let failedOnce = false;
    const behaviour: SinkBehaviour = (request) => {
      if (failedOnce || !idsOf(request).includes('insert-1')) return answer.ok();
      failedOnce = true;
      return { status: MIXPANEL.status, body: JSON.stringify(MIXPANEL.body(idsOf(request).indexOf('insert-1'))) };
    };
    await scenario(MIXPANEL.multiStatus, behaviour, async ({ sink, deadStream, stats }) => {
      const [letter] = await deadLetters(deadStream, 1);
      assert.deepEqual([letter.insertId, letter.reason, letter.lastStatus], ['insert-1', 'http_4xx', 400]);
      assert.match(letter.message ?? '', /'properties\.time' is invalid: must be specified as seconds since epoch/);
      await waitUntil(nats.connection, () => stats().deliveredFirstAttempt === 2, 10_000, 'the two imported events acked');
      assert.equal(sink.requests.flatMap(idsOf).length, 3, `nothing was sent again: ${JSON.stringify(sink.requests.map(idsOf))}`);
    });
  });

  it("Amplitude's 400 then 429: the invalid event dead-lettered, the throttled one retried alone, the rest sent again until delivered", async () => {
    const answered: number[] = [];
    const behaviour: SinkBehaviour = (request) => {
      const ids = idsOf(request);
      let reply: { status: number; body: string };
      if (!answered.includes(400) && ids.includes('insert-2')) reply = { status: 400, body: JSON.stringify(AMPLITUDE.invalid(ids.indexOf('insert-2'))) };
      else if (!answered.includes(429) && ids.includes('insert-1')) reply = { status: 429, body: JSON.stringify(AMPLITUDE.throttled(ids.indexOf('insert-1'), 'nobody@example.com')) };
      else reply = { status: 200, body: '{"code":200}' };
      answered.push(reply.status);
      return reply;
    };
    await scenario(AMPLITUDE.multiStatus, behaviour, async ({ sink, deadStream, stats }) => {
      const [letter] = await deadLetters(deadStream, 1);
      assert.deepEqual([letter.insertId, letter.reason, letter.lastStatus], ['insert-2', 'http_4xx', 400]);
      assert.match(letter.message ?? '', /invalid field: time/);
      await waitUntil(nats.connection, () => stats().deliveredFirstAttempt + stats().deliveredAfterRetry === 2, 10_000, 'insert-0 and insert-1 delivered');
      const sent = sink.requests.map(idsOf);
      assert.equal(sent.flat().filter((id) => id === 'insert-2').length, 1, `the invalid event is never sent again: ${JSON.stringify(sent)}`);
      const throttledAt = answered.indexOf(429);
      assert.ok(throttledAt >= 0, `insert-1 was throttled once: ${JSON.stringify(sent)}`);
      const acceptedLater = sent.filter((_, index) => index > throttledAt && answered[index] === 200).flat();
      assert.ok(acceptedLater.includes('insert-1'), `the throttled event was sent again after the 429 and accepted: ${JSON.stringify(sent)}`);
      assert.ok(sent.filter((_, index) => answered[index] === 200).flat().includes('insert-0'), 'the event refused with the request was accepted in the end');
      assert.equal((await jetstreamManager(nats.connection).then((jsm) => jsm.streams.info(deadStream))).state.messages, 1, 'only the invalid event is dead');
    });
  });
});
