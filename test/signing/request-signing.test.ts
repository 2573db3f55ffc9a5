// Signatures checked by an independent implementation of the spec: the `standardwebhooks` package
// (its own base64 and SHA-256, not node:crypto), which reads the clock, so tests set it.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { RenderedRequest } from '../../daemon/render/index.js';
import type { Signing } from '../../schema/generated/destination.js';
import { derivedSecretsOf, rememberDerivedSecrets } from '../../daemon/secrets/index.js';
import { restampSignature, signingKey, signingKeys, signRequest, SigningSecretError, type SigningSync } from '../../daemon/signing/index.js';

const KEY_A = `whsec_${Buffer.from('the first key, thirty-two bytes!').toString('base64')}`;
const KEY_B = `whsec_${Buffer.from('the second key, also 32 bytes :)').toString('base64')}`;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0, 250);
const MINUTE = 60_000;

const signing: Signing = { scheme: 'standard-webhooks', secrets: ['key', 'old_key'] };

function syncWith(values: Record<string, unknown>): SigningSync {
  return { destination: { definition: { signing } }, parameters: { values } };
}

function rendered(body = '{"event_type":"purchase","insert_id":"ins-1","note":"ünï 😀"}'): RenderedRequest {
  return { method: 'POST', url: 'http://127.0.0.1/hook', headers: { 'content-type': 'application/json' }, body };
}

/** The receiver's side, at the time the test sets: the body parsed when every check passes. */
function verify(t: TestContext, key: string, request: RenderedRequest, at: number): unknown {
  t.mock.timers.enable({ apis: ['Date'], now: at });
  try {
    return new Webhook(key).verify(request.body, request.headers);
  } finally {
    t.mock.timers.reset();
  }
}

describe('signing - Standard Webhooks', () => {
  it('signs id.timestamp.body so that a Standard Webhooks library accepts the request', (t) => {
    const sync = syncWith({ key: KEY_A });
    const request = signRequest(rendered(), signingKeys(signing, sync.parameters.values), 'ins-1', T0);
    assert.equal(request.headers['webhook-id'], 'ins-1');
    assert.equal(request.headers['webhook-timestamp'], String(Math.floor(T0 / 1_000)));
    assert.match(request.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(verify(t, KEY_A, request, T0), JSON.parse(request.body));
  });

  it('signs with every key given, space-separated, so a receiver that knows either one accepts it', (t) => {
    const sync = syncWith({ key: KEY_B, old_key: KEY_A });
    const request = signRequest(rendered(), signingKeys(signing, sync.parameters.values), 'ins-1', T0);
    assert.equal(request.headers['webhook-signature'].split(' ').length, 2);
    assert.ok(verify(t, KEY_A, request, T0));
    assert.ok(verify(t, KEY_B, request, T0));
    const stranger = `whsec_${Buffer.from('a key nobody gave to the sender!').toString('base64')}`;
    assert.throws(() => verify(t, stranger, request, T0), /No matching signature found/);
  });

  it('is refused by the receiver when the body, the id or the timestamp was changed', (t) => {
    const request = signRequest(rendered(), signingKeys(signing, { key: KEY_A }), 'ins-1', T0);
    const tampered = [
      { ...request, body: request.body.replace('purchase', 'refund') },
      { ...request, headers: { ...request.headers, 'webhook-id': 'ins-2' } },
      { ...request, headers: { ...request.headers, 'webhook-timestamp': String(Number(request.headers['webhook-timestamp']) + 1) } },
    ];
    for (const forged of tampered) assert.throws(() => verify(t, KEY_A, forged, T0), /No matching signature found/);
  });

  it('is refused by the receiver when its timestamp is more than five minutes old', (t) => {
    const request = signRequest(rendered(), signingKeys(signing, { key: KEY_A }), 'ins-1', T0);
    assert.ok(verify(t, KEY_A, request, T0 + 4 * MINUTE));
    assert.throws(() => verify(t, KEY_A, request, T0 + 6 * MINUTE), /Message timestamp too old/);
  });

  it('renews timestamp and signature before an attempt made minutes after the render (an in-process retry)', (t) => {
    const sync = syncWith({ key: KEY_B, old_key: KEY_A });
    const request = signRequest(rendered(), signingKeys(signing, sync.parameters.values), 'ins-1', T0);
    const first = request.headers['webhook-signature'];
    const later = T0 + 10 * MINUTE;
    assert.throws(() => verify(t, KEY_A, request, later), /too old/, 'the request as rendered would be refused');
    const sent = restampSignature(sync, request, later);
    assert.equal(sent, request, 'renewed in place: the dead letter and the trace see what was sent');
    assert.equal(sent.headers['webhook-timestamp'], String(Math.floor(later / 1_000)));
    assert.equal(sent.headers['webhook-id'], 'ins-1', 'the id stays: it is how a receiver drops a duplicate');
    assert.notEqual(sent.headers['webhook-signature'], first);
    assert.ok(verify(t, KEY_A, sent, later));
    assert.ok(verify(t, KEY_B, sent, later));
  });

  it('leaves a request signed in the same second as it is (no second HMAC)', () => {
    const sync = syncWith({ key: KEY_A });
    const request = signRequest(rendered(), signingKeys(signing, sync.parameters.values), 'ins-1', T0);
    const before = { ...request.headers };
    restampSignature(sync, request, T0 + 700);
    assert.deepEqual(request.headers, before);
  });

  it('remembers the signatures as derived from a secret, and only the current ones after a renewal', () => {
    const sync = syncWith({ key: KEY_B, old_key: KEY_A });
    const request = signRequest(rendered(), signingKeys(signing, sync.parameters.values), 'ins-1', T0);
    const signatures = (value: string) => value.split(' ').map((signature) => signature.slice(3));
    assert.deepEqual(derivedSecretsOf(request), signatures(request.headers['webhook-signature']));
    restampSignature(sync, request, T0 + MINUTE);
    assert.deepEqual(derivedSecretsOf(request), signatures(request.headers['webhook-signature']));
  });

  it('keeps what the render derived from other secrets when it adds the signatures', () => {
    const request = rendered();
    // As renderForSync leaves a request whose template built Basic credentials with a filter.
    const basic = Buffer.from('site:api-key-123').toString('base64');
    rememberDerivedSecrets(request, [basic]);
    signRequest(request, signingKeys(signing, { key: KEY_A }), 'ins-1', T0);
    assert.deepEqual(derivedSecretsOf(request), [basic, request.headers['webhook-signature'].slice(3)]);
  });

  it('sends the request unsigned when no signing secret is given', () => {
    const request = signRequest(rendered(), signingKeys(signing, {}), 'ins-1', T0);
    assert.deepEqual(Object.keys(request.headers), ['content-type']);
    assert.equal(restampSignature(syncWith({}), request, T0 + MINUTE), request);
  });

  it('takes the webhook-id from a hash of the body when there is no insert_id, the same on every render', () => {
    const keys = signingKeys(signing, { key: KEY_A });
    const a = signRequest(rendered('{"event_type":"x"}'), keys, undefined, T0);
    const b = signRequest(rendered('{"event_type":"x"}'), keys, undefined, T0 + MINUTE);
    assert.match(a.headers['webhook-id'], /^[0-9a-f]{32}$/);
    assert.equal(a.headers['webhook-id'], b.headers['webhook-id']);
  });

  it('refuses a secret that is not whsec_ and 24 to 64 bytes of base64, never quoting it', () => {
    const cases: Array<[string, RegExp]> = [
      ['hunter2-plain-shared-secret', /starts with "whsec_"/],
      [`whsec_${'#'.repeat(40)}`, /is not base64/],
      [`whsec_${Buffer.alloc(16, 7).toString('base64')}`, /is 16 bytes; Standard Webhooks keys are 24 to 64 random bytes/],
      [`whsec_${Buffer.alloc(65, 7).toString('base64')}`, /is 65 bytes/],
    ];
    for (const [secret, why] of cases) {
      assert.throws(() => signingKey(secret), (error: Error) => error instanceof SigningSecretError && why.test(error.message) && !error.message.includes(secret.slice(6)));
    }
    assert.throws(
      () => signingKeys(signing, { key: KEY_A, old_key: 'not-a-key' }),
      (error: Error) => error instanceof SigningSecretError && error.parameter === 'old_key' && /^parameter old_key is not a Standard Webhooks signing secret/.test(error.message),
    );
    assert.doesNotThrow(() => signingKey(`whsec_${Buffer.alloc(24, 1).toString('base64').replace(/=+$/, '')}`), 'padding is optional');
  });
});
