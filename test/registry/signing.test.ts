// The signing option as a destination folder declares it: checked when destination.json is read,
// applied through the auth seam (the daemon and send stamp each attempt, preview and the examples
// stamp placeholders), hidden wherever a request is stored.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  defaultIdempotencyKey,
  formatProblem,
  loadDestination,
  redactRequest,
  renderEventRequest,
  renderEventsForSync,
  RequestNotPossibleError,
  type DestinationLoad,
  type LoadedSync,
} from '../../daemon/registry/internal.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { REDACTED } from '../../daemon/secrets/index.js';
import { authSettingsProblems, syncAuth } from '../../daemon/auth/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { signingSecretProblems } from '../../daemon/signing/index.js';
import type { AmplitudeEvent } from '../../daemon/events/index.js';
import { baseDefinition, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

const KEY = `whsec_${Buffer.from('registry test key of 32 bytes :)').toString('base64')}`;
const OLD_KEY = `whsec_${Buffer.from('the old key that still signs: ok').toString('base64')}`;
const env = { TEST_API_KEY: 'k-123', SIGNING_KEY: KEY, OLD_SIGNING_KEY: OLD_KEY };

const purchase: AmplitudeEvent = { event_type: 'purchase', user_id: 'user-1', insert_id: 'ins-1', time: 1641490144000 };

/** The base destination with a signing key (and an optional second one for rotations). */
function signedDefinition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = baseDefinition();
  return {
    ...base,
    parameters: [
      ...(base.parameters as object[]),
      { name: 'signing_key', displayName: 'Signing key', secret: true },
      { name: 'old_signing_key', displayName: 'Old signing key', secret: true, required: false },
    ],
    signing: { scheme: 'standard-webhooks', secrets: ['signing_key', 'old_signing_key'] },
    ...overrides,
  };
}

function signedSync(parameters: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    parameters: { url: 'http://127.0.0.1:9/test', api_key: { env: 'TEST_API_KEY' }, signing_key: { env: 'SIGNING_KEY' }, ...parameters },
    fieldMappings: { external_id: { scope: 'field', property: 'user_id' } },
  };
}

function errors(load: DestinationLoad): string[] {
  return load.problems.filter((problem) => problem.severity === 'error').map((problem) => formatProblem(problem));
}

/** The request as an attempt sends it: stamped by the sync's auth schemes, as the daemon and send do. */
function asSent(sync: LoadedSync, request: RenderedRequest): Promise<RenderedRequest> {
  return syncAuth(sync)!.stamp(request, { now: Date.now(), exchange: () => Promise.reject(new Error('signing makes no request of its own')) });
}

describe('registry signing', () => {
  const temp = tempDir();
  after(() => temp.remove());
  let count = 0;
  async function load(files: Record<string, unknown>, options: { env?: NodeJS.ProcessEnv; resolveSecrets?: boolean } = {}): Promise<DestinationLoad> {
    const dir = join(temp.dir, `s${++count}`);
    writeFiles(dir, destinationFiles({ 'destination.json': signedDefinition(), 'syncs/default.json': signedSync(), ...(files as object) }));
    return loadDestination(dir, { env, ...options });
  }
  async function syncOf(files: Record<string, unknown> = {}, options: { env?: NodeJS.ProcessEnv } = {}): Promise<LoadedSync> {
    const loaded = await load(files, options);
    assert.deepEqual(errors(loaded), []);
    return loaded.destination!.syncs[0];
  }

  it('counts a signing secret as used (DECLARED vs USED), so declaring it for signing alone is valid', async () => {
    const loaded = await load({});
    assert.deepEqual(errors(loaded), []);
    const rows = loaded.parameterUsage!.filter((row) => row.name.endsWith('signing_key'));
    assert.deepEqual(rows.map((row) => [row.name, row.usedIn]), [['signing_key', ['signing']], ['old_signing_key', ['signing']]]);
  });

  it('refuses a signing secret that is not declared, or not declared secret, and a header of the scheme, at its line in destination.json', async () => {
    const base = signedDefinition();
    const loaded = await load({
      'destination.json': {
        ...base,
        parameters: [...(base.parameters as Array<{ name: string }>).filter((p) => p.name !== 'old_signing_key'), { name: 'plain', displayName: 'Plain' }],
        request: { ...(base.request as object), headers: { Authorization: 'Bearer {{ parameters.api_key }}', 'Webhook-Timestamp': '{{ parameters.plain }}' } },
        signing: { scheme: 'standard-webhooks', secrets: ['signing_key', 'plain', 'missing'] },
      },
    });
    const found = errors(loaded);
    assert.ok(found.some((line) => /destination\.json:\d+:\d+: signing secret "plain" must be declared "secret": true: .*\(at \/signing\/secrets\/1\)/.test(line)), found.join('\n'));
    assert.ok(found.some((line) => /signing secret "missing" is not a declared parameter \(declared: url, api_key, signing_key, plain\).*\(at \/signing\/secrets\/2\)/.test(line)), found.join('\n'));
    assert.ok(found.some((line) => /header Webhook-Timestamp is set by "signing": remove it from the headers .*\(at \/request\/headers\/Webhook-Timestamp\)/.test(line)), found.join('\n'));
    assert.equal(loaded.destination, undefined);
  });

  it('refuses an unknown scheme through the schema', async () => {
    const loaded = await load({ 'destination.json': signedDefinition({ signing: { scheme: 'hmac-sha1', secrets: ['signing_key'] } }) });
    assert.ok(errors(loaded).some((line) => line.includes('/signing/scheme')), errors(loaded).join('\n'));
  });

  it('signs what the daemon renders with the real key: a Standard Webhooks library verifies it', async () => {
    const sync = await syncOf();
    const request = await asSent(sync, renderEventsForSync(sync, [purchase]));
    assert.equal(request.headers['webhook-id'], 'ins-1');
    assert.equal(request.headers['webhook-signature'].split(' ').length, 1, 'the optional old key is not given');
    assert.deepEqual(new Webhook(KEY).verify(request.body, request.headers), JSON.parse(request.body));
  });

  it('signs a batch with the batch key (a hash of its insert_ids), the same on a re-render of the same events', async () => {
    const body = '{"events": [{% for e in events %}{{ e.input.insert_id | json }}{{ "," if not loop.last }}{% endfor %}]}';
    const sync = await syncOf({ 'destination.json': signedDefinition({ batch: { maxEvents: 10 } }), 'body.njk': body, 'syncs/default.json': signedSync({ old_signing_key: { env: 'OLD_SIGNING_KEY' } }) });
    const events = [purchase, { ...purchase, insert_id: 'ins-2' }];
    const request = await asSent(sync, renderEventsForSync(sync, events));
    const key = defaultIdempotencyKey(events.map((event) => buildEventContext(event, sync.selection)));
    assert.equal(request.headers['webhook-id'], key);
    assert.equal(renderEventsForSync(sync, events).headers['webhook-id'], key);
    assert.ok(new Webhook(KEY).verify(request.body, request.headers));
    assert.ok(new Webhook(OLD_KEY).verify(request.body, request.headers), 'either key verifies');
  });

  it('shows a placeholder signature in a preview and in the examples, a real one with --show-secrets', async () => {
    const sync = await syncOf({ 'syncs/default.json': signedSync({ old_signing_key: { env: 'OLD_SIGNING_KEY' } }) });
    const masked = renderEventRequest(sync, purchase, 'mask').request;
    assert.equal(masked.headers['webhook-signature'], 'v1,<signature:signing_key> v1,<signature:old_signing_key>');
    assert.equal(masked.headers['webhook-id'], 'ins-1');
    assert.match(masked.headers['webhook-timestamp'], /^\d{10}$/);
    const shown = renderEventRequest(sync, purchase, 'show').request;
    assert.ok(new Webhook(OLD_KEY).verify(shown.body, shown.headers));
  });

  it('checks an example against the placeholder signature', async () => {
    const example = (signature: string) => ({
      event: purchase,
      expect: { method: 'POST', url: 'http://127.0.0.1:9/test', headers: { 'webhook-id': 'ins-1', 'webhook-signature': signature }, body: { id: 'user-1', event: 'purchase', properties: {} } },
    });
    assert.deepEqual(errors(await load({ 'examples/good.json': example('v1,<signature:signing_key>') })), []);
    const wrong = errors(await load({ 'examples/wrong.json': example('v1,abc') }));
    assert.ok(wrong.some((line) => line.includes('expected "v1,abc", rendered "v1,<signature:signing_key>"')), wrong.join('\n'));
  });

  it('refuses to render with a key that is not whsec_ base64, naming sync and parameter, never the value', async () => {
    const badEnv = { ...env, SIGNING_KEY: 'hunter2-shared-secret' };
    const sync = await syncOf({}, { env: badEnv });
    assert.throws(
      () => renderEventsForSync(sync, [purchase]),
      (error: Error) => error instanceof RequestNotPossibleError && error.code === 'signing_secret' && /^sync s\d+\.default: parameter signing_key is not a Standard Webhooks signing secret: a signing secret starts with "whsec_"/.test(error.message) && !error.message.includes('hunter2'),
    );
    const [problem] = signingSecretProblems(sync);
    assert.equal(problem.pointer, '/parameters/signing_key');
    assert.equal(problem.file, sync.file);
    assert.doesNotMatch(problem.message, /hunter2/);
    assert.deepEqual(signingSecretProblems(await syncOf()), []);
    // What the daemon checks before it runs the sync: the same problem, through the auth seam.
    assert.deepEqual(authSettingsProblems(sync), [problem]);
  });

  it('hides the signature whole when a request is stored (dead letter), and wherever it is echoed', async () => {
    const sync = await syncOf();
    const request = await asSent(sync, renderEventsForSync(sync, [purchase]));
    const signature = request.headers['webhook-signature'];
    const stored = redactRequest(sync, { ...request, body: `${request.body} echo ${signature.slice(3)}` });
    assert.equal(stored.headers['webhook-signature'], REDACTED);
    assert.equal(stored.headers['webhook-id'], 'ins-1', 'the id and the timestamp are not secret');
    assert.ok(!JSON.stringify(stored).includes(signature.slice(3)));
  });
});
