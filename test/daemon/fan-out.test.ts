// Several syncs on one stream share each event's decode (daemon/events/shared-decodes.ts): every
// sync still delivers what its own selection, mapping, filter and size limit make of the event, an
// invalid event is dead-lettered once per sync, and the sharing follows a reload.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { renderMetrics } from '../../daemon/telemetry/index.js';
import { parsePrometheus } from '../admin/prometheus-text.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const BODY = `{
  "insert_id": {{ input.insert_id | json }},
  "properties": {{ mappedProperties | json }},
  "who": {{ mappedFields.who | json }}
}
`;
/** Small enough that the padded event below is over it; the other destination keeps the daemon's 1 MiB. */
const SMALL_MAX_EVENT_BYTES = 1_024;

interface Sent {
  insert_id: string;
  properties: Record<string, unknown>;
  who: unknown;
}

const nats = useNatsServer();

describe('daemon - fan-out decodes each event once', () => {
  const { subject, ...stream } = nats.streams('fanout');
  let sink: TestSink;
  let daemon: TestDaemon;
  let folder: ReturnType<typeof makeDestinationsDir>;
  const syncOf = (name: string, extra: Record<string, unknown>) => ({ parameters: { endpoint: `${sink.url}/${name}`, token: { env: 'FANOUT_SINK_TOKEN' } }, ...extra });
  const sent = (name: string): Sent[] => sink.requests.filter((request) => request.url === `/${name}/track`).map((request) => JSON.parse(request.body) as Sent);
  const byInsertId = (name: string) => new Map(sent(name).map((body) => [body.insert_id, body]));

  before(async () => {
    process.env.FANOUT_SINK_TOKEN = 'tok-fanout';
    sink = await startTestSink();
    folder = makeDestinationsDir();
    const definition = (limits?: Record<string, unknown>) => testDefinition({ userPropertyMappings: [{ name: 'who' }], ...(limits && { limits }) });
    writeDestinationFolder(folder.dir, 'wide', {
      definition: definition(),
      body: BODY,
      syncs: {
        // Same destination, different choices: one shared decode must give each its own context.
        a: syncOf('a', { selectedProperties: [{ scope: 'event', property: 'item' }], fieldMappings: { who: { scope: 'field', property: 'user_id' } } }),
        b: syncOf('b', {
          selectedProperties: [{ scope: 'event', property: 'price', as: 'cost' }],
          fieldMappings: { who: { scope: 'event', property: 'item' } },
          filter: { conditions: [{ scope: 'event', property: 'price', op: 'less', value: 100 }] },
        }),
      },
    });
    writeDestinationFolder(folder.dir, 'small', {
      definition: definition({ maxEventBytes: SMALL_MAX_EVENT_BYTES }),
      body: BODY,
      syncs: { only: syncOf('small', { selectedProperties: [{ scope: 'event', property: 'price' }], fieldMappings: { who: { scope: 'field', property: 'insert_id' } } }) },
    });
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, logLevel: 'warn' }));
  });

  after(async () => {
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

  it('delivers what each sync makes of one shared decode, dead-letters an invalid event once per sync, and checks each size limit', async () => {
    const counts = daemon.daemon.decodeCounts;
    assert.deepEqual(counts, { hits: 0, misses: 0 });
    const jsm = await jetstreamManager(nats.connection);
    // The large event first and last, so whichever sync decodes it first, the small sync checks its own limit.
    const large = (n: number) => testEvent(n, { event_properties: { price: 5, item: `large ${n}`, pad: 'p'.repeat(2 * SMALL_MAX_EVENT_BYTES) } });
    const messages = [large(1), ...Array.from({ length: 20 }, (_, i) => testEvent(100 + i, { event_properties: { price: i * 10, item: `item ${i}` } })), { event_type: 'nobody', insert_id: 'invalid-1' }, large(2)];
    for (const message of messages) await nats.js.publish(subject, JSON.stringify(message));

    const letters = await readDeadLetters(stream.deadLetterStream, 5);
    await waitUntil(nats.connection, () => sent('a').length === 22 && sent('b').length === 12 && sent('small').length === 20, 20_000, 'every sync delivered its events');

    // wide.a: every valid event, the large ones too, with its selection and mapping.
    const aOf = byInsertId('a');
    for (const event of messages.filter((candidate) => candidate.user_id !== undefined)) {
      const properties = event.event_properties as { item: string; price: number };
      assert.deepEqual(aOf.get(event.insert_id as string), { insert_id: event.insert_id, properties: { item: properties.item }, who: event.user_id });
    }
    // wide.b: its filter (price < 100) and its own selection (price as cost) and mapping (who from item).
    for (const body of sent('b')) {
      const event = messages.find((candidate) => candidate.insert_id === body.insert_id)!;
      const properties = event.event_properties as { item: string; price: number };
      assert.ok(properties.price < 100, `${body.insert_id} passes b's filter`);
      assert.deepEqual(body, { insert_id: event.insert_id, properties: { cost: properties.price }, who: properties.item });
    }
    // small.only: the large events are over its limit (not over the others'), the rest delivered as it maps them.
    assert.deepEqual(sent('small').map((body) => body.insert_id).sort(), messages.slice(1, 21).map((event) => event.insert_id as string).sort());
    for (const body of sent('small')) assert.equal(body.who, body.insert_id);

    // Dead letters: the invalid event once per sync with its reason; the large ones once each, only for small.
    const invalid = letters.filter((letter) => letter.reason === 'invalid_event');
    assert.deepEqual(invalid.map((letter) => letter.sync).sort(), ['small.only', 'wide.a', 'wide.b']);
    for (const letter of invalid) assert.match(letter.message ?? '', /user_id or a device_id/);
    const tooLarge = letters.filter((letter) => letter.reason === 'event_too_large');
    assert.deepEqual(tooLarge.map((letter) => letter.sync), ['small.only', 'small.only']);
    assert.equal((await jsm.streams.info(stream.deadLetterStream)).state.messages, 5, 'no second letter');

    // Each message decoded once; the small sync never looks the large ones up.
    assert.deepEqual(counts, { misses: messages.length, hits: 3 * messages.length - messages.length - 2 });
    const metrics = parsePrometheus(renderMetrics(daemon.daemon.view(), new Map(), Date.now()));
    assert.equal(metrics.value('destinations_shared_decodes_total', { result: 'miss' }), counts.misses);
    assert.equal(metrics.value('destinations_shared_decodes_total', { result: 'hit' }), counts.hits);
  });

  it('shares with the syncs a reload starts, and stops sharing when one sync is left', async () => {
    const counts = daemon.daemon.decodeCounts;
    writeFileSync(join(folder.dir, 'wide', 'syncs', 'c.json'), JSON.stringify(syncOf('c', { fieldMappings: { who: { scope: 'field', property: 'event_type' } } })));
    const added = await daemon.daemon.reload();
    assert.deepEqual(added.started, ['wide.c']);
    const before = { ...counts };
    await nats.js.publish(subject, JSON.stringify(testEvent(500, { event_properties: { price: 1, item: 'cheap' } })));
    await waitUntil(nats.connection, () => ['a', 'b', 'c', 'small'].every((name) => byInsertId(name).has('insert-500')), 10_000, 'the four syncs delivered it');
    assert.deepEqual(byInsertId('c').get('insert-500'), { insert_id: 'insert-500', properties: {}, who: 'purchase' });
    assert.deepEqual(counts, { misses: before.misses + 1, hits: before.hits + 3 }, 'decoded once for four syncs');

    for (const name of ['a', 'b', 'c']) rmSync(join(folder.dir, 'wide', 'syncs', `${name}.json`));
    const removed = await daemon.daemon.reload();
    assert.deepEqual(removed.stopped.sort(), ['wide.a', 'wide.b', 'wide.c']);
    const alone = { ...counts };
    await nats.js.publish(subject, JSON.stringify(testEvent(501)));
    await waitUntil(nats.connection, () => byInsertId('small').has('insert-501'), 10_000, 'the last sync delivered it');
    assert.deepEqual(counts, alone, 'one sync alone has no shared decodes');
  });

  async function readDeadLetters(deadStream: string, count: number): Promise<DeadLetter[]> {
    await waitForStreamCount(nats.connection, deadStream, count, 20_000);
    const jsm = await jetstreamManager(nats.connection);
    const info = await jsm.streams.info(deadStream);
    const letters: DeadLetter[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) letters.push((await jsm.streams.getMessage(deadStream, { seq }))!.json<DeadLetter>());
    return letters;
  }
});
