import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  loadDestination,
  loadDestinations,
  pngProblem,
  redactRequest,
  renderEventsForSync,
  renderForSync,
  RENDER_FOR_DELIVERY,
  type DestinationLoad,
  type LoadedSync,
} from '../../daemon/registry/internal.js';
import { buildEventContext, EventContextError, type EventContext } from '../../daemon/render/index.js';
import type { AmplitudeEvent } from '../../daemon/events/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { baseDefinition, baseSync, BASE_BODY, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';
import { solidPng } from '../helpers/png.js';

/** The shipped folders, in the order the registry loads them (name order). */
const SHIPPED_SLUGS = ['airship', 'amplitude', 'braze', 'clevertap', 'customerio', 'example', 'firehose', 'ga4', 'hubspot', 'intercom', 'iterable', 'kinesis', 'klaviyo', 'linkedin-conversions', 'meta-conversions', 'mixpanel', 'moengage', 'posthog', 'pubsub', 'segment', 'sfmc', 'slack', 'statsig', 'tiktok', 'userlist', 'webhook'];

const purchase: AmplitudeEvent = { event_type: 'purchase', user_id: 'user-1', insert_id: 'ins-1', time: 1641490144000, event_properties: { price: 79.99 } };

function messages(load: DestinationLoad): string[] {
  return load.problems.filter((problem) => problem.severity === 'error').map((problem) => problem.message);
}

describe('registry loading', () => {
  const temp = tempDir();
  after(() => temp.remove());
  let count = 0;
  /** A destination folder written from the valid base with overrides; returns its path. */
  function folder(overrides: Parameters<typeof destinationFiles>[0] = {}, slug = `d${++count}`): string {
    const dir = join(temp.dir, 'cases', slug);
    writeFiles(dir, destinationFiles(overrides));
    return dir;
  }
  const env = { TEST_API_KEY: 'k-123' };

  it('loads a valid folder with its sync, parameters, selection and version', async () => {
    const load = await loadDestination(folder({}, 'valid-one'), { env });
    assert.deepEqual(load.problems, []);
    const destination = load.destination;
    assert.ok(destination);
    assert.equal(destination.slug, 'valid-one');
    assert.match(destination.version, /^[0-9a-f]{12}$/);
    const [sync] = destination.syncs;
    assert.equal(sync.id, 'valid-one.default');
    assert.equal(sync.enabled, true);
    assert.deepEqual(sync.parameters.values, { url: 'http://127.0.0.1:9/test', api_key: 'k-123' });
    assert.deepEqual(sync.selection.fieldMappings, [{ name: 'external_id', source: { scope: 'field', property: 'user_id' }, required: true, identifier: true }]);
    assert.deepEqual(destination.parameterUsage, [
      { name: 'url', declared: true, secret: false, usedIn: ['URL'] },
      { name: 'api_key', declared: true, secret: true, usedIn: ['header Authorization'] },
    ]);
  });

  it('discovers folders by scanning, in slug order, skipping files and hidden folders', async () => {
    const root = join(temp.dir, 'scan');
    writeFiles(join(root, 'zeta'), destinationFiles());
    writeFiles(join(root, 'alpha'), destinationFiles());
    writeFiles(root, { 'README.md': '# not a destination\n', '.hidden/destination.json': '{' });
    const result = await loadDestinations(root, { env });
    assert.deepEqual(result.destinations.map((destination) => destination.slug), ['alpha', 'zeta']);
    assert.deepEqual(result.problems, []);
  });

  it('collects every problem of every folder and rejects only the bad ones', async () => {
    const root = join(temp.dir, 'mixed');
    writeFiles(join(root, 'good'), destinationFiles());
    writeFiles(join(root, 'bad-one'), destinationFiles({ 'body.njk': '{{ parameters.nope }}', 'logo.png': 'not a png' }));
    writeFiles(join(root, 'Bad_Slug'), destinationFiles({ 'syncs/default.json': { parameters: { url: 'u', api_key: 'inline' } } }));
    const result = await loadDestinations(root, { env });
    assert.deepEqual(result.destinations.map((destination) => destination.slug), ['good']);
    assert.deepEqual(result.rejected.sort(), ['Bad_Slug', 'bad-one']);
    const all = result.problems.map((problem) => problem.message).join('\n');
    assert.match(all, /parameter "nope" is used but not declared/);
    assert.match(all, /logo is not a PNG file/);
    assert.match(all, /folder name "Bad_Slug" is not a valid destination slug/);
    assert.match(all, /parameter "api_key" is secret/);
    assert.equal(result.folders.length, 3);
  });

  it('reports a missing destination folder as a problem', async () => {
    const result = await loadDestinations(join(temp.dir, 'does-not-exist'));
    assert.match(result.problems[0].message, /cannot read the destinations folder: ENOENT/);
  });

  it('changes the version when a template changes, and not when a sync or the README does', async () => {
    const dir = folder({}, 'versioned');
    const first = (await loadDestination(dir, { env })).destination?.version;
    writeFiles(dir, { 'README.md': 'hello', 'syncs/default.json': { ...baseSync(), description: 'changed' } });
    assert.equal((await loadDestination(dir, { env })).destination?.version, first);
    writeFiles(dir, { 'body.njk': `${BASE_BODY} ` });
    const second = (await loadDestination(dir, { env })).destination?.version;
    assert.notEqual(second, first);
    writeFiles(dir, { 'destination.json': { ...baseDefinition(), summary: 'Another summary.' } });
    assert.notEqual((await loadDestination(dir, { env })).destination?.version, second);
  });

  it('places schema errors at their line and column, and never coerces', async () => {
    const text = JSON.stringify({ ...baseDefinition(), limits: { maxConcurrency: '4' } }, null, 2);
    const load = await loadDestination(folder({ 'destination.json': text }));
    const problem = load.problems.find((candidate) => candidate.pointer === '/limits/maxConcurrency');
    assert.ok(problem);
    assert.equal(problem.message, 'must be an integer, not string "4"');
    assert.equal(problem.line, text.split('\n').findIndex((line) => line.includes('maxConcurrency')) + 1);
  });

  it('describes a value that matches none of the allowed forms in one message', async () => {
    const load = await loadDestination(folder({ 'syncs/default.json': { ...baseSync(), parameters: { url: 'u', api_key: { vault: 'x' } } } }));
    assert.deepEqual(messages(load), [
      'must be a string, a number, a boolean or a secret reference {"env": "NAME"} or {"file": "path"}, not {"vault":"x"}',
    ]);
  });

  it('checks a sync against the destination: unknown and missing parameters, unknown fields', async () => {
    const load = await loadDestination(folder({
      'syncs/default.json': { parameters: { api_key: { env: 'K' }, colour: 'blue' }, fieldMappings: { external_id: { scope: 'field', property: 'user_id' }, nickname: { scope: 'user', property: 'n' } } },
    }));
    assert.deepEqual(messages(load), [
      'missing required parameter "url" (URL)',
      'unknown parameter "colour": d' + count + ' declares url, api_key',
      'unknown field "nickname": d' + count + ' maps external_id',
    ]);
  });

  it('checks a sync against the limits: selected properties and event types', async () => {
    const definition = { ...baseDefinition(), limits: { maxSelectedProperties: 1, maxEventTypes: 2 } };
    const selected = [{ scope: 'event', property: 'a' }, { scope: 'event', property: 'b' }];
    const tooMany = await loadDestination(folder({
      'destination.json': definition,
      'syncs/default.json': { ...baseSync(), selectedProperties: selected, filter: { eventTypes: ['a', 'b', 'c'] } },
    }));
    assert.match(messages(tooMany).join('\n'), /2 selected properties, but d\d+ accepts at most 1/);
    assert.match(messages(tooMany).join('\n'), /3 event types, but d\d+ accepts at most 2/);
    const unlisted = await loadDestination(folder({ 'destination.json': definition, 'syncs/default.json': baseSync() }));
    assert.match(messages(unlisted).join('\n'), /accepts at most 2 event types: list the ones to send in filter\.eventTypes/);
  });

  it('checks condition values against their operators', async () => {
    const conditions = [
      { scope: 'user', property: 'plan', op: 'set', value: 'x' },
      { scope: 'user', property: 'plan', op: 'is' },
      { scope: 'event', property: 'price', op: 'greater', value: 'cheap' },
      { scope: 'event', property: 'price', op: 'less', value: [1, 2] },
    ];
    const load = await loadDestination(folder({ 'syncs/default.json': { ...baseSync(), filter: { conditions } } }));
    assert.deepEqual(messages(load), [
      '"set" takes no value',
      '"is" needs a value',
      '"greater" compares numbers: "cheap" is not a number',
      'only "is" and "is_not" take a list of values',
    ]);
  });

  it('refuses identify forwarding when the destination has no identify request', async () => {
    const load = await loadDestination(folder({ 'syncs/default.json': { ...baseSync(), identifyForwarding: true } }));
    assert.match(messages(load)[0], /has no identify request, so it cannot forward identify events/);
  });

  it('refuses multiStatus, on the event or the identify request, without batch', async () => {
    const definition = baseDefinition() as { request: Record<string, unknown>; identify?: Record<string, unknown> };
    const multiStatus = { failedItemsPath: 'errors' };
    definition.request.multiStatus = multiStatus;
    definition.identify = { body: 'body.njk', multiStatus };
    const load = await loadDestination(folder({ 'destination.json': definition }));
    const places = load.problems.filter((problem) => problem.message.includes('multiStatus describes a batched response')).map((problem) => problem.pointer);
    assert.deepEqual(places, ['/request/multiStatus', '/identify/multiStatus']);
  });

  it('refuses a multiStatus that names no list, or a list whose fields do not fit its shape, naming each place', async () => {
    const definition = baseDefinition() as { request: Record<string, unknown>; batch?: object };
    definition.batch = { maxEvents: 10 };
    definition.request.multiStatus = { statuses: [400], throttled: [{ path: 'throttled_users', shape: 'keys' }, { path: 'throttled_events', shape: 'indexes', messageField: 'why' }] };
    const load = await loadDestination(folder({ 'destination.json': definition }));
    assert.deepEqual(
      load.problems.map((problem) => [problem.pointer, problem.message]),
      [
        ['/request/multiStatus/throttled/0', 'a list of shape "keys" needs eventField: the event field its keys are values of (input.user_id)'],
        ['/request/multiStatus/throttled/1/messageField', 'messageField is for a list of shape "objects", not "indexes"'],
      ],
    );
    definition.request.multiStatus = { statuses: [400], throttled: [{ path: 'throttled_users', shape: 'keys', eventField: 'user_id' }] };
    const bare = await loadDestination(folder({ 'destination.json': definition }));
    assert.match(messages(bare).join('\n'), /eventField "user_id" must be a dot path in the event's context: input\.…/);
    definition.request.multiStatus = { throttled: [{ path: 'Records', shape: 'inOrder', indexField: 'i' }, { path: 'failed', errorField: 'ErrorCode' }] };
    const inOrder = await loadDestination(folder({ 'destination.json': definition }));
    assert.deepEqual(
      inOrder.problems.map((problem) => [problem.pointer, problem.message]),
      [
        ['/request/multiStatus/throttled/0', 'a list of shape "inOrder" needs errorField: the field set in a failed entry (ErrorCode)'],
        ['/request/multiStatus/throttled/0/indexField', 'indexField is for a list of shape "objects", not "inOrder"'],
        ['/request/multiStatus/throttled/1/errorField', 'errorField is for a list of shape "inOrder", not "objects"'],
      ],
    );
    definition.request.multiStatus = { statuses: [400], others: 'resend' };
    const empty = await loadDestination(folder({ 'destination.json': definition }));
    assert.match(messages(empty).join('\n'), /multiStatus names no list of items: give failedItemsPath, failed or throttled/);
  });

  it('compiles batch.key as a template of the folder: its mistakes are reported at /batch/key', async () => {
    const definition = baseDefinition() as { batch?: object };
    definition.batch = { maxEvents: 10, key: '{{ input.device_id ' };
    const load = await loadDestination(folder({ 'destination.json': definition }));
    assert.deepEqual(load.problems.map((problem) => problem.pointer), ['/batch/key']);
    assert.match(load.problems[0].message, /batch key template/);
    definition.batch = { maxEvents: 10, key: '{{ input.device_id }}' };
    const good = await loadDestination(folder({ 'destination.json': definition }));
    assert.deepEqual(good.problems, []);
    assert.ok(good.destination?.batchKey, 'the compiled key travels with the destination');
  });

  it('refuses a default on a secret parameter, and duplicate declarations', async () => {
    const definition = baseDefinition() as { parameters: object[] };
    definition.parameters = [...definition.parameters, { name: 'url', displayName: 'again' }];
    (definition.parameters[1] as Record<string, unknown>).default = 'visible';
    const load = await loadDestination(folder({ 'destination.json': definition }));
    assert.deepEqual(messages(load).sort(), ['parameter "url" is declared twice', 'secret parameter "api_key" cannot have a default: destination.json is public']);
  });

  it('places an inline template error in destination.json with its place in the template', async () => {
    const definition = baseDefinition() as { request: Record<string, unknown> };
    definition.request.url = '{{ parameters.url }';
    const load = await loadDestination(folder({ 'destination.json': definition }));
    const problem = load.problems[0];
    assert.match(problem.file, /destination\.json$/);
    assert.equal(problem.pointer, '/request/url');
    assert.match(problem.message, /template syntax error in the URL template \(template line 1, column \d+\)/);
  });

  it('reports parameters used through a computed key', async () => {
    const load = await loadDestination(folder({ 'body.njk': `{% set k = "url" %}{"u": {{ parameters[k] | json }}, "x": ${BASE_BODY}}` }));
    assert.match(messages(load).join('\n'), /parameters\[…\] is used without a literal name/);
  });

  it('warns about a declared mapping no template uses', async () => {
    const definition = baseDefinition() as { userPropertyMappings: object[] };
    definition.userPropertyMappings.push({ name: 'email' });
    const load = await loadDestination(folder({ 'destination.json': definition }));
    assert.ok(load.destination);
    assert.match(load.problems[0].message, /mapping "email" is declared but no template uses mappedFields\.email/);
    assert.equal(load.problems[0].severity, 'warning');
  });

  it('still checks syncs and examples for syntax when destination.json is broken', async () => {
    const load = await loadDestination(folder({ 'destination.json': '{ "name": ', 'syncs/default.json': '{ "parameters": ', 'examples/a.json': '[' }));
    assert.equal(load.problems.length, 3);
    assert.ok(load.problems.every((problem) => problem.message.startsWith('invalid JSON') || problem.message.includes('must be an object')));
  });

  it('checks the logo: signature, IHDR, checksum', () => {
    const png = solidPng(4, 4, [1, 2, 3]);
    assert.equal(pngProblem(png), undefined);
    assert.match(pngProblem(Buffer.from('GIF89a')) ?? '', /not a PNG file/);
    assert.match(pngProblem(png.subarray(0, 20)) ?? '', /truncated/);
    const corrupt = Buffer.from(png);
    corrupt[20] ^= 0xff;
    assert.match(pngProblem(corrupt) ?? '', /checksum/);
    const noHeader = Buffer.from(png);
    noHeader.write('IDAT', 12, 'latin1');
    assert.match(pngProblem(noHeader) ?? '', /first chunk must be a 13-byte IHDR/);
  });

  it('ships every destination with a README, a logo, a sync and examples', () => {
    const shipped = readdirSync(join(PACKAGE_ROOT, 'destinations'), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    assert.ok(shipped.length >= SHIPPED_SLUGS.length);
    for (const { name: slug } of shipped) {
      const dir = join(PACKAGE_ROOT, 'destinations', slug);
      assert.equal(pngProblem(readFileSync(join(dir, 'logo.png'))), undefined, slug);
      assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /^# .+\n[\s\S]*## Setup[\s\S]*## Limits/, slug);
      assert.ok(readdirSync(join(dir, 'syncs')).some((name) => name.endsWith('.json')), slug);
      assert.ok(readdirSync(join(dir, 'examples')).some((name) => name.endsWith('.json')), slug);
    }
  });

  it('loads the shipped destinations without a problem', async () => {
    const result = await loadDestinations(join(PACKAGE_ROOT, 'destinations'), { resolveSecrets: false });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.destinations.map((destination) => destination.slug), SHIPPED_SLUGS);
  });
});

describe('registry renderForSync', () => {
  const temp = tempDir();
  after(() => temp.remove());

  async function syncOf(overrides: Parameters<typeof destinationFiles>[0], env: NodeJS.ProcessEnv = { TEST_API_KEY: 'k-123' }): Promise<LoadedSync> {
    const dir = join(temp.dir, `d${Math.random().toString(36).slice(2, 8)}`);
    writeFiles(dir, destinationFiles(overrides));
    const load = await loadDestination(dir, { env });
    assert.deepEqual(load.problems.filter((problem) => problem.severity === 'error'), []);
    return (load.destination as NonNullable<typeof load.destination>).syncs[0];
  }

  it('renders one event with input, mappedProperties, mappedFields and parameters', async () => {
    const sync = await syncOf({ 'syncs/default.json': { ...baseSync(), selectedProperties: [{ scope: 'event', property: 'price' }] } });
    const request = renderForSync(sync, [buildEventContext(purchase, sync.selection)], 'track', RENDER_FOR_DELIVERY, { idempotencyKey: 'key-1' });
    assert.equal(request.url, 'http://127.0.0.1:9/test');
    assert.equal(request.headers.authorization, 'Bearer k-123');
    assert.deepEqual(JSON.parse(request.body), { id: 'user-1', event: 'purchase', properties: { price: 79.99 } });
  });

  it('renders a batch with events and parameters, up to batch.maxEvents', async () => {
    const body = '{"ids": [{% for e in events %}{{ e.mappedFields.external_id | json }}{{ "," if not loop.last }}{% endfor %}], "n": {{ events | length }}}';
    const sync = await syncOf({ 'destination.json': { ...baseDefinition(), batch: { maxEvents: 2 } }, 'body.njk': body });
    const contexts: EventContext[] = ['a', 'b'].map((id) => buildEventContext({ ...purchase, user_id: id }, sync.selection));
    assert.deepEqual(JSON.parse(renderForSync(sync, contexts, 'track', RENDER_FOR_DELIVERY).body), { ids: ['a', 'b'], n: 2 });
    assert.deepEqual(JSON.parse(renderForSync(sync, contexts.slice(0, 1), 'track', RENDER_FOR_DELIVERY).body), { ids: ['a'], n: 1 });
    assert.throws(() => renderForSync(sync, [...contexts, contexts[0]], 'track', RENDER_FOR_DELIVERY), /takes 1 to 2 events per request, not 3/);
  });

  it('uses the identify request for identify, inheriting URL and headers', async () => {
    const definition = { ...baseDefinition(), identify: { method: 'PUT', body: 'identify.njk' } };
    const sync = await syncOf({
      'destination.json': definition,
      'identify.njk': '{"set": {{ input.user_properties["$set"] | json }}, "id": {{ mappedFields.external_id | json }}}',
      'syncs/default.json': { ...baseSync(), identifyForwarding: true },
    });
    const identify: AmplitudeEvent = { event_type: '$identify', user_id: 'user-1', user_properties: { $set: { plan: 'pro' } } };
    const request = renderEventsForSync(sync, [identify]);
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, 'http://127.0.0.1:9/test');
    assert.equal(request.headers.authorization, 'Bearer k-123');
    assert.deepEqual(JSON.parse(request.body), { set: { plan: 'pro' }, id: 'user-1' });
    assert.equal(sync.filter(identify), true);
  });

  it('reads identifyForwarding true and "all" as whole identifies, "changes" as changes only, and refuses another word with its place', async () => {
    const definition = { ...baseDefinition(), identify: { body: 'identify.njk' } };
    const files = (identifyForwarding: unknown) => ({ 'destination.json': definition, 'identify.njk': '{}', 'syncs/default.json': { ...baseSync(), identifyForwarding } });
    for (const [value, changes] of [[true, false], ['all', false], ['changes', true]] as const) {
      const sync = await syncOf(files(value));
      assert.equal(sync.identifyForwarding, true, String(value));
      assert.equal(sync.identifyChanges, changes, String(value));
    }
    const off = await syncOf(files(false));
    assert.equal(off.identifyForwarding, false);
    const dir = join(temp.dir, 'identify-word');
    writeFiles(dir, destinationFiles(files('diff')));
    const load = await loadDestination(dir, { env: { TEST_API_KEY: 'k' } });
    assert.ok(load.problems.some((problem) => problem.pointer === '/identifyForwarding' && problem.severity === 'error'), JSON.stringify(load.problems));
  });

  it('refuses identify when the destination has none', async () => {
    const sync = await syncOf({});
    assert.throws(() => renderEventsForSync(sync, [{ event_type: '$identify', user_id: 'u' }]), /has no identify request/);
    assert.equal(sync.filter({ event_type: '$identify', user_id: 'u' }), false);
  });

  it('refuses to render with an unresolved secret, naming why', async () => {
    const sync = await syncOf({}, {});
    assert.deepEqual([...sync.parameters.unresolved], [['api_key', 'environment variable TEST_API_KEY is not set']]);
    assert.throws(() => renderEventsForSync(sync, [purchase]), /unresolved secrets \(api_key: environment variable TEST_API_KEY is not set\)/);
  });

  it('sends the insert_id as idempotency key, or a hash of a batch', async () => {
    const sync = await syncOf({
      'destination.json': { ...baseDefinition(), batch: { maxEvents: 5 }, request: { ...(baseDefinition().request as object), idempotencyHeader: 'Idempotency-Key' } },
      'body.njk': '{"n": {{ events | length }}}',
    });
    const one = renderEventsForSync(sync, [purchase]);
    assert.equal(one.headers['idempotency-key'], 'ins-1');
    const two = renderEventsForSync(sync, [purchase, { ...purchase, insert_id: 'ins-2' }]);
    assert.match(two.headers['idempotency-key'], /^[0-9a-f]{32}$/);
  });

  it('an event without a required mapped field cannot be delivered', async () => {
    const sync = await syncOf({});
    assert.throws(() => buildEventContext({ event_type: 'x', device_id: 'd' }, sync.selection), (error: unknown) => error instanceof EventContextError && error.code === 'missing_required_field');
  });

  it('redacts a rendered request for dead letters: secret values, and whole headers built from a secret', async () => {
    const definition = baseDefinition() as { request: { headers: Record<string, string> } };
    definition.request.headers = { Authorization: 'Basic {{ ("site:" ~ parameters.api_key) | base64 }}', 'X-Trace': 'fixed' };
    const sync = await syncOf({ 'destination.json': definition, 'body.njk': '{"key": {{ parameters.api_key | json }}, "id": {{ mappedFields.external_id | json }}}' });
    const request = renderEventsForSync(sync, [purchase]);
    assert.equal(request.headers.authorization, `Basic ${Buffer.from('site:k-123').toString('base64')}`);
    const safe = redactRequest(sync, request);
    assert.equal(safe.headers.authorization, '[redacted]');
    assert.equal(safe.headers['x-trace'], 'fixed');
    assert.deepEqual(JSON.parse(safe.body), { key: '[redacted]', id: 'user-1' });
    assert.doesNotMatch(JSON.stringify(safe), /k-123|c2l0ZTprLTEyMw/);
  });

  it('resolves a secret file relative to the sync file', async () => {
    const dir = join(temp.dir, 'with-file');
    writeFiles(dir, destinationFiles({ 'syncs/default.json': { ...baseSync(), parameters: { url: 'http://127.0.0.1:9/', api_key: { file: 'secret.txt' } } } }));
    mkdirSync(join(dir, 'syncs'), { recursive: true });
    writeFileSync(join(dir, 'syncs', 'secret.txt'), 'from-file\n');
    const load = await loadDestination(dir, { env: {} });
    assert.equal(load.destination?.syncs[0].parameters.values.api_key, 'from-file');
  });
});
