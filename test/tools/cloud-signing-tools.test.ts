// preview and send with the cloud schemes, on the shipped folders: preview shows the signed request
// with placeholders (SigV4's credential and signature, Pub/Sub's bearer) and asks nothing; send
// signs for real or gets a real token, and prints the request it sent with every secret masked.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import aws4 from 'aws4';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';

const EVENT = join(PACKAGE_ROOT, 'destinations', 'kinesis', 'examples', 'purchase.json');
const KEY_ID = 'AKIATOOLSTEST00001';
const SECRET_KEY = 'tools-test/secret+access+key-abcdef';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-tools-session';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_JSON = JSON.stringify({ type: 'service_account', private_key_id: 'kid-tools', private_key: PEM, client_email: 'tools@example.iam.gserviceaccount.com' });
const TOKEN = 'ya29.tools-test-access-token';

/** aws4's signature of the request as received (the headers it says it signed, at its x-amz-date) equals the one it carries. */
function sigv4Verified(request: RecordedRequest, service: string, region: string): boolean {
  const authorization = String(request.headers.authorization ?? '');
  const headers: Record<string, string> = {};
  for (const name of /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? []) headers[name] = String(request.headers[name] ?? '');
  if (headers['x-amz-content-sha256'] !== createHash('sha256').update(request.body).digest('hex')) return false;
  const signer = new aws4.RequestSigner({ host: headers.host, method: request.method, path: request.url, headers, body: request.body, service, region, doNotModifyHeaders: true } as aws4.Request, { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY });
  (signer as unknown as { datetime: string }).datetime = headers['x-amz-date'];
  return (signer.sign().headers as Record<string, string>).Authorization === authorization;
}

describe('tools with the cloud signing schemes', () => {
  const temp = tempDir();
  let sink: TestSink;
  const env = { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_SESSION_TOKEN: SESSION_TOKEN, GOOGLE_SERVICE_ACCOUNT_KEY: KEY_JSON };

  before(async () => {
    sink = await startTestSink((request) => {
      if (request.url === '/google/token') {
        const [header, claims, signature] = (new URLSearchParams(request.body).get('assertion') ?? '').split('.');
        const ok = verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature ?? '', 'base64url'));
        return ok ? { status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 3599 }) } : { status: 400, body: '{"error":"invalid_grant"}' };
      }
      if (request.url.startsWith('/kinesis')) return sigv4Verified(request, 'kinesis', 'eu-west-1') ? { status: 200, body: '{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-0"}]}' } : { status: 403, body: `{"message":"bad signature ${request.headers.authorization}"}` };
      // Pub/Sub: answers with the bearer it got, as an echo the output must mask.
      return request.headers.authorization === `Bearer ${TOKEN}` ? { status: 200, body: JSON.stringify({ messageIds: ['1'], echo: request.headers.authorization }) } : { status: 401, body: '{}' };
    });
    writeFiles(temp.dir, {
      'kinesis.json': {
        parameters: { region: 'eu-west-1', stream_name: 'tools', endpoint: `${sink.url}/kinesis`, access_key_id: { env: 'AWS_ACCESS_KEY_ID' }, secret_access_key: { env: 'AWS_SECRET_ACCESS_KEY' }, session_token: { env: 'AWS_SESSION_TOKEN' } },
        fieldMappings: { partition_key: { scope: 'field', property: 'user_id' } },
      },
      'pubsub.json': {
        parameters: { project_id: 'p', topic: 't', endpoint: `${sink.url}/pubsub`, oauth_endpoint: `${sink.url}/google/token`, service_account_key: { env: 'GOOGLE_SERVICE_ACCOUNT_KEY' } },
      },
      'event.json': (JSON.parse(readFileSync(EVENT, 'utf8')) as { event: object }).event,
    });
  });

  after(async () => {
    await sink.close();
    temp.remove();
  });

  const secrets = [KEY_ID, SECRET_KEY, SESSION_TOKEN, PEM, TOKEN];
  const leaked = (output: string) => secrets.filter((secret) => output.includes(secret));

  it('preview shows the SigV4 headers with the credential and signature as placeholders, and nothing secret', async () => {
    const result = await runCli(['preview', 'destinations/kinesis', '--event', join(temp.dir, 'event.json'), '--sync', join(temp.dir, 'kinesis.json'), '--format', 'json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const { headers } = JSON.parse(result.stdout) as { headers: Record<string, string> };
    assert.match(headers.authorization, /^AWS4-HMAC-SHA256 Credential=<secret:access_key_id>\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=<signature:secret_access_key>$/);
    assert.equal(headers['x-amz-security-token'], '<secret:session_token>');
    assert.deepEqual(leaked(result.stdout + result.stderr), []);
    assert.equal(sink.requests.length, 0);
  });

  it('send signs for real (the receiver verifies it with aws4) and prints the signed request masked', async () => {
    const result = await runCli(['send', 'destinations/kinesis', '--event', join(temp.dir, 'event.json'), '--sync', join(temp.dir, 'kinesis.json')], { env });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^HTTP 200\n/);
    assert.match(result.stderr, /^> POST http:\/\/127\.0\.0\.1:\d+\/kinesis\/$/m);
    assert.match(result.stderr, /^> authorization: AWS4-HMAC-SHA256 Credential=\[redacted\]\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=\[redacted\]$/m);
    assert.match(result.stderr, /^> x-amz-security-token: \[redacted\]$/m);
    const signature = /Signature=([0-9a-f]{64})/.exec(String(sink.requests.at(-1)!.headers.authorization))![1];
    assert.deepEqual(leaked(result.stdout + result.stderr), []);
    assert.ok(!(result.stdout + result.stderr).includes(signature), 'the signature is masked too');
  });

  it('preview shows the Pub/Sub bearer as a placeholder and fetches no token', async () => {
    const before = sink.requests.length;
    const result = await runCli(['preview', 'destinations/pubsub', '--event', join(temp.dir, 'event.json'), '--sync', join(temp.dir, 'pubsub.json'), '--format', 'json'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { headers: Record<string, string> }).headers.authorization, 'Bearer <secret:oauth_token>');
    assert.equal(sink.requests.length, before);
    assert.deepEqual(leaked(result.stdout + result.stderr), []);
  });

  it('send exchanges a signed JWT for a token, publishes with it, and prints neither the key, the JWT nor the token', async () => {
    const result = await runCli(['send', 'destinations/pubsub', '--event', join(temp.dir, 'event.json'), '--sync', join(temp.dir, 'pubsub.json')], { env });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [tokenRequest, publish] = sink.requests.slice(-2);
    assert.equal(tokenRequest.url, '/google/token');
    assert.equal(publish.url, '/pubsub/v1/projects/p/topics/t:publish');
    assert.match(result.stderr, /^> authorization: Bearer \[redacted\]$/m);
    assert.match(result.stdout, /"echo":"Bearer \[redacted\]"/);
    const assertion = new URLSearchParams(tokenRequest.body).get('assertion')!;
    assert.deepEqual(leaked(result.stdout + result.stderr), []);
    assert.ok(!(result.stdout + result.stderr).includes(assertion));
  });
});
