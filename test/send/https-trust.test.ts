import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { classify, type Classification } from '../../daemon/delivery/classify.js';
import { RetryableDeliveryError } from '../../daemon/delivery/errors.js';
import { HttpSender } from '../../daemon/send/index.js';
import { startHttpsSink, type HttpsSink } from '../helpers/https-sink.js';
import { makeTestCertificates, type KeyPair, type TestCertificates } from '../helpers/tls-certificates.js';

const post = (origin: string) => ({ method: 'POST' as const, url: `${origin}/track`, headers: { 'content-type': 'application/json' }, body: '{"event":1}' });

describe('send https trust', () => {
  let certificates: TestCertificates;
  const sinks: HttpsSink[] = [];
  const sender = new HttpSender({ connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });
  before(() => {
    certificates = makeTestCertificates();
  });
  after(async () => {
    await sender.close();
    await Promise.all(sinks.map((sink) => sink.close()));
    certificates.remove();
  });

  async function sinkWith(pick: (c: TestCertificates) => KeyPair): Promise<HttpsSink> {
    const sink = await startHttpsSink(pick(certificates));
    sinks.push(sink);
    return sink;
  }

  /** What the daemon would make of one attempt: the classification of the answer or of the error. */
  async function attempt(origin: string, ca?: string): Promise<Classification> {
    try {
      const response = await sender.send(post(origin), { ca });
      return classify({ status: response.status, headers: response.headers });
    } catch (error) {
      return classify({ error });
    }
  }

  function assertTls(result: Classification, detail: string): void {
    assert.ok(result instanceof RetryableDeliveryError, `expected a retryable failure, got ${JSON.stringify(result)}`);
    assert.equal(result.code, 'tls');
    assert.equal(result.detail, detail);
    assert.match(result.message, new RegExp(`^tls ${detail}: `));
  }

  it('retries a self-signed certificate as tls unknown_issuer, without sending the request', async () => {
    const sink = await sinkWith((c) => c.selfSigned);
    assertTls(await attempt(sink.origin), 'unknown_issuer');
    assert.equal(sink.bodies.length, 0);
  });

  it('retries a certificate from a CA nobody trusts as tls unknown_issuer', async () => {
    const sink = await sinkWith((c) => c.unknownIssuer);
    assertTls(await attempt(sink.origin), 'unknown_issuer');
  });

  it('retries an expired certificate as tls expired', async () => {
    const sink = await sinkWith((c) => c.expired);
    const result = await attempt(sink.origin, certificates.ca);
    assertTls(result, 'expired');
    assert.equal((result as RetryableDeliveryError).message, 'tls expired: certificate has expired (CERT_HAS_EXPIRED)');
  });

  it('retries a certificate that is not valid yet as tls not_yet_valid', async () => {
    const sink = await sinkWith((c) => c.notYetValid);
    assertTls(await attempt(sink.origin, certificates.ca), 'not_yet_valid');
  });

  it('retries a certificate for another name as tls name_mismatch, by IP and by host name', async () => {
    const sink = await sinkWith((c) => c.wrongName);
    assertTls(await attempt(sink.origin, certificates.ca), 'name_mismatch');
    assertTls(await attempt(`https://localhost:${sink.port}`, certificates.ca), 'name_mismatch');
  });

  it('retries an https URL that reaches a plain http port as tls handshake', async () => {
    const plain = createServer((_request, response) => response.end('plain'));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    try {
      assertTls(await attempt(`https://127.0.0.1:${(plain.address() as { port: number }).port}`), 'handshake');
    } finally {
      plain.closeAllConnections();
      plain.close();
    }
  });

  it('delivers to a private endpoint with the CA bundle it is given', async () => {
    const sink = await sinkWith((c) => c.valid);
    const result = await attempt(sink.origin, certificates.ca);
    assert.deepEqual(result, { kind: 'delivered', status: 200 });
    assert.deepEqual(sink.bodies, ['{"event":1}']);
  });

  it('uses the bundle for the requests that carry it only: same origin without it, or with another, still fails', async () => {
    const sink = await sinkWith((c) => c.valid);
    assert.equal((await attempt(sink.origin, certificates.ca)).kind, 'delivered');
    // The verified keep-alive connection of the CA's pool is not reused for these.
    assertTls(await attempt(sink.origin), 'unknown_issuer');
    assertTls(await attempt(sink.origin, certificates.strangerCa), 'unknown_issuer');
    assert.equal((await attempt(sink.origin, certificates.ca)).kind, 'delivered');
    assert.equal(sink.bodies.length, 2);
    const pools = Object.keys(sender.stats()).filter((key) => key.startsWith(sink.origin));
    assert.equal(pools.length, 3, pools.join(', '));
    assert.ok(pools.every((key) => !key.includes('BEGIN CERTIFICATE')));
  });
});
