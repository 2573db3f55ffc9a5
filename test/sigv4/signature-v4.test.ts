// AWS Signature Version 4: each step against AWS's published test suite (four vectors in
// test/fixtures/aws-sigv4, source in its SOURCE.md), and the scheme end to end against a node:http
// server that checks every signature with the aws4 package (a signer that is not ours), one
// attempt after another with a fresh date each; the credentials and the signature kept out of
// everything stored or printed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import aws4 from 'aws4';
import { authDefinitionProblems, authSecretHeaders, syncAuth, type AuthSync } from '../../daemon/auth/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { derivedSecretsOf, redactorFor } from '../../daemon/secrets/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import { signV4, payloadHash, amzDate } from '../../daemon/sigv4/index.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';

const VECTORS = join(PACKAGE_ROOT, 'test', 'fixtures', 'aws-sigv4');

interface VectorContext {
  credentials: { access_key_id: string; secret_access_key: string; token?: string };
  region: string;
  service: string;
  sign_body: boolean;
  timestamp: string;
}

/** request.txt: "METHOD PATH HTTP/1.1", header lines "Name:value", a blank line, the body. */
function readVector(name: string) {
  const file = (part: string) => readFileSync(join(VECTORS, name, part), 'utf8');
  const context = JSON.parse(file('context.json')) as VectorContext;
  const [head, body = ''] = file('request.txt').split('\n\n');
  const [requestLine, ...headerLines] = head.split('\n');
  const [method, target] = requestLine.split(' ');
  const headers: Record<string, string> = {};
  for (const line of headerLines.filter((header) => header !== '')) {
    const at = line.indexOf(':');
    const name = line.slice(0, at).toLowerCase();
    headers[name] = headers[name] === undefined ? line.slice(at + 1) : `${headers[name]},${line.slice(at + 1)}`;
  }
  return { context, method, url: new URL(target, `https://${headers.host}`), headers, body, expected: { canonical: file('header-canonical-request.txt'), stringToSign: file('header-string-to-sign.txt'), signature: file('header-signature.txt').trim() } };
}

const KEY_ID = 'AKIDEXAMPLE0CLOUDSIGN';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY-cloud-signing';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE-session-token/for+the+test==';

function syncOf(values: Record<string, unknown> = {}): AuthSync {
  const definition = {
    parameters: [
      { name: 'region', displayName: 'Region' },
      { name: 'access_key_id', displayName: 'Access key id', secret: true },
      { name: 'secret_access_key', displayName: 'Secret access key', secret: true },
      { name: 'session_token', displayName: 'Session token', secret: true, required: false },
    ],
    awsSigV4: { accessKeyId: 'access_key_id', secretAccessKey: 'secret_access_key', sessionToken: 'session_token', region: 'region', service: 'kinesis' },
    request: { method: 'POST', url: 'unused', body: 'unused' },
  } as unknown as DestinationDefinition;
  const parameters = { region: 'eu-west-1', access_key_id: KEY_ID, secret_access_key: SECRET_KEY, session_token: SESSION_TOKEN, ...values };
  return { destination: { definition }, parameters: { values: parameters, secretValues: [KEY_ID, SECRET_KEY, SESSION_TOKEN].filter((secret) => Object.values(parameters).includes(secret)) } };
}

/** What the verifier found: the signature aws4 computes from the request as received, over the headers it says it signed. */
function aws4Verdict(request: RecordedRequest, region: string, service: string): { ok: boolean; why: string } {
  const authorization = String(request.headers.authorization ?? '');
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(request.headers[name] ?? '');
  const signer = new aws4.RequestSigner(
    { host: headers.host, method: request.method, path: request.url, headers, body: request.body, service, region, doNotModifyHeaders: true } as aws4.Request,
    { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY, sessionToken: request.headers['x-amz-security-token'] as string | undefined },
  );
  // aws4 dates a signature from its Date header or its clock; a verifier takes the one the request says it was signed at.
  (signer as unknown as { datetime: string }).datetime = headers['x-amz-date'];
  const expected = signer.sign().headers as Record<string, string>;
  // As AWS does: the content hash the request claims must be its body's.
  const claimed = request.headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== createHash('sha256').update(request.body).digest('hex')) return { ok: false, why: 'x-amz-content-sha256 is not the body\'s' };
  const ok = expected.Authorization === authorization;
  return { ok, why: ok ? '' : `expected ${expected.Authorization}` };
}

describe('sigv4 - the published test suite', () => {
  for (const name of ['get-vanilla', 'get-vanilla-query-order-key-case', 'get-vanilla-with-session-token', 'post-x-www-form-urlencoded']) {
    it(`reproduces ${name}: canonical request, string to sign and signature`, () => {
      const vector = readVector(name);
      const date = amzDate(Date.parse(vector.context.timestamp));
      const hash = payloadHash(vector.body);
      const headers: Record<string, string> = { ...vector.headers, 'x-amz-date': date };
      if (vector.context.sign_body) headers['x-amz-content-sha256'] = hash;
      if (vector.context.credentials.token !== undefined) headers['x-amz-security-token'] = vector.context.credentials.token;
      const signed = signV4(
        { method: vector.method, url: vector.url, headers, payloadHash: hash, amzDate: date, region: vector.context.region, service: vector.context.service },
        { accessKeyId: vector.context.credentials.access_key_id, secretAccessKey: vector.context.credentials.secret_access_key },
      );
      assert.equal(signed.canonicalRequest, vector.expected.canonical);
      assert.equal(signed.stringToSign, vector.expected.stringToSign);
      assert.equal(signed.signature, vector.expected.signature);
      assert.equal(signed.authorization, `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed.signedHeaders}, Signature=${vector.expected.signature}`);
    });
  }
});

describe('sigv4 - the scheme against an independent verifier', () => {
  let api: TestSink;
  const sender = new HttpSender();
  before(async () => {
    api = await startTestSink((request) => {
      const verdict = aws4Verdict(request, 'eu-west-1', 'kinesis');
      // Answers 403 the way AWS does, quoting the signature it got (as an echo a dead letter must not show).
      return verdict.ok ? { status: 200, body: '{"FailedRecordCount":0,"Records":[]}' } : { status: 403, body: JSON.stringify({ __type: 'InvalidSignatureException', message: `${verdict.why}; got ${String(request.headers.authorization)}` }) };
    });
  });
  after(async () => {
    await sender.close();
    await api.close();
  });

  function rendered(): RenderedRequest {
    return {
      method: 'POST',
      url: `${api.url}/?Action=PutRecords&b=2&a=1`,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' },
      body: JSON.stringify({ StreamName: 'example', Records: [{ Data: Buffer.from('{"event":"é"}').toString('base64'), PartitionKey: 'user-1' }] }),
    };
  }

  it('signs each attempt at send time, a retry with a fresh date, and every one verifies', async () => {
    const auth = syncAuth(syncOf())!;
    const request = rendered();
    const first = Date.parse('2026-12-07T10:00:00Z');
    const retry = first + 4 * 60 * 60_000;
    for (const now of [first, retry]) {
      const stamped = await auth.stamp(request, { now, exchange: () => Promise.reject(new Error('no exchange')) });
      const response = await sender.send(stamped);
      assert.equal(response.status, 200, response.bodyExcerpt);
    }
    assert.deepEqual(api.requests.map((sent) => sent.headers['x-amz-date']), ['20261207T100000Z', '20261207T140000Z']);
    const [a, b] = api.requests.map((sent) => String(sent.headers.authorization));
    assert.notEqual(a, b, 'a new date, a new signature');
    assert.match(b, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE0CLOUDSIGN\/20261207\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);
    assert.equal(api.requests[1].headers['x-amz-security-token'], SESSION_TOKEN);
    assert.equal(api.requests[1].headers['x-amz-content-sha256'], payloadHash(request.body));
  });

  it('signs without a session token when the sync gives none', async () => {
    const auth = syncAuth(syncOf({ session_token: undefined }))!;
    const stamped = await auth.stamp(rendered(), { now: Date.now(), exchange: () => Promise.reject(new Error('no exchange')) });
    assert.equal(stamped.headers['x-amz-security-token'], undefined);
    assert.equal((await sender.send(stamped)).status, 200);
  });

  it('is refused by the verifier when the body changes after signing', async () => {
    const auth = syncAuth(syncOf())!;
    const stamped = await auth.stamp(rendered(), { now: Date.now(), exchange: () => Promise.reject(new Error('no exchange')) });
    const response = await sender.send({ ...stamped, body: stamped.body.replace('user-1', 'user-2') });
    assert.equal(response.status, 403);
  });

  it('keeps the secret key, the session token and the signature out of what is stored or printed', async () => {
    const sync = syncOf();
    const auth = syncAuth(sync)!;
    const request = rendered();
    const stamped = await auth.stamp(request, { now: Date.now(), exchange: () => Promise.reject(new Error('no exchange')) });
    const signature = /Signature=([0-9a-f]{64})/.exec(stamped.headers.authorization)![1];
    assert.ok(derivedSecretsOf(request).includes(signature), 'the signature is remembered as derived from a secret');
    assert.deepEqual(authSecretHeaders(sync.destination.definition), ['authorization', 'x-amz-security-token']);
    // An answer quoting the signature (the verifier's 403 does), as a dead letter's excerpt is redacted.
    const redactor = redactorFor([...sync.parameters.secretValues, ...derivedSecretsOf(request)]);
    const echo = redactor.redact(`InvalidSignatureException: got ${stamped.headers.authorization} with token ${SESSION_TOKEN}`);
    for (const secret of [signature, SESSION_TOKEN, KEY_ID]) assert.ok(!echo.includes(secret), `${secret} in ${echo}`);
  });

  it('shows a preview with the credential and the signature as placeholders, signing nothing', () => {
    const sync = syncOf();
    const masked = { ...sync.parameters.values, access_key_id: '<secret:access_key_id>', secret_access_key: '<secret:secret_access_key>', session_token: '<secret:session_token>' };
    const auth = syncAuth(sync, { mode: 'preview', parameters: masked, isPlaceholder: (name, value) => value === `<secret:${name}>` })!;
    const shown = auth.stampForPreview(rendered(), Date.parse('2026-12-07T10:00:00Z'));
    assert.equal(
      shown.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=<secret:access_key_id>/20261207/eu-west-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=<signature:secret_access_key>',
    );
    assert.equal(shown.headers['x-amz-security-token'], '<secret:session_token>');
    assert.equal(shown.headers['x-amz-date'], '20261207T100000Z');
  });

  it('refuses a sync whose credentials are not AWS credentials, naming the parameter and never the value', () => {
    assert.throws(() => syncAuth(syncOf({ access_key_id: 'not a key id!' })), (error: Error & { parameter?: string }) => error.parameter === 'access_key_id' && !error.message.includes('not a key id!'));
    assert.throws(() => syncAuth(syncOf({ region: 'Europe West' })), (error: Error & { parameter?: string }) => error.parameter === 'region');
  });

  it('refuses a definition whose credentials are not secret parameters, or whose headers set its own', () => {
    const definition = {
      parameters: [{ name: 'region', displayName: 'Region' }, { name: 'key_id', displayName: 'Key id' }, { name: 'secret', displayName: 'Secret', secret: true }],
      awsSigV4: { accessKeyId: 'key_id', secretAccessKey: 'secret', region: 'region', service: 'firehose', sessionToken: 'missing' },
      request: { method: 'POST', url: 'unused', body: 'unused', headers: { 'X-Amz-Date': '{{ parameters.region }}', Host: 'x' } },
    } as unknown as DestinationDefinition;
    const problems = authDefinitionProblems(definition, () => true).map((problem) => `${problem.pointer} ${problem.message}`);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /^\/awsSigV4\/accessKeyId .*"secret": true/);
    assert.match(problems[1], /^\/awsSigV4\/sessionToken "missing" is not a declared parameter/);
    assert.match(problems[2], /^\/request\/headers\/X-Amz-Date header X-Amz-Date is set by "awsSigV4"/);
    assert.match(problems[3], /^\/request\/headers\/Host /);
  });
});
