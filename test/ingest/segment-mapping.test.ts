// Segment's calls in our event shape, and the table of docs/operations.md ("Segment to our event
// shape") held to the code: each call's event_type there is the code's, and each call maps as its row says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEGMENT_EVENT_TYPES, SEGMENT_TYPES, segmentToEvent, segmentTime } from '../../daemon/ingest/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';

/** The rows of the docs' call table: call → its event_type cell. */
function docsCallTable(): Map<string, string> {
  const text = readFileSync(join(PACKAGE_ROOT, 'docs', 'operations.md'), 'utf8');
  const section = text.slice(text.indexOf('### Segment to our event shape'));
  const rows = new Map<string, string>();
  for (const match of section.matchAll(/^\| `([a-z]+)` \| ([^|]+) \|/gm)) rows.set(match[1], match[2].trim());
  return rows;
}

const NOW = 1_800_000_000_000;
const map = (type: string, message: Record<string, unknown>) => {
  const mapped = segmentToEvent(type, { userId: 'u1', messageId: 'm1', ...message }, undefined, NOW);
  assert.ok(mapped.ok, JSON.stringify(mapped));
  return mapped.event;
};

describe('ingest segment mapping', () => {
  it('the docs’ table names every call with the code’s event_type', () => {
    const table = docsCallTable();
    assert.deepEqual([...table.keys()].sort(), [...SEGMENT_TYPES].sort());
    for (const [call, eventType] of table) {
      const expected = call === 'track' ? 'the call\'s `event`' : `\`${SEGMENT_EVENT_TYPES[call as keyof typeof SEGMENT_EVENT_TYPES]}\``;
      assert.equal(eventType, expected, call);
    }
  });

  it('maps each call as its row says', () => {
    assert.deepEqual(map('track', { event: 'Signed Up', properties: { plan: 'pro' } }), { event_type: 'Signed Up', user_id: 'u1', time: NOW, insert_id: 'm1', event_properties: { plan: 'pro' } });
    assert.deepEqual(map('page', { name: 'Home', category: 'Docs', properties: { path: '/' } }).event_properties, { path: '/', name: 'Home', category: 'Docs' });
    assert.equal(map('screen', { name: 'Cart' }).event_type, 'Screen Viewed');
    assert.deepEqual(map('identify', { traits: { email: 'a@example.com' } }).user_properties, { $set: { email: 'a@example.com' } });
    const group = map('group', { groupId: 'acme', traits: { seats: 3 } });
    assert.deepEqual([group.event_type, group.groups, group.group_properties], ['$groupidentify', { group: 'acme' }, { $set: { seats: 3 } }]);
    assert.deepEqual(map('alias', { previousId: 'anon-1' }).event_properties, { previous_id: 'anon-1' });
  });

  it('maps the fields of the second table, and keeps nothing of a context field of the wrong type', () => {
    const event = map('track', {
      event: 'x',
      userId: 42,
      anonymousId: 'anon-1',
      context: {
        ip: '10.1.2.3',
        locale: 'de-DE',
        library: { name: 'analytics-node', version: '3.1.0' },
        app: { version: '2.0' },
        os: { name: 'iOS', version: '18' },
        device: { manufacturer: 'Apple', model: 'iPhone16,1' },
        network: { carrier: 'T-Mobile' },
        location: { country: 'DE', region: 'BE', city: 'Berlin', latitude: 52.5, longitude: 13.4 },
        page: { url: 'https://example.com' },
        timezone: { toString: 'not a string' },
      },
    });
    assert.deepEqual(event, {
      event_type: 'x', user_id: '42', device_id: 'anon-1', time: NOW, insert_id: 'm1', ip: '10.1.2.3', language: 'de-DE', library: 'analytics-node/3.1.0', app_version: '2.0', os_name: 'iOS', os_version: '18',
      device_manufacturer: 'Apple', device_model: 'iPhone16,1', carrier: 'T-Mobile', country: 'DE', region: 'BE', city: 'Berlin', location_lat: 52.5, location_lng: 13.4, event_properties: {},
    });
    assert.equal(map('track', { event: 'x', context: { ip: 7, library: { name: ['x'] } } }).ip, undefined);
  });

  it('takes timestamp, else originalTimestamp moved by the sender’s clock skew, else the arrival', () => {
    assert.equal(segmentTime({ timestamp: '2026-01-01T00:00:00.000Z' }, undefined, NOW), Date.parse('2026-01-01T00:00:00.000Z'));
    // The sender's clock is 10 s ahead: sent at its 12:00:10 for an event at its 12:00:05, 5 s before arrival.
    assert.equal(segmentTime({ originalTimestamp: '2026-01-01T12:00:05.000Z' }, '2026-01-01T12:00:10.000Z', NOW), NOW - 5_000);
    assert.equal(segmentTime({}, undefined, NOW), NOW);
  });

  it('refuses what Segment refuses: no identifier, a track without a name, a group without an id, an unknown type', () => {
    const cases: Array<[string, Record<string, unknown>]> = [['track', { event: 'x' }], ['track', { userId: 'u1' }], ['group', { userId: 'u1' }], ['alias', { userId: 'u1' }], ['purchase', { userId: 'u1', event: 'x' }]];
    for (const [type, message] of cases) {
      assert.equal(segmentToEvent(type, message, undefined, NOW).ok, false, `${type} ${JSON.stringify(message)}`);
    }
  });
});
