// The seam composing two schemes on one sync, as a destination with both `signing` and `oauth` has
// them: each attempt signed (in place, on the rendered request) and given the bearer (on a copy), a
// 401 refreshing the token and sending once more, newly signed; real token endpoint and API on
// node:http, the signature checked by the standardwebhooks package.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { syncAuth, authSecretHeaders, type AuthSync } from '../../daemon/auth/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { derivedSecretsOf } from '../../daemon/secrets/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';

const KEY = `whsec_${Buffer.from('sync-auth test key, 32 bytes ok!').toString('base64')}`;

function syncOf(tokenBase: string): AuthSync {
  const definition = {
    signing: { scheme: 'standard-webhooks', secrets: ['signing_key'] },
    oauth: { tokenUrl: '{{ parameters.auth_url }}/oauth/token', clientId: 'client', clientSecret: '{{ parameters.client_secret }}' },
    request: { method: 'POST', url: 'unused', body: 'unused' },
  } as unknown as DestinationDefinition;
  return { destination: { definition }, parameters: { values: { auth_url: tokenBase, client_secret: 'cs-secret-value', signing_key: KEY }, secretValues: ['cs-secret-value', KEY] } };
}

describe('auth - schemes composed on one sync', () => {
  let endpoint: TestSink;
  let api: TestSink;
  const sender = new HttpSender();
  before(async () => {
    endpoint = await startTestSink((_request, index) => ({ status: 200, body: JSON.stringify({ access_token: `tok-${index + 1}`, token_type: 'Bearer', expires_in: 3600 }) }));
    // tok-1 was revoked: the API answers 401 to it and takes tok-2.
    api = await startTestSink((request) => (request.headers.authorization === 'Bearer tok-2' ? { status: 202 } : { status: 401 }));
  });
  after(async () => {
    await sender.close();
    await endpoint.close();
    await api.close();
  });

  it('signs every attempt and gives it the bearer; a 401 refreshes the token and sends once more', async () => {
    const sync = syncOf(endpoint.url);
    const auth = syncAuth(sync)!;
    assert.equal(syncAuth(sync), auth, 'prepared once per loaded sync');
    const rendered: RenderedRequest = { method: 'POST', url: `${api.url}/events`, headers: { 'content-type': 'application/json' }, body: '{"event":"purchase"}' };
    auth.rendered(rendered, () => 'ins-1');
    const refused: number[] = [];
    const response = await auth.send(rendered, {
      send: (request) => sender.send(request),
      exchange: (request, excerptBytes) => sender.send(request, { excerptBytes }),
      refused: (answer) => refused.push(answer.status),
    });
    assert.equal(response.status, 202);
    assert.deepEqual(refused, [401]);
    assert.deepEqual(api.requests.map((request) => request.headers.authorization), ['Bearer tok-1', 'Bearer tok-2']);
    for (const request of api.requests) {
      assert.equal(request.headers['webhook-id'], 'ins-1');
      assert.deepEqual(new Webhook(KEY).verify(request.body, request.headers as Record<string, string>), { event: 'purchase' });
    }
    // The rendered request (what a dead letter stores) holds the last signature and never a token; both are remembered for redaction.
    assert.equal(rendered.headers.authorization, undefined);
    assert.equal(rendered.headers['webhook-signature'], api.requests[1].headers['webhook-signature']);
    const derived = derivedSecretsOf(rendered);
    assert.ok(derived.includes('tok-2') && derived.includes(rendered.headers['webhook-signature'].slice(3)));
    assert.deepEqual(authSecretHeaders(sync.destination.definition), ['webhook-signature', 'authorization']);
  });

  it('stamps a preview with placeholders and fetches nothing', () => {
    const sync = syncOf(endpoint.url);
    const before = endpoint.requests.length;
    const masked = { ...sync.parameters.values, signing_key: '<secret:signing_key>' };
    const auth = syncAuth(sync, { mode: 'preview', parameters: masked, isPlaceholder: (name, value) => value === `<secret:${name}>` })!;
    const request: RenderedRequest = { method: 'POST', url: `${api.url}/events`, headers: {}, body: '{}' };
    auth.rendered(request, () => undefined);
    const shown = auth.stampForPreview(request);
    assert.equal(shown.headers['webhook-signature'], 'v1,<signature:signing_key>');
    assert.equal(shown.headers.authorization, 'Bearer <secret:oauth_token>');
    assert.match(shown.headers['webhook-id'], /^[0-9a-f]{32}$/, 'without an id, a hash of the body');
    assert.equal(endpoint.requests.length, before);
  });
});
