// The daemon checks each rendered request against the destination's contract before sending: a GA4
// folder whose template sends the event name as it comes dead-letters the event GA4 would drop in
// silence (contract_violation, with the pointer and the schema path), and sends the others; in a
// batch, only the events that break the contract are dead-lettered, the rest of it is sent. Real
// nats-server, a real node:http sink on 127.0.0.1, the shipped GA4 folder with its template changed.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { startTestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testEvent } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const SECRET = 'ga4-secret-not-for-letters';

before(() => {
  process.env.CONTRACT_GA4_SECRET = SECRET;
});

/** The shipped GA4 folder, its template sending the event type as it comes (GA4 drops names with spaces), `batch` changed by `batch`. */
function brokenGa4(root: string, endpoint: string, batch?: Record<string, unknown>): void {
  const dir = join(root, 'ga4');
  cpSync(join(PACKAGE_ROOT, 'destinations', 'ga4'), dir, { recursive: true });
  rmSync(join(dir, 'examples'), { recursive: true });
  const body = readFileSync(join(dir, 'body.njk'), 'utf8');
  writeFileSync(join(dir, 'body.njk'), body.replace('{{ (name or "event") | json }}', '{{ item.input.event_type | json }}'));
  if (batch) {
    const definition = JSON.parse(readFileSync(join(dir, 'destination.json'), 'utf8')) as { batch: Record<string, unknown> };
    writeFileSync(join(dir, 'destination.json'), JSON.stringify({ ...definition, batch: { ...definition.batch, ...batch } }));
  }
  writeFileSync(
    join(dir, 'syncs', 'default.json'),
    JSON.stringify({
      parameters: { endpoint, measurement_id: 'G-TEST1', api_secret: { env: 'CONTRACT_GA4_SECRET' } },
      selectedProperties: [{ scope: 'event', property: 'price' }],
      fieldMappings: { client_id: { scope: 'field', property: 'user_id' } },
    }),
  );
}

describe('daemon contract', () => {
  it('dead-letters only the events of a batch that break the contract, each with its own request and pointer, and sends the rest of the batch', async () => {
    const batches: Array<Array<{ name: string }>> = [];
    const sink = await startTestSink((request) => {
      batches.push((JSON.parse(request.body) as { events: Array<{ name: string }> }).events);
      return { status: 204 };
    });
    const folder = makeDestinationsDir();
    // Three events a request, sent only when full: each batch below is exactly the three published together.
    brokenGa4(folder.dir, sink.url, { maxEvents: 3, maxWaitMs: 60_000 });
    const { subject, ...stream } = nats.streams('contractbatch');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const names = [
      'add_to_cart', 'Add to Cart', 'purchase', // one breaks it: two sent together
      'Bad One', 'Bad Two', 'Bad Three', // all break it: nothing sent, the sync goes on
      'view_item', 'sign_up', 'login',
    ];
    try {
      for (const [index, event_type] of names.entries()) await nats.js.publish(subject, JSON.stringify(testEvent(index, { user_id: 'u1', event_type })));
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 4);
      await waitUntil(nats.connection, () => batches.length === 2, 10_000, 'two requests');
      assert.deepEqual(batches.map((events) => events.map((event) => event.name)), [['add_to_cart', 'purchase'], ['view_item', 'sign_up', 'login']]);
      const jsm = await jetstreamManager(nats.connection);
      const letters: DeadLetter[] = [];
      for (let seq = 1; seq <= 4; seq++) letters.push((await jsm.streams.getMessage(stream.deadLetterStream, { seq }))!.json<DeadLetter>());
      letters.sort((a, b) => a.insertId!.localeCompare(b.insertId!));
      assert.deepEqual(letters.map((letter) => [letter.insertId, letter.reason]), [
        ['insert-1', 'contract_violation'],
        ['insert-3', 'contract_violation'],
        ['insert-4', 'contract_violation'],
        ['insert-5', 'contract_violation'],
      ]);
      const [first] = letters;
      assert.deepEqual(first.detail, { contract: 'contract.schema.json', part: 'body', pointer: '/events/0/name', schemaPath: '#/definitions/name/pattern' });
      assert.match(first.message ?? '', /body \/events\/0\/name must match pattern .*\(event 1 of a batch of 3, checked alone; the others go on without it\)/);
      // Its own request: the event alone, not the batch it came in.
      const sent = JSON.parse(first.request?.body ?? '{}') as { events: Array<{ name: string }> };
      assert.deepEqual(sent.events.map((event) => event.name), ['Add to Cart']);
      assert.ok(!JSON.stringify(letters).includes(SECRET), 'the dead letters hold no secret');
      // Every message reached its final state: nothing left pending on the consumer.
      await waitUntil(nats.connection, async () => {
        const consumers = await jsm.consumers.list(stream.name).next();
        return consumers.every((consumer) => consumer.num_ack_pending === 0 && consumer.num_pending === 0);
      }, 10_000, 'every message settled');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('dead-letters a request that breaks the contract as contract_violation with pointer and schema path, and never sends it', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    const dir = join(folder.dir, 'ga4');
    cpSync(join(PACKAGE_ROOT, 'destinations', 'ga4'), dir, { recursive: true });
    rmSync(join(dir, 'examples'), { recursive: true });
    const body = readFileSync(join(dir, 'body.njk'), 'utf8');
    writeFileSync(join(dir, 'body.njk'), body.replace('{{ (name or "event") | json }}', '{{ item.input.event_type | json }}'));
    writeFileSync(
      join(dir, 'syncs', 'default.json'),
      JSON.stringify({
        parameters: { endpoint: sink.url, measurement_id: 'G-TEST1', api_secret: { env: 'CONTRACT_GA4_SECRET' } },
        selectedProperties: [{ scope: 'event', property: 'price' }],
        fieldMappings: { client_id: { scope: 'field', property: 'user_id' } },
      }),
    );
    const { subject, ...stream } = nats.streams('contract');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(1, { event_type: 'Add to Cart' })));
      await nats.js.publish(subject, JSON.stringify(testEvent(2, { event_type: 'add_to_cart' })));
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      await sink.waitForRequests(1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(stream.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.reason, 'contract_violation');
      assert.equal(letter.insertId, 'insert-1');
      assert.equal(letter.attempts, 1);
      assert.deepEqual(letter.detail, { contract: 'contract.schema.json', part: 'body', pointer: '/events/0/name', schemaPath: '#/definitions/name/pattern' });
      assert.match(letter.message ?? '', /body \/events\/0\/name must match pattern/);
      assert.match(letter.request?.body ?? '', /"name": "Add to Cart"/, 'the letter keeps the request it did not send');
      assert.ok(!JSON.stringify(letter).includes(SECRET), 'the dead letter holds no secret');
      // The second event went; the first never did.
      assert.equal(sink.requests.length, 1);
      assert.match(sink.requests[0].body, /"name": "add_to_cart"/);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
