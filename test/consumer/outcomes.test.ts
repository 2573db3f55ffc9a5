// What each outcome of a delivery does to its messages: which of ack, nak (with what delay), term
// and dead letter. The messages are recording stand-ins for JsMsg; the dead letters go to a real
// DEAD stream on a real nats-server and are read back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { DaemonSettings } from '../../daemon/config/index.js';
import { Outcomes, type DeliveryItem, type OutcomesOptions, type SettledDelivery } from '../../daemon/consumer/index.js';
import { SUMMARY_INTERVAL_MS } from '../../daemon/consumer/periodic-summary.js';
import { readItemResults, resolveRetryPolicy, type DeliveryRules } from '../../daemon/delivery/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { loadDestinations, type LoadedSync } from '../../daemon/registry/index.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { SyncStats } from '../../daemon/telemetry/index.js';
import { testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { AMPLITUDE } from '../fixtures/item-results/vendor-answers.js';
import { RecordingMsg } from '../helpers/recording-msg.js';

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
  let resending: LoadedSync;

  before(async () => {
    process.env.OUTCOMES_TOKEN = 'T0KEN-one';
    writeDestinationFolder(folders.dir, 'one', { syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'OUTCOMES_TOKEN' } } } } });
    writeDestinationFolder(folders.dir, 'many', {
      definition: testDefinition({ batch: { maxEvents: 10 }, request: { ...(testDefinition().request as object), multiStatus: { failedItemsPath: 'errors' } } }),
      body: TEST_BATCH_BODY,
      syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'OUTCOMES_TOKEN' } } } },
    });
    writeDestinationFolder(folders.dir, 'resending', {
      definition: testDefinition({ batch: { maxEvents: 10 }, request: { ...(testDefinition().request as object), multiStatus: AMPLITUDE.multiStatus } }),
      body: TEST_BATCH_BODY,
      syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:9', token: { env: 'OUTCOMES_TOKEN' } } } },
    });
    const loaded = await loadDestinations(folders.dir, { resolveSecrets: true });
    assert.deepEqual(loaded.problems.filter((problem) => problem.severity === 'error'), []);
    single = loaded.destinations.find((destination) => destination.slug === 'one')!.syncs[0];
    batched = loaded.destinations.find((destination) => destination.slug === 'many')!.syncs[0];
    resending = loaded.destinations.find((destination) => destination.slug === 'resending')!.syncs[0];
    const { subject: _subject, ...stream } = nats.streams('outc');
    settings = testSettings(nats.url, folders.dir, { stream });
    jsm = await jetstreamManager(nats.connection);
    await ensureStreams(jsm, settings.stream, createLogger({ level: 'error', write: () => {} }));
  });
  after(() => folders.remove());

  let sequence = 0;
  function setUp(sync: LoadedSync, overrides: Partial<DaemonSettings> = {}, options: Partial<OutcomesOptions> = {}) {
    const hand = { letGo: [] as number[], requestsEnded: 0 };
    const stats = new SyncStats();
    const outcomes = new Outcomes(sync, {
      js: nats.js,
      settings: { ...settings, ...overrides },
      stats,
      log: createLogger({ level: 'error', write: () => {} }),
      ...options,
      rules,
      hand: { letGo: (msgs) => hand.letGo.push(...msgs.map((msg) => msg.info.streamSequence)), requestEnded: () => (hand.requestsEnded += 1) },
    });
    const message = (deliveryCount = 1) => new RecordingMsg(testEvent(++sequence), sequence, { deliveryCount });
    const itemOf = (msg: RecordingMsg): DeliveryItem => ({ msg: msg as unknown as JsMsg, context: buildEventContext(msg.event as never, sync.selection), bytes: msg.data.length });
    const delivery = (msgs: RecordingMsg[], fields: Partial<SettledDelivery>): SettledDelivery => {
      const items = msgs.map(itemOf);
      // What SyncDelivery reads from an answer, as it reads it: item by item on a status the destination declared.
      const spec = sync.destination.definition.request.multiStatus;
      const answer = fields.lastResponse;
      const itemResults = spec && answer ? readItemResults(spec, { status: answer.status, headers: {}, body: answer.bodyExcerpt }, items.map((item) => item.context)) : undefined;
      return {
        items,
        kind: 'track',
        outcome: undefined,
        request: { method: 'POST', url: 'http://127.0.0.1:9/track', headers: { authorization: `Bearer ${sync.parameters.secretValues[0]}` }, body: '{}' },
        lastResponse: undefined,
        itemResults,
        attempt: 1,
        requests: 1,
        ...fields,
      };
    };
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
    assert.deepEqual(msg.acts, [], 'not yet: acks go together once per turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(msg.acts, [['ack']]);
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
    assert.deepEqual(msg.acts, [['nak', 240_000]]);
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
    assert.deepEqual(msgs.map((msg) => msg.acts), [[['nak', undefined]], [['nak', undefined]]]);
    assert.equal(hand.requestsEnded, 1);
  });

  it('dead-letters a dead message with its reason and redacted request, then terminates it', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(single);
    const msg = message();
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx', message: 'bad request', lastResponse: { status: 400, bodyExcerpt: 'no such field' } }));
    assert.deepEqual(msg.acts, [['term']]);
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
    assert.deepEqual(msg.acts, [['term']]);
    assert.equal(stats.expired, 1);
    assert.equal((await deadLettersOf(single, 1))[0].reason, 'retries_exhausted');
  });

  it('settles each item of a multi-status batch on its own: delivered acked, retryable nak\'ed on the schedule, permanent dead-lettered', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(batched);
    const [ok, busy, bad] = [message(), message(), message()];
    const body = JSON.stringify({ errors: [{ index: 1, status: 429 }, { index: 2, status: 400 }] });
    await outcomes.settle(delivery([ok, busy, bad], { outcome: 'delivered', status: 200, lastResponse: { status: 200, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(ok.acts, [['ack']]);
    assert.deepEqual(busy.acts, [['nak', 60_000]], 'the schedule\'s first wait, never in process for an item');
    assert.deepEqual(bad.acts, [['term']]);
    assert.equal(hand.requestsEnded, 1, 'one request, ended once');
    assert.deepEqual(hand.letGo.sort(), [ok, busy, bad].map((msg) => msg.info.streamSequence).sort());
    assert.equal(stats.deliveredFirstAttempt, 1);
    assert.equal(stats.deferred, 1);
    assert.equal(stats.discarded.get('http_4xx'), 1);
    const [letter] = await deadLettersOf(batched, 1);
    assert.match(String(letter.message), /item 2 of the batch failed with status 400/);
  });

  it('settles a 429 that names items: the throttled one alone on the schedule, the rest sent again at once costing no attempt', async () => {
    const { outcomes, stats, hand, message, delivery } = setUp(resending);
    const [first, throttled, last] = [message(), message(), message()];
    const body = JSON.stringify(AMPLITUDE.throttled(1, 'nobody'));
    await outcomes.settle(delivery([first, throttled, last], { outcome: 'delivered', status: 429, lastResponse: { status: 429, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(throttled.acts, [['nak', 60_000]], 'the schedule\'s first wait, an attempt spent');
    for (const msg of [first, last]) assert.deepEqual(msg.acts, [['nak', 0]], 'refused with the request: at once, never acked');
    const again = new RecordingMsg(first.event, first.info.streamSequence, { deliveryCount: 2 });
    assert.equal(outcomes.attemptOf(again as unknown as JsMsg), 1, 'its next delivery is the same attempt again');
    assert.equal(stats.deliveredFirstAttempt, 0);
    assert.equal(stats.deferred, 3);
    assert.equal(hand.requestsEnded, 1);
    assert.deepEqual(hand.letGo.sort(), [first, throttled, last].map((msg) => msg.info.streamSequence).sort());
  });

  it('settles a 400 that names an invalid event: it is dead-lettered with the destination\'s words, the rest sent again', async () => {
    const { outcomes, stats, message, delivery } = setUp(resending);
    const [good, bad] = [message(), message()];
    const body = JSON.stringify(AMPLITUDE.invalid(1));
    await outcomes.settle(delivery([good, bad], { outcome: 'delivered', status: 400, lastResponse: { status: 400, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(good.acts, [['nak', 0]]);
    assert.deepEqual(bad.acts, [['term']]);
    assert.equal(stats.discarded.get('http_4xx'), 1);
    const [letter] = await deadLettersOf(resending, 1);
    assert.match(String(letter.message), /item 1 of the batch failed with status 400: invalid field: time/);
  });

  it('dead-letters a retryable item of a batch whose attempts are used up, as retries_exhausted', async () => {
    const { outcomes, stats, message, delivery } = setUp(batched);
    const [ok, busy] = [message(3), message(3)];
    const body = JSON.stringify({ errors: [{ index: 1, status: 503 }] });
    await outcomes.settle(delivery([ok, busy], { outcome: 'delivered', status: 200, attempt: 3, lastResponse: { status: 200, bodyExcerpt: body } }));
    outcomes.flushAcks();
    assert.deepEqual(ok.acts, [['ack']]);
    assert.deepEqual(busy.acts, [['term']]);
    assert.equal(stats.expired, 1);
    assert.equal((await deadLettersOf(batched, 1))[0].reason, 'retries_exhausted');
  });

  it('acks a message left out on purpose, and dead-letters one refused before any request', async () => {
    const { outcomes, stats, message } = setUp(single);
    const skipped = message();
    outcomes.ackFiltered(skipped as unknown as JsMsg);
    assert.deepEqual(skipped.acts, [['ack']]);
    const refused = message();
    await outcomes.termDeadLettered(refused as unknown as JsMsg, { reason: 'invalid_event', message: 'event_type is missing', attempts: 1 });
    assert.deepEqual(refused.acts, [['term']]);
    assert.equal(stats.discarded.get('invalid_event'), 1);
  });

  it('returns a message whose dead letter cannot be written on the retry schedule, counts and logs nothing as dead-lettered, and says so until a letter is written', async () => {
    // No stream holds this dead-letter subject yet: the publish is refused.
    const prefix = `later${Date.now()}`;
    const { outcomes, stats, message, delivery } = setUp(single, { stream: { ...settings.stream, deadLetterSubjectPrefix: prefix } });
    const msg = message(2);
    await outcomes.settle(delivery([msg], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    assert.deepEqual(msg.acts, [['nak', 120_000]], 'the schedule\'s wait after a 2nd delivery (60 s, doubled), not 5 s forever');
    assert.equal(stats.deadLetterFailures, 1);
    assert.equal(stats.discarded.get('http_4xx'), undefined, 'not counted as dead-lettered');
    assert.ok(outcomes.deadLettersFailingSince instanceof Date, 'the outage is known (readiness reports it)');

    await jsm.streams.add({ name: `LATER${Date.now()}`, subjects: [`${prefix}.>`] });
    const next = message();
    await outcomes.settle(delivery([next], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    assert.deepEqual(next.acts, [['term']]);
    assert.equal(stats.discarded.get('http_4xx'), 1);
    assert.equal(outcomes.deadLettersFailingSince, undefined, 'over once a letter is written');
  });

  it('logs dead letters as one warning per interval with their counts by reason, each letter at debug', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
    const { outcomes, message, delivery } = setUp(single, {}, { log });
    for (let i = 0; i < 5; i++) await outcomes.settle(delivery([message()], { outcome: 'dead', status: 400, reason: 'http_4xx', message: 'HTTP 400' }));
    await outcomes.termDeadLettered(message() as unknown as JsMsg, { reason: 'invalid_event', message: 'not an event', attempts: 1 });
    assert.deepEqual(lines.filter((line) => line.level !== 'debug'), [], 'no line per dead letter above debug');
    assert.equal(lines.filter((line) => line.msg === 'dead-lettered').length, 6, 'each letter at debug');
    t.mock.timers.tick(SUMMARY_INTERVAL_MS);
    const summaries = lines.filter((line) => line.level !== 'debug');
    assert.deepEqual(
      summaries.map(({ level, msg, deadLetters }) => ({ level, msg, deadLetters })),
      [{ level: 'warn', msg: 'events dead-lettered', deadLetters: { http_4xx: 5, invalid_event: 1 } }],
    );
    assert.equal((summaries[0].last as Record<string, unknown>).reason, 'invalid_event', 'with the last letter for an example');
    t.mock.timers.tick(SUMMARY_INTERVAL_MS);
    assert.equal(lines.filter((line) => line.level !== 'debug').length, 1, 'a quiet interval writes nothing');
    await outcomes.settle(delivery([message()], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    outcomes.stopLogging();
    assert.deepEqual(lines.filter((line) => line.level !== 'debug').at(-1)?.deadLetters, { http_4xx: 1 }, 'what is counted is written on stop');
  });

  it('never acks, naks or terms a message taken from a consumer NATS has lost, and still writes its dead letter', async () => {
    const { outcomes, message, delivery } = setUp(single, {}, { stale: () => true });
    const [delivered, deferred, dead, skipped] = [message(), message(), message(), message()];
    await outcomes.settle(delivery([delivered], { outcome: 'delivered', status: 200 }));
    outcomes.flushAcks();
    await outcomes.settle(delivery([deferred], { outcome: 'deferred', status: 503, delayMs: 60_000 }));
    const before = (await jsm.streams.info(settings.stream.deadLetterStream)).state.messages;
    await outcomes.settle(delivery([dead], { outcome: 'dead', status: 400, reason: 'http_4xx' }));
    outcomes.ackFiltered(skipped as unknown as JsMsg);
    assert.deepEqual([delivered, deferred, dead, skipped].map((msg) => msg.acts), [[], [], [], []]);
    assert.equal((await jsm.streams.info(settings.stream.deadLetterStream)).state.messages, before + 1, 'the dead letter is written all the same');
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
    outcomes.nakSpentAfterMachineBug(delivery(msgs, {}), new Error('a bug'));
    assert.deepEqual(msgs.map((msg) => msg.acts), [[['nak', 5_000]], [['nak', 5_000]]]);
    assert.equal(hand.requestsEnded, 1);
    const thrown = message();
    outcomes.nakSpentAfterBug(thrown as unknown as JsMsg, new Error('a bug'));
    assert.deepEqual(thrown.acts, [['nak', 5_000]]);
  });
});
