// The hostile event corpus (test/fixtures/hostile-events) through a real daemon and nats-server:
// every message reaches one final state, once per sync, and a good event behind them is delivered.
// Two syncs read the stream, so the second takes each decode from the first (shared-decodes.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const CORPUS_DIR = join(PACKAGE_ROOT, 'test', 'fixtures', 'hostile-events');

interface CorpusEntry {
  name: string;
  why: string;
  expect: 'delivered' | 'filtered' | 'dead';
  generate?: { bytes?: number; byte?: number; event?: Record<string, unknown>; padTo?: number };
  reason?: string;
  lastStatus?: number;
  truncated?: boolean;
  bodyIncludes?: string[];
}

const SYNCS = ['main', 'twin'] as const;
const corpus = JSON.parse(readFileSync(join(CORPUS_DIR, 'corpus.json'), 'utf8')) as CorpusEntry[];

function messageOf(entry: CorpusEntry): Buffer {
  const spec = entry.generate;
  if (!spec) return readFileSync(join(CORPUS_DIR, entry.name));
  if (spec.bytes !== undefined) return Buffer.alloc(spec.bytes, spec.byte ?? 0);
  const shell = Buffer.byteLength(JSON.stringify({ ...spec.event, pad: '' }));
  return Buffer.from(JSON.stringify({ ...spec.event, pad: 'p'.repeat(spec.padTo! - shell) }));
}

const nats = useNatsServer();

describe('daemon - hostile events', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let folder: ReturnType<typeof makeDestinationsDir>;
  const { subject, ...stream } = nats.streams('hostile');

  before(async () => {
    process.env.HOSTILE_SINK_TOKEN = 'tok-hostile';
    sink = await startTestSink((request) => (request.body.includes('"insert_id": "reject-') ? { status: 400, body: 'r'.repeat(16_384) } : answer.ok()));
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'hostile', {
      definition: testDefinition(),
      syncs: Object.fromEntries(
        SYNCS.map((name) => [
          name,
          {
            parameters: { endpoint: `${sink.url}/${name}`, token: { env: 'HOSTILE_SINK_TOKEN' } },
            selectedProperties: [
              { scope: 'event', property: 'id' },
              { scope: 'event', property: 'neg' },
              { scope: 'event', property: 'amount' },
            ],
            filter: {
              conditions: [
                { scope: 'field', property: 'constructor', op: 'not_set' },
                { scope: 'event', property: 'amount', op: 'less_or_equal', value: 100 },
              ],
            },
          },
        ]),
      ),
    });
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  });

  after(async () => {
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

  it('brings every message of the corpus to one final state in each sync, and delivers a good event behind them', async () => {
    const sequences = new Map<number, CorpusEntry>();
    for (const entry of corpus) sequences.set((await nats.js.publish(subject, messageOf(entry))).seq, entry);
    const good = { event_type: 'good', user_id: 'u-good', insert_id: 'ok-good-after', event_properties: { amount: 1 } };
    await nats.js.publish(subject, JSON.stringify(good));

    const delivered = corpus.filter((entry) => entry.expect === 'delivered');
    const dead = corpus.filter((entry) => entry.expect === 'dead');
    const filtered = corpus.filter((entry) => entry.expect === 'filtered');
    const rejected = dead.filter((entry) => entry.lastStatus !== undefined);
    // Per sync: delivered ones, the good one, and the ones the destination rejects each make one request.
    await sink.waitForRequests(SYNCS.length * (delivered.length + 1 + rejected.length), 20_000);
    await waitForStreamCount(nats.connection, stream.deadLetterStream, SYNCS.length * dead.length, 20_000);
    const jsm = await jetstreamManager(nats.connection);
    await waitUntil(
      nats.connection,
      async () => {
        const infos = await Promise.all(SYNCS.map((name) => jsm.consumers.info(stream.name, `hostile__${name}`)));
        return infos.every((info) => info.num_pending === 0 && info.num_ack_pending === 0);
      },
      20_000,
      'every message acknowledged or terminated',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype polluted');
    const insertIdOf = (body: string) => (JSON.parse(body) as { insert_id: string }).insert_id;
    const letters: DeadLetter[] = [];
    const info = await jsm.streams.info(stream.deadLetterStream);
    assert.equal(info.state.messages, SYNCS.length * dead.length, 'one dead letter per dead message and sync, no more');
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) letters.push((await jsm.streams.getMessage(stream.deadLetterStream, { seq }))!.json<DeadLetter>());

    for (const name of SYNCS) {
      // Delivered: each exactly once, digits and escapes intact.
      const bodies = sink.requests.filter((request) => request.url === `/${name}/track`).map((request) => request.body);
      const deliveredIds = bodies.map(insertIdOf).filter((id) => id.startsWith('ok-'));
      assert.equal(deliveredIds.length, delivered.length + 1, `${name} delivered: ${deliveredIds.join(', ')}`);
      assert.equal(new Set(deliveredIds).size, deliveredIds.length, `${name}: each delivered once`);
      for (const entry of delivered) for (const text of entry.bodyIncludes ?? []) assert.ok(bodies.some((body) => body.includes(text)), `${name}, ${entry.name}: body keeps ${text}`);
      assert.ok(bodies.every((body) => !/[\u0000-\u001f\u2028\u2029]/.test(body.replace(/\n/g, ''))), 'control characters are escaped in the JSON body');

      // Filtered: counted, never sent.
      const stats = daemon.daemon.runners.get(`hostile.${name}`)!.stats;
      assert.equal(stats.filtered, filtered.length, name);
      assert.ok(bodies.every((body) => !insertIdOf(body).startsWith('filtered-')));

      // Dead: one letter each (no second letter from a redelivery), with its reason, fitting max_payload.
      const bySource = new Map(letters.filter((letter) => letter.sync === `hostile.${name}`).map((letter) => [letter.source.sequence, letter]));
      for (const [seq, entry] of sequences) {
        if (entry.expect !== 'dead') {
          assert.equal(bySource.has(seq), false, `${name}: ${entry.name} not dead-lettered`);
          continue;
        }
        const letter = bySource.get(seq);
        assert.ok(letter, `${name}: ${entry.name} dead-lettered (${entry.why})`);
        if (entry.reason) assert.equal(letter.reason, entry.reason, entry.name);
        if (entry.lastStatus) assert.equal(letter.lastStatus, entry.lastStatus, entry.name);
        assert.equal(letter.truncated !== undefined, entry.truncated === true, `${entry.name} truncated: ${entry.truncated === true}`);
      }
      assert.equal(stats.deadLetterFailures, 0, 'every dead letter written at the first try');
    }
    assert.ok(daemon.daemon.decodeCounts.hits > 0, 'the second sync took decodes from the first');
    assert.ok(!daemon.logs.some((line) => /cannot write dead letter/.test(String(line.msg))));
  });
});
