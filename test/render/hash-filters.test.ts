import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hmacSha256, sha256, sha256Email, sha256Phone } from '../../daemon/render/hash-filters.js';
import { buildEventContext, compileTemplate, RenderError, SecretTracker } from '../../daemon/render/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { loadDestination, RENDER_FOR_DELIVERY, renderForSync } from '../../daemon/registry/index.js';
import { derivedSecretsOf, redactorFor, Redactor } from '../../daemon/secrets/index.js';
import { baseDefinition, baseSync, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

// Known vectors, computed outside Node (Python's hashlib and hmac).
const SHA256_TEST_EMAIL = '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b'; // "test@example.com"
const SHA256_E164 = '36a2cef4ff9bf7a1abd2a93359136b870393be4106e6c5d19b72ff564f9deca4'; // "+14155550123"
const SHA256_DIGITS = '413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a'; // "14155550123"
const SHA256_USER = '6d894aa3ee802549d7f340e7c1cf0d1c1cb14cd84f768d92ffaa6785337c4997'; // "user-42"
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SALT = 'salt-3f9c-long-secret-value';
const HMAC_USER = '913941981d23b6937b1e80013caf23c5a3d0b626ce3f83890e3843b2103c20ce'; // HMAC(SALT, "user-42")

function render(source: string, context: object): string {
  return compileTemplate(source, 'body.njk').render(context);
}

describe('render hash filters', () => {
  it('sha256 hashes text as it is, to lower-case hex', () => {
    assert.equal(sha256('user-42'), SHA256_USER);
    assert.equal(sha256(''), SHA256_EMPTY);
    assert.equal(sha256('test@example.com'), SHA256_TEST_EMAIL);
    assert.notEqual(sha256(' user-42'), SHA256_USER, 'plain sha256 does not normalise');
  });

  it('sha256_email trims and lower-cases before hashing, and keeps gmail dots', () => {
    assert.equal(sha256Email('test@example.com'), SHA256_TEST_EMAIL);
    assert.equal(sha256Email('  Test@Example.COM\n'), SHA256_TEST_EMAIL);
    assert.equal(sha256Email('\u00a0TEST@EXAMPLE.COM\t'), SHA256_TEST_EMAIL);
    assert.equal(sha256Email('ada.lovelace@gmail.com'), sha256('ada.lovelace@gmail.com'));
  });

  it('sha256_email gives null for text that is not an address, never the text itself', () => {
    for (const value of ['', '   ', 'no-at-sign', '@example.com', 'ada@', 'a b@example.com', 'a@b@example.com']) {
      assert.equal(sha256Email(value), null, JSON.stringify(value));
    }
  });

  it('sha256_phone hashes the E.164 number with its separators removed, with or without the "+"', () => {
    for (const value of ['+14155550123', '+1 (415) 555-0123', ' +1 415.555.0123 ', '+1\u00a0415\u2013555\u20130123', '+1/415/5550123']) {
      assert.equal(sha256Phone(value), SHA256_E164, value);
      assert.equal(sha256Phone(value, 'digits'), SHA256_DIGITS, value);
    }
    assert.equal(sha256Phone('+14155550123', 'e164'), SHA256_E164);
  });

  it('sha256_phone gives null for what cannot be E.164: no "+", a 0 country code, letters, too short or too long', () => {
    for (const value of ['4155550123', '(415) 555-0123', '0014155550123', '+04155550123', '+1 415 555 0123 ext 7', '+123456', '+1234567890123456', '', 14155550123]) {
      assert.equal(sha256Phone(value), null, String(value));
    }
  });

  it('sha256_phone refuses a format it does not know, naming the ones it does', () => {
    assert.throws(() => sha256Phone('+14155550123', 'E164'), /sha256_phone: the format must be "e164" or "digits"/);
  });

  it('hmac_sha256 matches RFC 4231 and a known vector, keyed by the secret', () => {
    assert.equal(hmacSha256('what do ya want for nothing?', 'Jefe'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    assert.equal(hmacSha256('user-42', SALT), HMAC_USER);
    assert.notEqual(hmacSha256('user-42', `${SALT}x`), HMAC_USER);
  });

  it('hmac_sha256 refuses a missing or empty key without quoting the value', () => {
    for (const key of [undefined, null, '', 42]) {
      assert.throws(
        () => hmacSha256('ada@example.com', key),
        (error: Error) => /hmac_sha256: the key is missing or empty/.test(error.message) && !error.message.includes('ada'),
      );
    }
    assert.throws(() => hmacSha256(null, undefined), /the key is missing/, 'a missing key fails even for a missing value');
  });

  it('every filter leaves an already hashed value (64 hex characters) alone, in lower case', () => {
    const upper = SHA256_TEST_EMAIL.toUpperCase();
    for (const filter of [sha256, sha256Email, sha256Phone, (value: unknown) => hmacSha256(value, SALT)]) {
      assert.equal(filter(SHA256_TEST_EMAIL), SHA256_TEST_EMAIL, filter.name);
      assert.equal(filter(upper), SHA256_TEST_EMAIL, filter.name);
      assert.equal(filter(filter('test@example.com') ?? SHA256_TEST_EMAIL), filter('test@example.com') ?? SHA256_TEST_EMAIL, `${filter.name} twice`);
    }
    assert.equal(sha256Email(`  ${upper} `), SHA256_TEST_EMAIL, 'trimmed first');
    assert.notEqual(sha256(`${SHA256_TEST_EMAIL}0`), `${SHA256_TEST_EMAIL}0`, '65 hex characters are hashed');
  });

  it('null and undefined pass through, numbers are hashed as their digits, lists, objects and booleans give null', () => {
    for (const filter of [sha256, sha256Email, sha256Phone, (value: unknown) => hmacSha256(value, SALT)]) {
      assert.equal(filter(null), null);
      assert.equal(filter(undefined), undefined);
    }
    assert.equal(sha256(42), sha256('42'));
    assert.equal(sha256(12345678901234567890123n), sha256('12345678901234567890123'));
    assert.equal(sha256(['a']), null);
    assert.equal(sha256Email({ email: 'a@b.c' }), null);
    assert.equal(sha256Phone(['+14155550123']), null);
    assert.equal(hmacSha256(true, SALT), null);
  });

  it('works in a template: a missing value given default(none) is written as null, and a wrong value is a render error with its place', () => {
    const source = '{"em": {{ input.email | default(none) | sha256_email | json }}, "ph": {{ input.phone | default(none) | sha256_phone("digits") | json }}, "id": {{ input.user_id | default(none) | hmac_sha256(parameters.salt) | json }}}';
    const full = JSON.parse(render(source, { input: { email: ' Test@Example.com', phone: '+1 415-555-0123', user_id: 'user-42' }, parameters: { salt: SALT } }));
    assert.deepEqual(full, { em: SHA256_TEST_EMAIL, ph: SHA256_DIGITS, id: HMAC_USER });
    const empty = JSON.parse(render(source, { input: { phone: 'call me' }, parameters: { salt: SALT } }));
    assert.deepEqual(empty, { em: null, ph: null, id: null });
    assert.throws(
      () => render(source, { input: {}, parameters: {} }),
      (error: unknown) => error instanceof RenderError && /body\.njk:1:\d+/.test(error.message) && /hmac_sha256: the key is missing/.test(error.message),
    );
  });

  it('renders the ad-platform pattern of docs/writing-a-destination.md, leaving out what is missing', () => {
    const guide = readFileSync(join(PACKAGE_ROOT, 'docs/writing-a-destination.md'), 'utf8');
    const pattern = /Personal data for ad platforms[\s\S]*?```njk\n([\s\S]*?)```/.exec(guide)?.[1];
    assert.ok(pattern, 'the pattern is in the guide');
    const parameters = { salt: SALT };
    const full = render(`{\n${pattern}}`, { mappedFields: { email: 'Test@Example.com ', phone: '+1 415 555 0123' }, input: { user_id: 'user-42' }, parameters });
    assert.deepEqual(JSON.parse(full), { user_data: { em: [SHA256_TEST_EMAIL], ph: [SHA256_E164], external_id: HMAC_USER } });
    const bare = render(`{\n${pattern}}`, { mappedFields: { phone: '415 555 0123' }, input: {}, parameters });
    assert.deepEqual(JSON.parse(bare), { user_data: {} });
  });
});

describe('render hash filters and secrets', () => {
  function derivedBy(source: string, context: object): string[] {
    const tracker = new SecretTracker([SALT]);
    tracker.run(() => compileTemplate(source, 't').render(context));
    return tracker.derived;
  }

  it('does not record an HMAC keyed by a secret as derived from it: the pseudonym stays readable in dead letters and traces', () => {
    assert.deepEqual(derivedBy('{{ input.user_id | hmac_sha256(parameters.salt) }}', { input: { user_id: 'user-42' }, parameters: { salt: SALT } }), []);
  });

  it('records a hash of a secret value as derived, keyed or not', () => {
    const context = { parameters: { salt: SALT, other: 'other-key-value' } };
    assert.deepEqual(derivedBy('{{ parameters.salt | sha256 }}', context), [sha256(SALT)]);
    assert.deepEqual(derivedBy('{{ parameters.salt | hmac_sha256(parameters.other) }}', context), [hmacSha256(SALT, 'other-key-value')]);
  });
});

describe('render hash filters through renderForSync', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('sends the hashes, not the personal data, and keeps the HMAC out of the redaction set', async () => {
    const definition = baseDefinition();
    definition.parameters = [...(definition.parameters as object[]), { name: 'salt', displayName: 'Salt', secret: true }];
    const body = '{"id": {{ mappedFields.external_id | hmac_sha256(parameters.salt) | json }}, "em": {{ input.user_properties.email | sha256_email | json }}}\n';
    const sync = baseSync();
    sync.parameters = { ...(sync.parameters as object), salt: { env: 'TEST_SALT' } };
    const dir = join(temp.dir, 'hashing');
    writeFiles(dir, destinationFiles({ 'destination.json': definition, 'body.njk': body, 'syncs/default.json': sync }));
    const load = await loadDestination(dir, { env: { TEST_API_KEY: 'k-123456', TEST_SALT: SALT } });
    assert.deepEqual(load.problems.filter((problem) => problem.severity === 'error'), []);
    const [loaded] = load.destination!.syncs;
    const event = { event_type: 'purchase', user_id: 'user-42', insert_id: 'i-1', user_properties: { email: ' Test@Example.com ' } };
    const request = renderForSync(loaded, [buildEventContext(event, loaded.selection)], 'track', RENDER_FOR_DELIVERY);
    assert.deepEqual(JSON.parse(request.body), { id: HMAC_USER, em: SHA256_TEST_EMAIL });
    assert.ok(!request.body.includes('user-42') && !request.body.toLowerCase().includes('test@example.com'));
    // What a dead letter or a span would keep of this request: the body redacted against the delivery's set.
    assert.deepEqual(derivedSecretsOf(request), []);
    const redactor = new Redactor([...loaded.parameters.secretValues, ...derivedSecretsOf(request)]);
    assert.equal(redactor.redact(request.body), request.body);
    assert.equal(redactorFor([SALT]).redact(`salt=${SALT}`), 'salt=[redacted]', 'the key itself still is redacted');
  });
});
