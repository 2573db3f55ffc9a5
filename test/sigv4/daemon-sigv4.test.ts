// SigV4 in the daemon: each attempt of a delivery signed when it is sent (a retry with its own
// x-amz-date), every one verified by the receiver with aws4 (not our signer); the dead letter and
// the logs hold neither the credentials, the session token nor any signature.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import aws4 from 'aws4';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type RecordedRequest } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount } from '../helpers/wait.js';

const KEY_ID = 'AKIADAEMONTEST0001';
const SECRET_KEY = 'daemon-test/secret+access+key-0123456789';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-daemon-session-token';
const nats = useNatsServer();

/** The receiver's check, with aws4 over the headers the request says it signed, at the date it carries. */
function verified(request: RecordedRequest): boolean {
  const authorization = String(request.headers.authorization ?? '');
  const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signed) headers[name] = String(request.headers[name] ?? '');
  if (headers['x-amz-content-sha256'] !== createHash('sha256').update(request.body).digest('hex')) return false;
  const signer = new aws4.RequestSigner(
    { host: headers.host, method: request.method, path: request.url, headers, body: request.body, service: 'kinesis', region: 'eu-central-1', doNotModifyHeaders: true } as aws4.Request,
    { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN },
  );
  (signer as unknown as { datetime: string }).datetime = headers['x-amz-date'];
  return (signer.sign().headers as Record<string, string>).Authorization === authorization;
}

describe('sigv4 - in the daemon', () => {
  it('signs every attempt when it is sent, and keeps credentials and signatures out of the dead letter and logs', async () => {
    process.env.TEST_AWS_KEY_ID = KEY_ID;
    process.env.TEST_AWS_SECRET = SECRET_KEY;
    process.env.TEST_AWS_SESSION = SESSION_TOKEN;
    // The first attempt is answered 503 (retried in process), the second 400 echoing what it got: dead-lettered.
    const sink = await startTestSink((request, index) =>
      index === 0 ? answer.status(503, { 'retry-after': '1' }) : { status: 400, body: `{"__type":"ValidationException","message":"got ${request.headers.authorization} ${request.headers['x-amz-security-token']}"}` },
    );
    const folder = makeDestinationsDir();
    const base = testDefinition();
    writeDestinationFolder(folder.dir, 'signed', {
      definition: {
        ...base,
        parameters: [
          { name: 'endpoint', displayName: 'Endpoint' },
          { name: 'region', displayName: 'Region' },
          { name: 'key_id', displayName: 'Key id', secret: true },
          { name: 'secret_key', displayName: 'Secret key', secret: true },
          { name: 'session_token', displayName: 'Session token', secret: true },
        ],
        request: { method: 'POST', url: '{{ parameters.endpoint }}/', headers: { 'X-Amz-Target': 'Kinesis_20131202.PutRecords' }, contentType: 'application/x-amz-json-1.1', body: 'body.njk' },
        awsSigV4: { accessKeyId: 'key_id', secretAccessKey: 'secret_key', sessionToken: 'session_token', region: 'region', service: 'kinesis' },
      },
      syncs: { main: { parameters: { endpoint: sink.url, region: 'eu-central-1', key_id: { env: 'TEST_AWS_KEY_ID' }, secret_key: { env: 'TEST_AWS_SECRET' }, session_token: { env: 'TEST_AWS_SESSION' } } } },
    });
    const { subject, ...stream } = nats.streams('signed');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(3)));
      const [first, retry] = await sink.waitForRequests(2);
      assert.ok(verified(first) && verified(retry), 'the receiver verifies both attempts');
      assert.notEqual(retry.headers['x-amz-date'], first.headers['x-amz-date'], 'signed anew, with its own date, for the retry');
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(stream.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.request?.headers.authorization, '[redacted]');
      assert.equal(letter.request?.headers['x-amz-security-token'], '[redacted]');
      assert.equal(letter.request?.headers['x-amz-date'], retry.headers['x-amz-date'], 'the dead letter shows what was last sent');
      const text = JSON.stringify(letter) + JSON.stringify(daemon.logs);
      for (const request of [first, retry]) {
        const signature = /Signature=([0-9a-f]{64})/.exec(String(request.headers.authorization))![1];
        assert.ok(!text.includes(signature), 'no signature in the dead letter or the logs');
      }
      for (const secret of [KEY_ID, SECRET_KEY, SESSION_TOKEN]) assert.ok(!text.includes(secret), `${secret} in the dead letter or the logs`);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
