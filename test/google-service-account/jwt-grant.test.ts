// Google's service-account JWT grant: a node:http token endpoint checks what Google's and RFC 7523's
// endpoints check (the grant type, the JWT's RS256 signature with the service account's public key,
// its iss, scope, aud, iat and exp) and answers a token; the API takes only that token. The token is
// cached like an OAuth2 client-credentials token (the same owner, OAuthToken), refreshed on a 401, and
// the key, the JWT and the token are kept out of everything stored or printed.
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { authDefinitionProblems, syncAuth, type AuthSync } from '../../daemon/auth/index.js';
import { JWT_BEARER_GRANT_TYPE } from '../../daemon/google-service-account/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { derivedSecretsOf, redactorFor } from '../../daemon/secrets/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';

const SCOPE = 'https://www.googleapis.com/auth/pubsub';
const CLIENT_EMAIL = 'events@example-project.iam.gserviceaccount.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY_JSON = JSON.stringify({ type: 'service_account', project_id: 'example-project', private_key_id: 'kid-1234', private_key: PEM, client_email: CLIENT_EMAIL, token_uri: 'https://oauth2.googleapis.com/token' });

/** The JWT's claims once its signature is checked with `key`; throws saying what is wrong. */
function verifiedClaims(assertion: string, key: KeyObject): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const parts = assertion.split('.');
  if (parts.length !== 3) throw new Error('not a JWS compact serialisation');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'RS256') throw new Error(`alg ${String(header.alg)}`);
  if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'))) throw new Error('bad signature');
  return { header, claims: JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as Record<string, unknown> };
}

describe('google service account - the JWT grant against a verifying token endpoint', () => {
  let endpoint: TestSink;
  let api: TestSink;
  const sender = new HttpSender();
  const seen: Array<{ header: Record<string, unknown>; claims: Record<string, unknown> }> = [];
  before(async () => {
    endpoint = await startTestSink((request: RecordedRequest, index) => {
      const form = new URLSearchParams(request.body);
      try {
        if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') throw new Error('not a form');
        if (form.get('grant_type') !== JWT_BEARER_GRANT_TYPE) throw new Error('grant_type');
        const verified = verifiedClaims(form.get('assertion') ?? '', publicKey);
        const { iss, scope, aud, iat, exp } = verified.claims as { iss: string; scope: string; aud: string; iat: number; exp: number };
        const now = Math.floor(Date.now() / 1_000);
        if (iss !== CLIENT_EMAIL || scope !== SCOPE || aud !== `${endpoint.url}/token`) throw new Error('iss, scope or aud');
        if (Math.abs(iat - now) > 60 || exp <= iat || exp - iat > 3_600) throw new Error('iat or exp');
        seen.push(verified);
      } catch (error) {
        // Google's answer to a bad assertion (RFC 6749 section 5.2).
        return { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: (error as Error).message }) };
      }
      return { status: 200, body: JSON.stringify({ access_token: `ya29.token-${index + 1}`, expires_in: 3599, token_type: 'Bearer' }) };
    });
    // ya29.token-1 is revoked after the first request: a 401 to it, and the next token taken.
    api = await startTestSink((request, index) => (request.headers.authorization === 'Bearer ya29.token-2' || (index === 0 && request.headers.authorization === 'Bearer ya29.token-1') ? { status: 200, body: '{"messageIds":["1"]}' } : { status: 401, body: '{"error":{"code":401}}' }));
  });
  after(async () => {
    await sender.close();
    await endpoint.close();
    await api.close();
  });

  function syncOf(key: string = KEY_JSON): AuthSync {
    const definition = {
      parameters: [{ name: 'service_account_key', displayName: 'Key', secret: true }, { name: 'token_base', displayName: 'Token base' }],
      googleServiceAccount: { key: 'service_account_key', scope: SCOPE, tokenUrl: '{{ parameters.token_base }}/token' },
      request: { method: 'POST', url: 'unused', body: 'unused' },
    } as unknown as DestinationDefinition;
    return { destination: { definition }, parameters: { values: { service_account_key: key, token_base: endpoint.url }, secretValues: [key] } };
  }

  const io = { send: (request: RenderedRequest) => sender.send(request), exchange: (request: RenderedRequest, excerptBytes: number) => sender.send(request, { excerptBytes }) };
  const publish = (): RenderedRequest => ({ method: 'POST', url: `${api.url}/v1/projects/p/topics/t:publish`, headers: { 'content-type': 'application/json' }, body: '{"messages":[{"data":"e30="}]}' });

  it('exchanges a signed JWT for a token once, uses it until refused, then fetches a new one', async () => {
    const auth = syncAuth(syncOf())!;
    const first = publish();
    assert.equal((await auth.send(first, io)).status, 200);
    assert.equal(endpoint.requests.length, 1);
    assert.deepEqual(seen[0].header, { alg: 'RS256', typ: 'JWT', kid: 'kid-1234' });
    assert.deepEqual(Object.keys(seen[0].claims).sort(), ['aud', 'exp', 'iat', 'iss', 'scope']);
    assert.equal((seen[0].claims.exp as number) - (seen[0].claims.iat as number), 3_600);
    // The cached token is used; the API refuses it (revoked): a new JWT, a new token, sent once more.
    const second = publish();
    assert.equal((await auth.send(second, io)).status, 200);
    assert.equal(endpoint.requests.length, 2);
    assert.deepEqual(api.requests.map((request) => request.headers.authorization), ['Bearer ya29.token-1', 'Bearer ya29.token-1', 'Bearer ya29.token-2']);
    assert.equal(second.headers.authorization, undefined, 'the rendered request (a dead letter) never holds the token');
    assert.ok(derivedSecretsOf(second).includes('ya29.token-2'));
  });

  it('keeps the private key, the JWT and the token out of what is printed', async () => {
    const sync = syncOf();
    const auth = syncAuth(sync)!;
    const request = publish();
    const stamped = await auth.stamp(request, { now: Date.now(), exchange: io.exchange });
    const token = stamped.headers.authorization.slice('Bearer '.length);
    const assertion = new URLSearchParams(endpoint.requests.at(-1)!.body).get('assertion')!;
    const redactor = redactorFor([...sync.parameters.secretValues, ...derivedSecretsOf(request)]);
    const echoed = redactor.redact(`401 for ${stamped.headers.authorization}; key ${KEY_JSON}`);
    assert.ok(!echoed.includes(token) && !echoed.includes(KEY_JSON), echoed);
    // The JWT and the PEM appear only in the token request: an endpoint's error is redacted against them (its error code alone is quoted).
    const refusing = syncOf();
    const refusingAuth = syncAuth({ ...refusing, parameters: { ...refusing.parameters, values: { ...refusing.parameters.values, token_base: `${api.url}/refuse` } } })!;
    await assert.rejects(refusingAuth.stamp(publish(), { now: Date.now(), exchange: io.exchange }), (error: Error) => {
      assert.match(error.message, /^oauth_token: token endpoint 127\.0\.0\.1:\d+ answered HTTP 401$/);
      assert.ok(!error.message.includes(assertion) && !error.message.includes(PEM));
      return true;
    });
  });

  it('shows a preview with the bearer placeholder and fetches nothing', () => {
    const sync = syncOf();
    const before = endpoint.requests.length;
    const auth = syncAuth(sync, { mode: 'preview', parameters: { ...sync.parameters.values, service_account_key: '<secret:service_account_key>' }, isPlaceholder: (name, value) => value === `<secret:${name}>` })!;
    assert.equal(auth.stampForPreview(publish()).headers.authorization, 'Bearer <secret:oauth_token>');
    assert.equal(endpoint.requests.length, before);
  });

  it('refuses a sync whose key is not a service account key, naming the parameter and never the value', () => {
    for (const bad of ['not json at all', JSON.stringify({ client_email: CLIENT_EMAIL, private_key: 'not a pem' }), JSON.stringify({ private_key: PEM })]) {
      assert.throws(
        () => syncAuth(syncOf(bad)),
        (error: Error & { parameter?: string; code?: string }) => error.code === 'google_service_account' && error.parameter === 'service_account_key' && !error.message.includes(bad) && !error.message.includes('BEGIN'),
      );
    }
  });

  it('refuses a definition whose key is not a secret parameter, whose token URL reads an event, or that sets Authorization', () => {
    const definition = {
      parameters: [{ name: 'key', displayName: 'Key' }],
      googleServiceAccount: { key: 'key', scope: SCOPE, tokenUrl: '{{ input.user_id }}/token' },
      request: { method: 'POST', url: 'unused', body: 'unused', headers: { Authorization: 'x' } },
    } as unknown as DestinationDefinition;
    const problems = authDefinitionProblems(definition, () => true).map((problem) => problem.pointer);
    assert.deepEqual(problems, ['/googleServiceAccount/key', '/googleServiceAccount/tokenUrl', '/request/headers/Authorization']);
  });
});
