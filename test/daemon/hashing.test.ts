// Personal data hashed before it leaves: a real daemon, a real nats-server and a real node:http sink.
// The destination sends the user id as an HMAC keyed by a secret salt, the email and the phone as
// SHA-256; the sink must see only the hashes, and a dead letter must keep the hashed id readable
// (it is a pseudonym, not a secret) while the salt appears nowhere.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount } from '../helpers/wait.js';

const SALT = 'pepper-7c1e-a-long-secret-salt';
const TOKEN = 'tok-5d2b-another-secret';
const EMAIL = 'Ada.Lovelace@Example.com';
const PHONE = '+44 20 7946 0958';

// Computed here independently of the filters: what the platform expects.
const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (text: string) => createHmac('sha256', SALT).update(text).digest('hex');

const BODY = `{
  "user": {{ input.user_id | hmac_sha256(parameters.salt) | json }},
  "em": {{ input.user_properties.email | sha256_email | json }},
  "ph": {{ input.user_properties.phone | sha256_phone | json }},
  "insert_id": {{ input.insert_id | json }}
}
`;

function event(insertId: string, userId: string): Record<string, unknown> {
  return { event_type: 'purchase', user_id: userId, insert_id: insertId, time: 1_700_000_000_000, user_properties: { email: EMAIL, phone: PHONE } };
}

const nats = useNatsServer();

describe('daemon hashing personal data', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let folder: { dir: string; remove(): void };
  let deadStream: string;

  before(async () => {
    process.env.HASHING_SALT = SALT;
    process.env.HASHING_TOKEN = TOKEN;
    sink = await startTestSink((recorded) => (recorded.body.includes('"rejected"') ? { status: 400, body: '{"error":"no"}' } : { status: 200 }));
    folder = makeDestinationsDir();
    const definition = testDefinition();
    definition.parameters = [...(definition.parameters as object[]), { name: 'salt', displayName: 'Salt for user ids', required: true, secret: true }];
    writeDestinationFolder(folder.dir, 'adplatform', {
      definition,
      body: BODY,
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'HASHING_TOKEN' }, salt: { env: 'HASHING_SALT' } } } },
    });
    const { subject, ...stream } = nats.streams('hashing');
    deadStream = stream.deadLetterStream;
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    await nats.js.publish(subject, JSON.stringify(event('accepted', 'user-42')));
    await nats.js.publish(subject, JSON.stringify(event('rejected', 'user-43')));
    await sink.waitForRequests(2);
    await waitForStreamCount(nats.connection, deadStream, 1);
  });

  after(async () => {
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

  it('sends the hashes to the destination, never the user id, email or phone number', () => {
    const accepted = sink.requests.find((recorded) => recorded.body.includes('"accepted"'));
    assert.ok(accepted);
    assert.deepEqual(JSON.parse(accepted.body), { user: hmac('user-42'), em: hex('ada.lovelace@example.com'), ph: hex('+442079460958'), insert_id: 'accepted' });
    for (const recorded of sink.requests) {
      for (const personal of ['user-4', 'lovelace', 'Lovelace', '7946']) assert.ok(!recorded.body.includes(personal), `the sink got ${personal}`);
      assert.ok(!recorded.body.includes(SALT));
    }
  });

  it('keeps the hashed user id readable in the dead letter, and the salt out of it and of the logs', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stored = await jsm.streams.getMessage(deadStream, { seq: 1 });
    assert.ok(stored);
    const letter = stored.json<DeadLetter>();
    assert.equal(letter.reason, 'http_4xx');
    const body = JSON.parse(String(letter.request?.body));
    assert.equal(body.user, hmac('user-43'), 'the pseudonym is not redacted');
    assert.equal(body.em, hex('ada.lovelace@example.com'));
    for (const text of [JSON.stringify(letter), JSON.stringify(daemon.logs)]) {
      assert.ok(!text.includes(SALT) && !text.includes(TOKEN), 'no secret');
    }
  });
});
