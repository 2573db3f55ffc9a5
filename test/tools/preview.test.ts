import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { headerId } from '../../daemon/render/index.js';
import { runCli, runShell } from '../helpers/cli.js';
import { baseDefinition, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';
import { HOSTILE_IDS } from '../helpers/hostile-ids.js';
import { startRecordingSink, type RecordingSink } from '../helpers/sink.js';

/** A Standard Webhooks signing key, as the shipped webhook destination takes it. */
const SIGNING_KEY = `whsec_${Buffer.from('a test signing key of 32 bytes!!').toString('base64')}`;

const purchase = {
  event_type: 'purchase',
  user_id: 'user-1234',
  time: 1641490144000,
  insert_id: 'ins-42',
  event_properties: { item: 'Blue shoes', price: 79.99, tags: ['sale'] },
};

/** Everything a shell or a JSON encoder could get wrong. */
const awkward = {
  event_type: "it's $HOME `uname` \\ \"quoted\"",
  user_id: "o'brien",
  // It is also the webhook-id and idempotency-key headers: quotes and dollars in a header, too.
  insert_id: "ins-it's $X `awkward`",
  event_properties: { text: 'line one\nline two\r\n\ttab', unicode: 'ünï 😀 中文 \u2028', dollars: '$(rm -rf /) ${PATH}', big: 12345678901234567890, nested: { list: [1, 'two', null, true] } },
};

describe('tools preview', () => {
  const temp = tempDir();
  after(() => temp.remove());
  const file = (name: string) => join(temp.dir, name);
  writeFiles(temp.dir, {
    'purchase.json': purchase,
    'awkward.json': awkward,
    'identify.json': { event_type: '$identify', user_id: 'user-1234', user_properties: { $set: { plan: 'pro' } } },
    'bad-event.json': { event_type: 'purchase' },
    'broken.json': '{"event_type": "x",\n  "user_id" "u"}',
  });

  it('prints a cURL command by default, with secrets masked', async () => {
    const result = await runCli(['preview', 'destinations/webhook', '--event', file('purchase.json')], { env: { WEBHOOK_SIGNING_SECRET: SIGNING_KEY } });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^curl -X POST 'http:\/\/127\.0\.0\.1:3000\/webhook' \\\n/);
    assert.match(result.stdout, /-H 'webhook-signature: v1,<signature:signing_secret>'/);
    assert.match(result.stdout, /-H 'idempotency-key: ins-42'/);
    assert.match(result.stdout, /-H 'webhook-id: ins-42'/);
    assert.doesNotMatch(result.stdout, new RegExp(SIGNING_KEY.slice(6, 20)));
  });

  it('prints {method, url, headers, body} with the body parsed with --format json', async () => {
    const result = await runCli(['preview', 'destinations/example', '--event', file('purchase.json'), '--format', 'json'], { env: { EXAMPLE_API_KEY: 'k' } });
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout), {
      method: 'POST',
      url: 'http://127.0.0.1:3000/example',
      headers: { 'content-type': 'application/json', authorization: 'Bearer <secret:api_key>' },
      body: { external_id: 'user-1234', app_id: 'some app id', name: 'purchase', time: '2022-01-06T17:29:04Z', properties: {} },
    });
  });

  it('shows HTTP Basic credentials decoded on stderr when they hold masked secrets, and not with --show-secrets', async () => {
    const env = { CUSTOMERIO_API_KEY: 'cio-key-123' };
    const masked = await runCli(['preview', 'destinations/customerio', '--event', file('purchase.json')], { env });
    assert.equal(masked.code, 0, masked.stderr);
    assert.match(masked.stderr, /^note: header authorization is Basic base64 of "demo-site:<secret:api_key>" \(placeholders stand for the secrets\)$/m);
    assert.match(masked.stdout, /-H 'authorization: Basic ZGVtby1zaXRlOjxzZWNyZXQ6YXBpX2tleT4='/, 'the command itself is unchanged');
    const shown = await runCli(['preview', 'destinations/customerio', '--event', file('purchase.json'), '--show-secrets'], { env });
    assert.doesNotMatch(shown.stderr, /note: header/);
  });

  it('shows secret values with --show-secrets', async () => {
    const result = await runCli(['preview', 'destinations/example', '--event', file('purchase.json'), '--format', 'json', '--show-secrets'], { env: { EXAMPLE_API_KEY: 'k-live-1' } });
    assert.equal(JSON.parse(result.stdout).headers.authorization, 'Bearer k-live-1');
  });

  it('previews an unresolved secret as a visible placeholder, with a warning', async () => {
    const result = await runCli(['preview', 'destinations/example', '--event', file('purchase.json'), '--show-secrets'], { env: { EXAMPLE_API_KEY: '' } });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /-H 'authorization: Bearer <unresolved:api_key>'/);
    assert.match(result.stderr, /^warning: secret parameter api_key is not resolved \(environment variable EXAMPLE_API_KEY is not set\)/m);
  });

  it('previews a batched destination as a one-event batch', async () => {
    const result = await runCli(['preview', 'destinations/braze', '--event', file('purchase.json'), '--format', 'json'], { env: { BRAZE_API_KEY: 'b' } });
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout).body, {
      events: [{ external_id: 'user-1234', name: 'purchase', time: '2022-01-06T17:29:04Z', properties: { item: 'Blue shoes', price: 79.99, tags: ['sale'] } }],
    });
  });

  it('renders an identify event with the identify request', async () => {
    const result = await runCli(['preview', 'destinations/customerio', '--event', file('identify.json'), '--format', 'json'], { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.equal(result.code, 0);
    const preview = JSON.parse(result.stdout);
    assert.equal(preview.method, 'PUT');
    assert.deepEqual(preview.body, { plan: 'pro', id: 'user-1234' });
  });

  it('shows only what changed since --previous for a sync that forwards identify changes, with mapped fields from the whole identify', async () => {
    writeFiles(temp.dir, {
      'changes-sync.json': { parameters: { site_id: 's', api_key: { env: 'CUSTOMERIO_API_KEY' } }, fieldMappings: { id: { scope: 'field', property: 'user_id' }, email: { scope: 'user', property: 'email' } }, identifyForwarding: 'changes' },
      'changes-identify.json': { event_type: '$identify', user_id: 'user-1234', user_properties: { $set: { plan: 'pro', email: 'ada@example.com', seats: 3 } } },
      'previous.json': { plan: 'free', email: 'ada@example.com', seats: 3 },
    });
    const args = ['preview', 'destinations/customerio', '--event', file('changes-identify.json'), '--sync', file('changes-sync.json'), '--format', 'json'];
    const result = await runCli([...args, '--previous', file('previous.json')], { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).body, { plan: 'pro', email: 'ada@example.com', id: 'user-1234' });
    const whole = await runCli(args, { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.deepEqual(JSON.parse(whole.stdout).body, { plan: 'pro', email: 'ada@example.com', seats: 3, id: 'user-1234' });
    assert.match(whole.stderr, /warning: the sync forwards identify changes only: this is what a user's first identify sends/);
  });

  it('prints nothing to send, exit 0, when the identify changes nothing in --previous', async () => {
    writeFiles(temp.dir, { 'same.json': { plan: 'pro', email: 'ada@example.com', seats: 3 } });
    const args = ['preview', 'destinations/customerio', '--event', file('changes-identify.json'), '--sync', file('changes-sync.json'), '--previous', file('same.json')];
    const result = await runCli(args, { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /unchanged: this identify changes nothing in --previous, so the daemon sends nothing/);
  });

  it('refuses --previous that is not a JSON object, naming the file and place, and on a sync that sends identifies whole', async () => {
    writeFiles(temp.dir, { 'previous-list.json': ['plan'], 'previous-broken.json': '{"plan": }' });
    const args = ['preview', 'destinations/customerio', '--event', file('changes-identify.json'), '--sync', file('changes-sync.json'), '--previous'];
    const list = await runCli([...args, file('previous-list.json')], { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.equal(list.code, 1);
    assert.match(list.stderr, /previous-list\.json: --previous must be a JSON object/);
    const broken = await runCli([...args, file('previous-broken.json')], { env: { CUSTOMERIO_API_KEY: 'c' } });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /previous-broken\.json:1:\d+: invalid JSON/);
    const whole = await runCli(['preview', 'destinations/webhook', '--event', file('identify.json'), '--previous', file('previous.json')]);
    assert.equal(whole.code, 1);
    assert.match(whole.stderr, /--previous applies to \$identify events through a sync with identifyForwarding "changes"; webhook\.default does not forward changes only/);
  });

  it('exits 1 for an identify event the destination cannot send', async () => {
    const result = await runCli(['preview', 'destinations/intercom', '--event', file('identify.json')], { env: { INTERCOM_ACCESS_TOKEN: 'i' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /destination intercom has no identify request/);
  });

  it('warns when the sync filter would drop the event, and still previews it', async () => {
    writeFiles(temp.dir, { 'signup.json': { ...purchase, event_type: 'page_view' } });
    const result = await runCli(['preview', 'destinations/intercom', '--event', file('signup.json')], { env: { INTERCOM_ACCESS_TOKEN: 'i' } });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: the sync's filter drops this event \(event type "page_view" is not in filter\.eventTypes\)/);
  });

  it('exits 1 for an invalid event or broken JSON, naming the place', async () => {
    const invalid = await runCli(['preview', 'destinations/webhook', '--event', file('bad-event.json')]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /bad-event\.json: invalid event: event needs a user_id or a device_id/);
    const broken = await runCli(['preview', 'destinations/webhook', '--event', file('broken.json')]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken\.json:2:13: invalid JSON: colon expected/);
  });

  it('exits 1 with the problems when the folder is invalid', async () => {
    const result = await runCli(['preview', 'test/fixtures/invalid/template-syntax', '--event', file('purchase.json')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /body\.njk:3:39: template syntax error/);
  });

  it('exits 1 when the event cannot be rendered', async () => {
    writeFiles(temp.dir, { 'anonymous.json': { event_type: 'purchase', device_id: 'd-1', time: 1 } });
    const result = await runCli(['preview', 'destinations/intercom', '--event', file('anonymous.json')], { env: { INTERCOM_ACCESS_TOKEN: 'i' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /required field user_id \(from field user_id\) has no value/);
  });

  it('exits 2 on usage mistakes', async () => {
    assert.equal((await runCli(['preview', 'destinations/webhook'])).code, 2);
    assert.equal((await runCli(['preview', '--event', file('purchase.json')])).code, 2);
    assert.equal((await runCli(['preview', 'destinations/webhook', '--event', file('purchase.json'), '--format', 'xml'])).code, 2);
  });
});

/** An insert_id HTTP cannot carry (issue 20): an emoji, a line break that tries to add a header, NUL, an unpaired surrogate. */
const hostileId = { ...purchase, insert_id: 'x-😀\r\nX-Injected: 1\u0000\ud800' };

describe('tools preview of event data in headers', () => {
  const temp = tempDir();
  after(() => temp.remove());

  it('shows the idempotency key and webhook-id the daemon sends for every kind of id, sha256: for those HTTP cannot carry', async () => {
    const events = HOSTILE_IDS.map(([, id], index) => ({ ...purchase, insert_id: id, time: purchase.time + index }));
    writeFiles(temp.dir, { 'events.json': events });
    const result = await runCli(['preview', 'destinations/webhook', '--event', join(temp.dir, 'events.json'), '--format', 'json'], { env: { WEBHOOK_SIGNING_SECRET: SIGNING_KEY } });
    assert.equal(result.code, 0, result.stderr);
    const requests = JSON.parse(result.stdout) as Array<{ headers: Record<string, string>; body: { insert_id: string } }>;
    assert.equal(requests.length, HOSTILE_IDS.length);
    for (const [index, [what, id]] of HOSTILE_IDS.entries()) {
      const { headers, body } = requests[index];
      assert.equal(body.insert_id, id, what);
      assert.equal(headers['idempotency-key'], headerId(id), what);
      assert.equal(headers['webhook-id'], headerId(id), what);
      assert.match(headers['idempotency-key'], /^sha256:[0-9a-f]{32}$/, what);
    }
  });

  it('exits 1 naming the header and the fix when a parameter holds what a header cannot carry', async () => {
    const definition = baseDefinition();
    (definition.request as { headers: Record<string, string> }).headers['X-Tenant'] = '{{ parameters.tenant }}';
    (definition.parameters as object[]).push({ name: 'tenant', displayName: 'Tenant' });
    writeFiles(join(temp.dir, 'dest'), destinationFiles({
      'destination.json': definition,
      'syncs/default.json': { parameters: { url: 'http://127.0.0.1:9/test', api_key: { env: 'TEST_API_KEY' }, tenant: 'acme\u0007' }, fieldMappings: { external_id: { scope: 'field', property: 'user_id' } } },
    }));
    writeFiles(temp.dir, { 'purchase.json': purchase });
    const result = await runCli(['preview', join(temp.dir, 'dest'), '--event', join(temp.dir, 'purchase.json')], { env: { TEST_API_KEY: 'k' } });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^destinations preview: header x-tenant holds a control character, which an HTTP header cannot carry: .*fix the parameter's value, or encode it in the template \(\| urlencode, \| base64 or \| sha256\) \(the daemon dead-letters it as invalid_header\)$/m);
  });
});

describe('tools preview cURL round trip', () => {
  let sink: RecordingSink;
  const temp = tempDir();
  before(async () => {
    sink = await startRecordingSink();
  });
  after(async () => {
    await sink.close();
    temp.remove();
  });

  for (const [name, event] of [
    ['a plain event', purchase],
    ['an event full of quotes, dollars, newlines and unicode', awkward],
    ['an event whose insert_id HTTP cannot carry', hostileId],
  ] as const) {
    it(`delivers exactly the previewed body and headers of ${name} when pasted into sh`, async () => {
      writeFiles(temp.dir, {
        'event.json': event,
        'sync.json': { parameters: { url: `${sink.url}/hook?x='y'`, signing_secret: { env: 'WEBHOOK_SIGNING_SECRET' } }, identifyForwarding: true },
      });
      const args = ['preview', 'destinations/webhook', '--event', join(temp.dir, 'event.json'), '--sync', join(temp.dir, 'sync.json'), '--show-secrets'];
      const env = { WEBHOOK_SIGNING_SECRET: SIGNING_KEY };
      const [curl, json] = await Promise.all([runCli(args, { env }), runCli([...args, '--format', 'json'], { env })]);
      assert.equal(curl.code, 0, curl.stderr);
      const previewed = JSON.parse(json.stdout) as { method: string; url: string; headers: Record<string, string>; body: unknown };

      const before = sink.received.length;
      const shell = await runShell(curl.stdout);
      assert.equal(shell.code, 0, shell.stderr);
      assert.equal(sink.received.length, before + 1);
      const got = sink.received[before];
      assert.equal(got.method, previewed.method);
      assert.equal(`${sink.url}${got.url}`, previewed.url);
      // The two previews ran apart: their timestamps (and so signatures) may differ by a second.
      const stamped = new Set(['webhook-timestamp', 'webhook-signature']);
      for (const [header, value] of Object.entries(previewed.headers)) if (!stamped.has(header)) assert.equal(got.headers[header], value, header);
      assert.equal(got.headers['webhook-id'], headerId(event.insert_id));
      assert.equal(got.headers['x-injected'], undefined);
      assert.deepEqual(new Webhook(SIGNING_KEY).verify(got.body, got.headers as Record<string, string>), JSON.parse(JSON.stringify(event)));
      assert.deepEqual(JSON.parse(got.body), previewed.body);
      assert.deepEqual(JSON.parse(got.body), JSON.parse(JSON.stringify(event)));
    });
  }
});
