// What each outcome of a delivery does to its messages: which of ack, nak (with what delay), term
// and dead letter. The messages are recording stand-ins for JsMsg; the dead letters go to a real
// DEAD stream on a real nats-server and are read back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../../daemon/config/index.js';
import { Outcomes, type DeliveryItem, type SettledDelivery } from '../../daemon/consumer/index.js';
import { resolveRetryPolicy, type DeliveryRules } from '../../daemon/delivery/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { loadDestinations, type LoadedSync } from '../../daemon/registry/index.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { SyncStats } from '../../daemon/telemetry/index.js';
import { testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { useNatsServer } from '../helpers/nats-server.js';

type Call = ['ack'] | ['nak', number | undefined] | ['term'] | ['working'];

/** A JsMsg stand-in that records what is done to it. */
class RecordingMsg {
  readonly calls: Call[] = [];
  readonly subject = 'evt.test';
  readonly headers = undefined;
  readonly data: Uint8Array;
  readonly time = new Date(1_700_000_000_000);
  readonly info: { stream: string; streamSequence: number; deliveryCount: number; timestampNanos: number };
  constructor(readonly event: Record<string, unknown>, sequence: number, deliveryCount = 1) {
    this.data = Buffer.from(JSON.stringify(event));
    this.info = { stream: 'EVT', streamSequence: sequence, deliveryCount, timestampNanos: Date.now() * 1e6 };
  }
  ack(): void {
    this.calls.push(['ack']);
  }
  nak(delay?: number): void {
    this.calls.push(['nak', delay]);
  }
  term(): void {
    this.calls.push(['term']);
  }
  working(): void {
    this.calls.push(['working']);
  }
}

const rules: DeliveryRules = {
  policy: resolveRetryPolicy({ maxAttempts: 3, initialDelayMs: 60_000, multiplier: 2, jitter: 0 }),
  maxInProcessWaitMs: 5_000,
  maxInProcessRetries: 3,
};

describe('consumer outcomes', () => {
  const nats = useNatsServer();
  const folders = makeDestinationsDir();
  let settings: DaemonSettings;
  let jsm: JetStreamManager;
  let single: LoadedSync;
  let batched: LoadedSync;

  before(async () => {
    process.env.OUTCOMES_TOKEN = 'T0KEN-one';
    writeDestinationFolder(folders.dir, 'one', { syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'OUTCOMES_TOKEN' } } } } });
    writeDestinationFolder(folders.dir, 'many', {
      definition: testDefinition({ batch: { maxEvents: 10 }, request: { ...(testDefinition().request as object), multiStatus: { failedItemsPath: 'errors' } } }),
      body: TEST_BATCH_BODY,
      syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'OUTCOMES_TOKEN' } } } },
    });
    const loaded = await loadDestinations(folders.dir, { resolveSecrets: true });
    assert.deepEqual(loaded.problems.filter((problem) => problem.severity === 'error'), []);
    single = loaded.destinations.find((destination) => destination.slug === 'one')!.syncs[0];
    batched = loaded.destinations.find((destination) => destination.slug === 'many')!.syncs[0];
    const { subject: _subject, ...stream } = nats.streams('outc');
    settings = testSettings(nats.url, folders.dir, { stream });
    jsm = await jetstreamManager(nats.connection);
    await ensureStreams(jsm, settings.stream, createLogger({ level: 'error', write: () => {} }));
  });
  after(() => folders.remove());

  let sequence = 0;
  function setUp(sync: LoadedSync, overrides: Partial<DaemonSettings> = {}) {
    const hand = { letGo: [] as number[], requestsEnded: 0 };
    const stats = new SyncStats();
    const outcomes = new Outcomes(sync, {
      js: nats.js,
      settings: { ...settings, ...overrides },
      stats,
      log: createLogger({ level: 'error', write: () => {} }),
      rules,
      hand: { letGo: (msgs) => hand.letGo.push(...msgs.map((msg) => msg.info.streamSequence)), requestEnded: () => (hand.requestsEnded += 1) },
    });
    const message = (deliveryCount = 1) => new RecordingMsg(testEvent(++sequence), sequence, deliveryCount);
    const itemOf = (msg: RecordingMsg): DeliveryItem => ({ msg: msg as unknown as JsMsg, context: buildEventContext(msg.event as never, sync.selection), bytes: msg.data.length });
    const delivery = (msgs: RecordingMsg[], fields: Partial<SettledDelivery>): SettledDelivery => ({
      items: msgs.map(itemOf),
      kind: 'track',
      outcome: undefined,
      request: { method: 'POST', url: 'http://127.0.0.1:9/track', headers: { authorization: `Bearer ${sync.parameters.secretValues[0]}` }, body: '{}' },
      lastResponse: undefined,
      attempt: 1,
      requests: 1,
      ...fields,
    });
    return { outcomes, stats, hand, message, delivery };
  }

  async function deadLettersOf(sync: LoadedSync, count: number): Promise<Array<Record<string, unknown>>> {
    const info = await jsm.streams.info(settings.stream.deadLetterStream);
    const letters = [];
    for (let seq = info.state.last_seq - count + 1; seq <= info.state.last_seq; seq += 1) {
      const stored = await jsm.streams.getMessage(settings.stream.deadLetterStream, { seq });
      assert.equal(stored!.subject, `${settings.stream.deadLetterSubjectPrefix}.${sync.destination.slug}.${sync.name}`);
      letters.push(stored!.json<Record<string, unknown>>());
    }
    return letters;
  }

  it('acks a delivered message once, at the end of the event-loop turn, and frees its request', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(single);
    const msg = message();
    await outcomes.settle(delivery([msg], { outcome: 'delivered', status: 200 }));
    assert.deepEqual(msg.calls, [], 'not yet: acks go together once per turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(msg.calls, [['ack']]);
    assert.deepEqual(hand, { letGo: [msg.info.streamSequence], requestsEnded: 1 });
    assert.equal(stats.deliveredFirstAttempt, 1);
  });

  it('counts a delivery after an in-process retry as delivered after retry', async () => {
    const { outcomes, stats, message, delivery } = setUp(single);
    await outcomes.settle(delivery([message()], { outcome: 'delivered', status: 200, attempt: 2, requests: 2 }));
    outcomes.flushAcks();
    assert.equal(stats.deliveredAfterRetry, 1);
    assert.equal(stats.deliveredFirstAttempt, 0);
  });

  it('naks a deferred message with its delay, and its next delivery counts on from the attempts used in process', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(single);
    const msg = message(1);
    assert.equal(outcomes.attemptOf(msg as unknown as JsMsg), 1);
    await outcomes.settle(delivery([msg], { outcome: 'deferred', status: 503, attempt: 3, requests: 3, delayMs: 240_000 }));
    assert.deepEqual(msg.calls, [['nak', 240_000]]);
    assert.deepEqual(hand, { letGo: [msg.info.streamSequence], requestsEnded: 1 });
    assert.equal(stats.deferred, 1);
    // JetStream redelivers it as its 2nd delivery; it was attempt 3 here, so the next is attempt 4.
    msg.info.deliveryCount = 2;
    assert.equal(outcomes.attemptOf(msg as unknown as JsMsg), 4);
  });

  it('naks a released message at once, with no delay', async () => {
    const { outcomes, message, delivery, hand } = setUp(single);
    const msgs = [message(), message()];
    await outcomes.settle(delivery(msgs, { outcome: 'released' }));
    assert.deepEqual(msgs.map((msg) => msg.calls), [[['nak', undefined]], [['nak', undefined]]]);
    assert.equal(hand.requestsEnded, 1);
  });

  it('dead-letters a dead message with its reason and redacted request, then terminates it', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(single);
    const msg = message();
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx', message: 'bad request', lastResponse: { status: 400, bodyExcerpt: 'no such field' } }));
    assert.deepEqual(msg.calls, [['term']]);
    assert.deepEqual(hand, { letGo: [msg.info.streamSequence], requestsEnded: 1 });
    assert.equal(stats.discarded.get('http_4xx'), 1);
    const [letter] = await deadLettersOf(single, 1);
    assert.equal(letter.reason, 'http_4xx');
    assert.equal(letter.responseExcerpt, 'no such field');
    assert.doesNotMatch(JSON.stringify(letter), /T0KEN-one/, 'the secret is not in the dead letter');
  });

  it('dead-letters a message out of attempts as retries_exhausted and counts it expired', async () => {
    const { outcomes, stats, message, delivery } = setUp(single);
    const msg = message(3);
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 503, reason: 'retries_exhausted', attempt: 3 }));
    assert.deepEqual(msg.calls, [['term']]);
    assert.equal(stats.expired, 1);
    assert.equal((await deadLettersOf(single, 1))[0].reason, 'retries_exhausted');
  });

  it('settles each item of a multi-status batch on its own: delivered acked, retryable nak\'ed on the schedule, permanent dead-lettered', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(batched);
    const [ok, busy, bad] = [message(), message(), message()];
    const body = JSON.stringify({ errors: [{ index: 1, status: 429 }, { index: 2, status: 400 }] });
    await outcomes.settle(delivery([ok, busy, bad], { outcome: 'delivered', status: 200, lastResponse: { status: 200, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(ok.calls, [['ack']]);
    assert.deepEqual(busy.calls, [['nak', 60_000]], 'the schedule\'s first wait, never in process for an item');
    assert.deepEqual(bad.calls, [['term']]);
    assert.equal(hand.requestsEnded, 1, 'one request, ended once');
    assert.deepEqual(hand.letGo.sort(), [ok, busy, bad].map((msg) => msg.info.streamSequence).sort());
    assert.equal(stats.deliveredFirstAttempt, 1);
    assert.equal(stats.deferred, 1);
    assert.equal(stats.discarded.get('http_4xx'), 1);
    const [letter] = await deadLettersOf(batched, 1);
    assert.match(String(letter.message), /item 2 of the batch failed with status 400/);
  });

  it('dead-letters a retryable item of a batch whose attempts are used up, as retries_exhausted', async () => {
    const { outcomes, stats, message, delivery } = setUp(batched);
    const [ok, busy] = [message(3), message(3)];
    const body = JSON.stringify({ errors: [{ index: 1, status: 503 }] });
    await outcomes.settle(delivery([ok, busy], { outcome: 'delivered', status: 200, attempt: 3, lastResponse: { status: 200, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(ok.calls, [['ack']]);
    assert.deepEqual(busy.calls, [['term']]);
    assert.equal(stats.expired, 1);
    assert.equal((await deadLettersOf(batched, 1))[0].reason, 'retries_exhausted');
  });

  it('acks a message left out on purpose, and dead-letters one refused before any request', async () => {
    const { outcomes, stats, message } = setUp(single);
    const skipped = message();
    outcomes.skip(skipped as unknown as JsMsg);
    assert.deepEqual(skipped.calls, [['ack']]);
    const refused = message();
    await outcomes.refuse(refused as unknown as JsMsg, { reason: 'invalid_event', message: 'event_type is missing', attempts: 1 });
    assert.deepEqual(refused.calls, [['term']]);
    assert.equal(stats.discarded.get('invalid_event'), 1);
  });

  it('returns a message whose dead letter cannot be written on the retry schedule, counts and logs nothing as dead-lettered, and says so until a letter is written', async () => {
    // No stream holds this dead-letter subject yet: the publish is refused.
    const prefix = `later${Date.now()}`;
    const { outcomes, stats, message, delivery } = setUp(single, { stream: { ...settings.stream, deadLetterSubjectPrefix: prefix } });
    const msg = message(2);
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    assert.deepEqual(msg.calls, [['nak', 120_000]], 'the schedule\'s wait after a 2nd delivery (60 s, doubled), not 5 s forever');
    assert.equal(stats.deadLetterFailures, 1);
    assert.equal(stats.discarded.get('http_4xx'), undefined, 'not counted as dead-lettered');
    assert.ok(outcomes.deadLettersFailingSince instanceof Date, 'the outage is known (readiness reports it)');

    await jsm.streams.add({ name: `LATER${Date.now()}`, subjects: [`${prefix}.>`] });
    const next = message();
    await outcomes.settle(delivery([next], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    assert.deepEqual(next.calls, [['term']]);
    assert.equal(stats.discarded.get('http_4xx'), 1);
    assert.equal(outcomes.deadLettersFailingSince, undefined, 'over once a letter is written');
  });

  it('writes a dead letter once: a second try for the same message is deduplicated by the stream', async () => {
    const { outcomes, message, delivery } = setUp(single);
    const msg = message(1);
    const before = (await jsm.streams.info(settings.stream.deadLetterStream)).state.messages;
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    // The term was lost, say: JetStream redelivers the message and it dies again.
    msg.info.deliveryCount = 2;
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    assert.equal((await jsm.streams.info(settings.stream.deadLetterStream)).state.messages, before + 1);
  });

  it('returns every message of a failed machine, and of a message whose handling threw, after a short wait', async () => {
    const { outcomes, hand, message, delivery } = setUp(single);
    const msgs = [message(), message()];
    outcomes.failed(delivery(msgs, {}), new Error('a bug'));
    assert.deepEqual(msgs.map((msg) => msg.calls), [[['nak', 5_000]], [['nak', 5_000]]]);
    assert.equal(hand.requestsEnded, 1);
    const thrown = message();
    outcomes.returnAfterError(thrown as unknown as JsMsg, new Error('a bug'));
    assert.deepEqual(thrown.calls, [['nak', 5_000]]);
  });
});
