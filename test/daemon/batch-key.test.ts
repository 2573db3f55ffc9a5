// Batches grouped by a key the folder names (batch.key, GA4's one client per request), end to end
// with per-user ordering: no request carries two keys, and each user's events still reach the
// destination in stream order. Real nats-server, real node:http sink.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.BATCH_KEY_TOKEN = 'batch-key-secret';
});

const BODY = `{ "client_id": {{ events[0].input.device_id | json }}, "events": [
{% for e in events %}{ "insert_id": {{ e.input.insert_id | json }}, "user_id": {{ e.input.user_id | json }}, "device_id": {{ e.input.device_id | json }} }{{ "," if not loop.last }}{% endfor %}
] }
`;

interface Sent {
  insert_id: string;
  user_id: string;
  device_id: string;
}

describe('batch key', () => {
  it('never sends two keys in one request, and keeps each user\'s order with ordering "user"', async () => {
    const requests: Sent[][] = [];
    const sink = await startTestSink((request) => {
      requests.push((JSON.parse(request.body) as { events: Sent[] }).events);
      return answer.ok();
    });
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'keyed', {
      definition: testDefinition({ batch: { maxEvents: 5, maxWaitMs: 50, key: '{{ input.device_id }}' } }),
      body: BODY,
      syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'BATCH_KEY_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('batchkey');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    // Two users; the first switches device mid-way (a run of one user may not span two keys).
    const plan: Array<[user: string, device: string]> = [
      ['u1', 'd1'], ['u2', 'd3'], ['u1', 'd1'], ['u2', 'd3'], ['u1', 'd2'], ['u1', 'd2'], ['u2', 'd4'], ['u1', 'd1'], ['u2', 'd3'], ['u1', 'd1'],
    ];
    try {
      for (const [index, [user_id, device_id]] of plan.entries()) await nats.js.publish(subject, JSON.stringify(testEvent(index, { user_id, device_id })));
      await waitUntil(nats.connection, () => requests.flat().length === plan.length, 10_000, 'every event delivered');
      for (const request of requests) assert.equal(new Set(request.map((event) => event.device_id)).size, 1, `one key a request: ${JSON.stringify(request)}`);
      for (const user of ['u1', 'u2']) {
        const order = requests.flat().filter((event) => event.user_id === user).map((event) => Number(event.insert_id.slice(7)));
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `${user}'s events in stream order`);
      }
      assert.ok(requests.some((request) => request.length > 1), `events of one key share a request: ${JSON.stringify(requests.map((request) => request.length))}`);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
