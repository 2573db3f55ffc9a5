// Event data cannot steer a request: a path segment made of dots is refused, and a request to a host
// outside the operator's egress allow-list is dead-lettered without being sent. Real nats-server,
// real node:http sinks on 127.0.0.1, the shipped Customer.io destination.
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { startTestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { waitForStreamCount } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.URL_SAFETY_CIO_KEY = 'cio-key-not-for-logs';
  process.env.URL_SAFETY_TOKEN = 'url-safety-token';
});

async function deadLetter(streamName: string, seq: number): Promise<DeadLetter> {
  const jsm = await jetstreamManager(nats.connection);
  return (await jsm.streams.getMessage(streamName, { seq }))!.json<DeadLetter>();
}

describe('daemon url safety', () => {
  it('dead-letters a Customer.io event whose user_id is ".." as render_failed instead of POSTing to /customers/../events', async () => {
    const sink = await startTestSink();
    const folder = makeDestinationsDir();
    const dir = join(folder.dir, 'customerio');
    cpSync(join(PACKAGE_ROOT, 'destinations', 'customerio'), dir, { recursive: true });
    rmSync(join(dir, 'examples'), { recursive: true });
    writeFileSync(
      join(dir, 'syncs', 'default.json'),
      JSON.stringify({
        parameters: { endpoint: `${sink.url}/cio`, site_id: 'site', api_key: { env: 'URL_SAFETY_CIO_KEY' } },
        fieldMappings: { id: { scope: 'field', property: 'user_id' } },
      }),
    );
    const { subject, ...stream } = nats.streams('urls');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      for (const userId of ['..', '.', '%2e%2E', 'ok/../../admin', 'user 1']) {
        await nats.js.publish(subject, JSON.stringify(testEvent(1, { user_id: userId, insert_id: `id-${userId}` })));
      }
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 2);
      await sink.waitForRequests(3);
      const letters = await Promise.all([1, 2].map((seq) => deadLetter(stream.deadLetterStream, seq)));
      assert.deepEqual(letters.map((letter) => letter.insertId).sort(), ['id-.', 'id-..']);
      for (const letter of letters) {
        assert.equal(letter.reason, 'render_failed');
        assert.match(letter.message ?? '', /dot segment/);
      }
      // urlencode encodes "/" (one segment stays one segment) and "%" (so "%2e%2E" is no dot segment).
      assert.deepEqual(sink.requests.map((request) => request.url).sort(), [
        '/cio/api/v1/customers/%252e%252E/events',
        '/cio/api/v1/customers/ok%2F..%2F..%2Fadmin/events',
        '/cio/api/v1/customers/user%201/events',
      ]);
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('dead-letters a request to a host outside the egress allow-list as egress_denied, and the sink receives nothing', async () => {
    const allowed = await startTestSink();
    const denied = await startTestSink();
    const folder = makeDestinationsDir();
    const syncFor = (url: string) => ({ main: { parameters: { endpoint: url, token: { env: 'URL_SAFETY_TOKEN' } } } });
    writeDestinationFolder(folder.dir, 'inside', { syncs: syncFor(allowed.url) });
    writeDestinationFolder(folder.dir, 'outside', { syncs: syncFor(denied.url) });
    const { subject, ...stream } = nats.streams('egress');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, egressAllowList: ['*.customer.io', `127.0.0.1:${allowed.port}`] }));
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(1)));
      await allowed.waitForRequests(1);
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      const letter = await deadLetter(stream.deadLetterStream, 1);
      assert.equal(letter.sync, 'outside.main');
      assert.equal(letter.reason, 'egress_denied');
      assert.match(letter.message ?? '', new RegExp(`127\\.0\\.0\\.1:${denied.port}.*egress allow-list`));
      assert.equal(letter.attempts, 1, 'permanent: not retried');
      assert.ok(!JSON.stringify(letter).includes('url-safety-token'), 'the dead letter holds no secret');
      assert.equal(denied.requests.length, 0, 'nothing reached the host outside the allow-list');
      assert.equal(allowed.requests.length, 1);
    } finally {
      await daemon.stop();
      await allowed.close();
      await denied.close();
      folder.remove();
    }
  });
});
