// Signed webhooks end to end: a real nats-server, the daemon, and a node:http receiver that checks
// every request with the standardwebhooks package, as a customer's endpoint would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Webhook } from 'standardwebhooks';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type RecordedRequest, type SinkAnswer, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { waitForStreamCount } from '../helpers/wait.js';

const NEW_KEY = `whsec_${Buffer.from('daemon test: the new signing key').toString('base64')}`;
const OLD_KEY = `whsec_${Buffer.from('daemon test: the old signing key').toString('base64')}`;

const nats = useNatsServer();

before(() => {
  process.env.TEST_SINK_TOKEN = 'tok-signing-test';
  process.env.TEST_SIGNING_KEY = NEW_KEY;
  process.env.TEST_OLD_SIGNING_KEY = OLD_KEY;
});

/** What the receiver made of one request: verified with each key (an error message when refused). */
interface Verdict {
  request: RecordedRequest;
  withNewKey: string;
  withOldKey: string;
}

function check(key: string, request: RecordedRequest): string {
  try {
    new Webhook(key).verify(request.body, request.headers as Record<string, string>);
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

interface Scenario {
  sink: TestSink;
  verdicts: Verdict[];
  daemon: TestDaemon;
  subject: string;
  deadLetterStream: string;
  cleanup(): Promise<void>;
}

async function scenario(reply: (request: RecordedRequest, index: number) => SinkAnswer, definition: Record<string, unknown> = {}): Promise<Scenario> {
  const verdicts: Verdict[] = [];
  const sink = await startTestSink((request, index) => {
    verdicts.push({ request, withNewKey: check(NEW_KEY, request), withOldKey: check(OLD_KEY, request) });
    return reply(request, index);
  });
  const folder = makeDestinationsDir();
  const base = testDefinition(definition);
  writeDestinationFolder(folder.dir, 'signed', {
    definition: {
      ...base,
      parameters: [
        ...(base.parameters as object[]),
        { name: 'signing_key', displayName: 'Signing key', secret: true },
        { name: 'old_signing_key', displayName: 'Old signing key', secret: true, required: false },
      ],
      signing: { scheme: 'standard-webhooks', secrets: ['signing_key', 'old_signing_key'] },
    },
    syncs: {
      main: {
        parameters: {
          endpoint: sink.url,
          token: { env: 'TEST_SINK_TOKEN' },
          signing_key: { env: 'TEST_SIGNING_KEY' },
          old_signing_key: { env: 'TEST_OLD_SIGNING_KEY' },
        },
      },
    },
  });
  const { subject, ...stream } = nats.streams('sig');
  const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  return {
    sink,
    verdicts,
    daemon,
    subject,
    deadLetterStream: stream.deadLetterStream,
    async cleanup() {
      await daemon.stop();
      await sink.close();
      folder.remove();
    },
  };
}

describe('daemon signed webhooks', () => {
  it('signs every request with both keys of a rotation, so the receiver verifies each with either', async () => {
    const s = await scenario(() => answer.ok());
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => nats.js.publish(s.subject, JSON.stringify(testEvent(i)))));
      await s.sink.waitForRequests(20);
      assert.equal(s.verdicts.length, 20);
      for (const verdict of s.verdicts) {
        assert.deepEqual([verdict.withNewKey, verdict.withOldKey], ['ok', 'ok'], verdict.request.body);
        assert.equal(verdict.request.headers['webhook-id'], JSON.parse(verdict.request.body).insert_id);
      }
    } finally {
      await s.cleanup();
    }
  });

  it('signs an in-process retry when it leaves, not when it was rendered: its timestamp is the time of sending', async () => {
    // Retry-After 2 s keeps the retry in process, where the rendered request is sent again.
    const s = await scenario((_request, index) => (index === 0 ? answer.status(429, { 'retry-after': '2' }) : answer.ok()));
    try {
      await nats.js.publish(s.subject, JSON.stringify(testEvent(1)));
      const [first, retry] = await s.sink.waitForRequests(2);
      assert.ok(retry.at - first.at >= 1_990, `the retry came ${retry.at - first.at} ms after the 429`);
      assert.equal(retry.headers['webhook-id'], first.headers['webhook-id'], 'the same message id: a receiver drops a duplicate by it');
      for (const request of [first, retry]) {
        const age = Math.floor(request.at / 1_000) - Number(request.headers['webhook-timestamp']);
        assert.ok(age >= 0 && age <= 1, `a request arrived ${age} s after its timestamp`);
      }
      assert.notEqual(retry.headers['webhook-signature'], first.headers['webhook-signature']);
      assert.deepEqual(s.verdicts.map((verdict) => [verdict.withNewKey, verdict.withOldKey]), [['ok', 'ok'], ['ok', 'ok']]);
    } finally {
      await s.cleanup();
    }
  });

  it('keeps the signature out of the dead letter, even when the receiver echoes it back', async () => {
    const s = await scenario((request) => ({ status: 400, body: `{"error":"bad signature ${request.headers['webhook-signature']}"}` }));
    try {
      await nats.js.publish(s.subject, JSON.stringify(testEvent(7)));
      await waitForStreamCount(nats.connection, s.deadLetterStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(s.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.reason, 'http_4xx');
      assert.equal(letter.request?.headers['webhook-signature'], '[redacted]');
      assert.equal(letter.request?.headers['webhook-id'], 'insert-7');
      const text = JSON.stringify(letter);
      const sent = String(s.sink.requests[0].headers['webhook-signature']);
      for (const signature of sent.split(' ')) assert.ok(!text.includes(signature.slice(3)), 'no signature in the dead letter');
      assert.match(letter.responseExcerpt ?? '', /bad signature v1,\[redacted\] v1,\[redacted\]/);
      for (const key of [NEW_KEY, OLD_KEY]) assert.ok(!text.includes(key.slice(6)) && !JSON.stringify(s.daemon.logs).includes(key.slice(6)), 'no key anywhere');
    } finally {
      await s.cleanup();
    }
  });
});

after(() => {
  delete process.env.TEST_SIGNING_KEY;
  delete process.env.TEST_OLD_SIGNING_KEY;
});
