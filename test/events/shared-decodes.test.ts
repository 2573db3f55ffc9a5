import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeEvent, SharedDecodes, type SharedDecodeCounts, type SharedDecodesOptions } from '../../daemon/events/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { loadDestinations, renderEventRequest } from '../../daemon/registry/index.js';
import { buildEventContext, type EventSelection } from '../../daemon/render/index.js';
import { testEvent } from '../helpers/destination-folder.js';

const MAX_BYTES = 1_048_576;
const bytesOf = (value: unknown) => Buffer.from(JSON.stringify(value));
const at = (streamSequence: number, timestampNanos = 1) => ({ streamSequence, timestampNanos });

function sharedDecodes(options: Partial<SharedDecodesOptions> = {}): { decodes: SharedDecodes; counts: SharedDecodeCounts } {
  const counts = { hits: 0, misses: 0 };
  return { decodes: new SharedDecodes({ readers: 2, maxEntries: 100, maxBytes: MAX_BYTES, counts, ...options }), counts };
}

describe('events shared decodes', () => {
  it('decodes a message once and gives the other syncs the same outcome, then lets it go', () => {
    const { decodes, counts } = sharedDecodes({ readers: 3 });
    const data = bytesOf(testEvent(1));
    const first = decodes.decode(data, MAX_BYTES, at(7));
    assert.deepEqual(first, decodeEvent(data, MAX_BYTES));
    assert.equal(decodes.decode(Buffer.from(data), MAX_BYTES, at(7)), first);
    assert.equal(decodes.decode(Buffer.from(data), MAX_BYTES, at(7)), first);
    assert.deepEqual(counts, { hits: 2, misses: 1 });
    assert.deepEqual(decodes.size, { entries: 0, bytes: 0 }, 'every sync took it: gone');
  });

  it('shares an invalid event with its reason', () => {
    const { decodes, counts } = sharedDecodes();
    const data = bytesOf({ event_type: 'nobody' });
    const first = decodes.decode(data, MAX_BYTES, at(1));
    assert.equal(first.ok, false);
    assert.equal(decodes.decode(data, MAX_BYTES, at(1)), first);
    assert.deepEqual(!first.ok && [first.reason, first.message], ['invalid_event', 'event needs a user_id or a device_id']);
    assert.deepEqual(counts, { hits: 1, misses: 1 });
  });

  it("checks each sync's size limit before the cache, whichever sync decodes first", () => {
    const data = bytesOf(testEvent(1, { event_properties: { pad: 'p'.repeat(2_000) } }));
    const small = 1_000;
    // The wide sync first: the small one must not take its entry.
    const wideFirst = sharedDecodes();
    assert.equal(wideFirst.decodes.decode(data, MAX_BYTES, at(1)).ok, true);
    const refused = wideFirst.decodes.decode(data, small, at(1));
    assert.deepEqual(!refused.ok && refused.reason, 'event_too_large');
    assert.deepEqual(wideFirst.counts, { hits: 0, misses: 1 }, 'the over-limit sync does not look it up');
    // The small sync first: nothing is kept for it, and the wide one decodes it.
    const smallFirst = sharedDecodes();
    assert.equal(smallFirst.decodes.decode(data, small, at(1)).ok, false);
    assert.equal(smallFirst.decodes.decode(data, MAX_BYTES, at(1)).ok, true);
    assert.deepEqual(smallFirst.counts, { hits: 0, misses: 1 });
  });

  it('does not answer a sequence the stream stored again at another time (a stream deleted and made again)', () => {
    const { decodes, counts } = sharedDecodes();
    decodes.decode(bytesOf(testEvent(1)), MAX_BYTES, at(1, 1_000));
    const again = decodes.decode(bytesOf(testEvent(2)), MAX_BYTES, at(1, 2_000));
    assert.deepEqual(again.ok && again.event.insert_id, 'insert-2');
    assert.deepEqual(counts, { hits: 0, misses: 2 });
    assert.equal(decodes.size.entries, 1, 'the stale entry replaced');
  });

  it('stays within its entry and byte bounds however far a sync lags, and the lagging sync decodes again', () => {
    const data = bytesOf(testEvent(1));
    const byEntries = sharedDecodes({ maxEntries: 10 });
    for (let sequence = 1; sequence <= 1_000; sequence++) byEntries.decodes.decode(data, MAX_BYTES, at(sequence));
    assert.equal(byEntries.decodes.size.entries, 10);
    assert.equal(byEntries.decodes.decode(data, MAX_BYTES, at(1)).ok, true);
    assert.equal(byEntries.counts.hits, 0, 'the oldest went first');
    assert.equal(byEntries.decodes.decode(data, MAX_BYTES, at(1_000)).ok, true);
    assert.equal(byEntries.counts.hits, 1, 'the newest are there');

    const byBytes = sharedDecodes({ maxEntries: 1_000, maxBytes: 5 * data.byteLength });
    for (let sequence = 1; sequence <= 1_000; sequence++) byBytes.decodes.decode(data, MAX_BYTES, at(sequence));
    assert.deepEqual(byBytes.decodes.size, { entries: 5, bytes: 5 * data.byteLength });
  });

  it('freezes the shared event, all the way down', () => {
    const { decodes } = sharedDecodes();
    const decoded = decodes.decode(bytesOf(testEvent(1, { event_properties: { list: [{ deep: [1] }] } })), MAX_BYTES, at(1));
    assert.ok(decoded.ok);
    const list = (decoded.event.event_properties as { list: Array<{ deep: number[] }> }).list;
    assert.ok(Object.isFrozen(decoded.event) && Object.isFrozen(list) && Object.isFrozen(list[0].deep));
    assert.throws(() => list[0].deep.push(2), TypeError);
  });

  it('gives two syncs with different selections and mappings their own contexts from one shared event', () => {
    const { decodes } = sharedDecodes();
    const data = bytesOf(testEvent(3, { user_properties: { plan: 'pro' } }));
    const one: EventSelection = { selectedProperties: [{ scope: 'event', property: 'price', as: 'cost' }], fieldMappings: [{ name: 'who', source: { scope: 'field', property: 'user_id' }, required: true, identifier: true }] };
    const other: EventSelection = { selectedProperties: [{ scope: 'user', property: 'plan' }], fieldMappings: [{ name: 'who', source: { scope: 'event', property: 'item' }, required: false, identifier: false }] };
    const first = decodes.decode(data, MAX_BYTES, at(1));
    const second = decodes.decode(data, MAX_BYTES, at(1));
    assert.ok(first.ok && second.ok && first.event === second.event);
    assert.deepEqual(buildEventContext(first.event, one), { input: first.event, mappedProperties: { cost: 13 }, mappedFields: { who: 'user-3' } });
    assert.deepEqual(buildEventContext(second.event, other), { input: first.event, mappedProperties: { plan: 'pro' }, mappedFields: { who: 'item 3' } });
    assert.deepEqual(second.event, JSON.parse(data.toString()), 'the event as published');
  });

  it("renders every shipped destination's examples from a shared (frozen) event exactly as from a fresh decode", async () => {
    const loaded = await loadDestinations(join(PACKAGE_ROOT, 'destinations'), { resolveSecrets: false, checkExamples: false });
    let rendered = 0;
    for (const destination of loaded.destinations) {
      const dir = join(destination.dir, 'examples');
      for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
        const example = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { event: unknown; sync?: string };
        const sync = destination.syncs.find((candidate) => candidate.name === (example.sync ?? destination.syncs[0].name))!;
        const data = bytesOf(example.event);
        const fresh = decodeEvent(data, MAX_BYTES);
        const shared = sharedDecodes().decodes.decode(data, MAX_BYTES, at(1));
        assert.ok(fresh.ok && shared.ok && Object.isFrozen(shared.event), `${destination.slug}/${file}`);
        assert.deepEqual(renderEventRequest(sync, shared.event, 'mask'), renderEventRequest(sync, fresh.event, 'mask'), `${destination.slug}/${file}`);
        rendered += 1;
      }
    }
    assert.ok(rendered >= 10, `${rendered} examples rendered`);
  });
});
