import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { startHttpsSink, type HttpsSink } from '../helpers/https-sink.js';
import { startRecordingSink, type RecordingSink } from '../helpers/sink.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certificates.js';

/** A Standard Webhooks signing key, as the shipped webhook destination takes it. */
const SIGNING_KEY = `whsec_${Buffer.from('a test signing key of 32 bytes!!').toString('base64')}`;

const purchase = { event_type: 'purchase', user_id: 'user-1234', time: 1641490144000, insert_id: 'ins-7', event_properties: { item: 'Blue shoes', price: 79.99 } };

describe('tools send', () => {
  let ok: RecordingSink;
  let rejecting: RecordingSink;
  const temp = tempDir();
  before(async () => {
    ok = await startRecordingSink({ status: 200, body: '{"accepted":1}' });
    rejecting = await startRecordingSink({ status: 400, body: `{"error":"bad key ${SIGNING_KEY}"}` });
  });
  after(async () => {
    await Promise.all([ok.close(), rejecting.close()]);
    temp.remove();
  });
  writeFiles(temp.dir, { 'event.json': purchase });

  function syncTo(url: string, name: string): string {
    writeFiles(temp.dir, { [`${name}.json`]: { parameters: { url, signing_secret: { env: 'WEBHOOK_SIGNING_SECRET' } } } });
    return join(temp.dir, `${name}.json`);
  }

  it('sends once and prints status and response, exit 0 on 2xx', async () => {
    const sync = syncTo(`${ok.url}/in`, 'ok');
    const result = await runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', sync], { env: { WEBHOOK_SIGNING_SECRET: SIGNING_KEY } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'HTTP 200\n{"accepted":1}\n');
    assert.equal(ok.received.length, 1);
    const [request] = ok.received;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/in');
    assert.equal(request.headers['idempotency-key'], 'ins-7');
    // Signed with the real key: a Standard Webhooks library verifies it.
    assert.equal(request.headers['webhook-id'], 'ins-7');
    assert.deepEqual(new Webhook(SIGNING_KEY).verify(request.body, request.headers as Record<string, string>), purchase);
    assert.deepEqual(JSON.parse(request.body), purchase);
  });

  it('exits 1 on a non-2xx answer, printing it with secrets redacted, and does not retry', async () => {
    const sync = syncTo(`${rejecting.url}/in`, 'rejecting');
    const result = await runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', sync], { env: { WEBHOOK_SIGNING_SECRET: SIGNING_KEY } });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'HTTP 400\n{"error":"bad key [redacted]"}\n');
    assert.equal(rejecting.received.length, 1);
  });

  it('refuses to send while a secret is unresolved', async () => {
    const sync = syncTo(`${ok.url}/never`, 'unresolved');
    const before = ok.received.length;
    const result = await runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', sync], { env: { WEBHOOK_SIGNING_SECRET: '' } });
    assert.equal(result.code, 4, 'an unset secret has its own exit status');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /secret parameter signing_secret is not resolved: environment variable WEBHOOK_SIGNING_SECRET is not set/);
    assert.match(result.stderr, /refusing to send/);
    assert.equal(ok.received.length, before);
  });

  it('exits 1 when nothing listens', async () => {
    const sync = syncTo('http://127.0.0.1:9/closed', 'closed');
    const result = await runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', sync], { env: { WEBHOOK_SIGNING_SECRET: SIGNING_KEY } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /POST http:\/\/127\.0\.0\.1:9\/closed failed: .*ECONNREFUSED/);
  });

  describe('to an https endpoint of a private CA', () => {
    let certificates: TestCertificates;
    let sink: HttpsSink;
    before(async () => {
      certificates = makeTestCertificates();
      sink = await startHttpsSink(certificates.valid);
      writeFiles(temp.dir, { 'private-ca.pem': certificates.ca });
    });
    after(async () => {
      await sink.close();
      certificates.remove();
    });
    function httpsSync(name: string, tls?: object): string {
      writeFiles(temp.dir, { [`${name}.json`]: { parameters: { url: `${sink.origin}/in` }, ...(tls ? { tls } : {}) } });
      return join(temp.dir, `${name}.json`);
    }
    const send = (sync: string) => runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', sync]);

    it('sends with the CA bundle the sync names', async () => {
      const result = await send(httpsSync('private-ca', { ca: { file: 'private-ca.pem' } }));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'HTTP 200\n{"ok":true}\n');
      assert.equal(sink.bodies.length, 1);
    });

    it('fails without it, saying the issuer is unknown, and never sends unverified', async () => {
      const before = sink.bodies.length;
      const result = await send(httpsSync('no-ca'));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /POST https:\/\/127\.0\.0\.1:\d+\/in failed: tls unknown_issuer: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      assert.equal(sink.bodies.length, before);
    });

    it('refuses to send when the bundle cannot be read, naming the sync file and field', async () => {
      const before = sink.bodies.length;
      const result = await send(httpsSync('missing-ca', { ca: { env: 'PRIVATE_CA_PEM' } }));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /missing-ca\.json: .*tls\.ca: CA bundle: environment variable PRIVATE_CA_PEM is not set/);
      assert.match(result.stderr, /refusing to send without the CA bundle/);
      assert.equal(sink.bodies.length, before);
    });
  });

  it('exits 2 without --event', async () => {
    assert.equal((await runCli(['send', 'destinations/webhook'])).code, 2);
  });
});
