// Contracts: a folder's JSON Schema of the requests its destination accepts, compiled at load, and
// validate proving every generated render and example against it (the shipped GA4 folder, and a
// copy of it whose template does not sanitise the event name).
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkContract, compileContract, ContractSchemaError } from '../../daemon/contract/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { loadDestination, renderBatchKey, renderForPreview, renderForSync, templatePlaceOf, type LoadedDestination } from '../../daemon/registry/internal.js';
import { buildEventContext } from '../../daemon/render/index.js';
import { makeDestinationsDir } from '../helpers/destination-folder.js';

const GA4 = join(PACKAGE_ROOT, 'destinations', 'ga4');

/** A copy of the shipped GA4 folder in a temporary destinations directory, its body template changed by `edit`. */
function ga4Copy(edit: (body: string) => string = (body) => body) {
  const folder = makeDestinationsDir();
  const dir = join(folder.dir, 'ga4');
  cpSync(GA4, dir, { recursive: true });
  writeFileSync(join(folder.dir, 'variables.json'), readFileSync(join(PACKAGE_ROOT, 'destinations', 'variables.json')));
  writeFileSync(join(dir, 'body.njk'), edit(readFileSync(join(dir, 'body.njk'), 'utf8')));
  return { ...folder, ga4: dir };
}

const request = (body: unknown, url = 'https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=s') => ({
  method: 'POST' as const,
  url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('contract', () => {
  it('checks a request against the GA4 contract and names the pointer and the schema path of a violation', async () => {
    const { destination } = await loadDestination(GA4, { resolveSecrets: false, checkExamples: false });
    const contract = (destination as LoadedDestination).contracts.track!;
    assert.equal(checkContract(contract, request({ client_id: 'c', events: [{ name: 'add_to_cart', params: { price: 3 } }] })), undefined);
    const tooLong = checkContract(contract, request({ client_id: 'c', events: [{ name: 'a'.repeat(41) }] }));
    assert.deepEqual({ ...tooLong }, { contract: 'contract.schema.json', part: 'body', pointer: '/events/0/name', schemaPath: '#/definitions/name/maxLength', message: 'must NOT have more than 40 characters' });
    assert.equal(checkContract(contract, request({ client_id: 'c', events: [{ name: 'Add to cart' }] }))?.schemaPath, '#/definitions/name/pattern');
    assert.equal(checkContract(contract, request({ client_id: 'c', events: Array.from({ length: 26 }, () => ({ name: 'e' })) }))?.pointer, '/events');
    const params = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`p${i}`, i]));
    assert.equal(checkContract(contract, request({ client_id: 'c', events: [{ name: 'e', params }] }))?.schemaPath, '#/properties/params/maxProperties');
    const query = checkContract(contract, request({ client_id: 'c', events: [{ name: 'e' }] }, 'https://x.test/mp/collect?measurement_id=UA-1&api_secret=s'));
    assert.deepEqual([query?.part, query?.pointer], ['query', '/measurement_id']);
  });

  it('places a violation at the template that most likely wrote it: the body line of the key, the URL query name', async () => {
    const { destination } = await loadDestination(GA4, { resolveSecrets: false, checkExamples: false });
    const track = (destination as LoadedDestination).track;
    const base = { contract: 'contract.schema.json', schemaPath: '#', message: 'm' };
    assert.deepEqual(templatePlaceOf(track, { ...base, part: 'body', pointer: '/events/0/name' }), { template: 'body.njk', line: 16, column: 7 });
    const url = track.url.source;
    assert.deepEqual(templatePlaceOf(track, { ...base, part: 'query', pointer: '/api_secret' }), { template: track.url.name, line: 1, column: url.indexOf('&api_secret=') + 1 });
    // A key the template does not write literally: the template, without a line.
    assert.deepEqual(templatePlaceOf(track, { ...base, part: 'body', pointer: '/events/0/params/price' }), { template: 'body.njk' });
  });

  it('runs a contract pattern in linear time: a catastrophic pattern on a long text answers at once', () => {
    const contract = compileContract({ properties: { body: { properties: { name: { pattern: '^(a+)+$' } } } } }, 'c.json');
    // JavaScript's backtracking matcher would not return from this (the test would time out).
    const violation = checkContract(contract, request({ name: `${'a'.repeat(5_000)}!` }));
    assert.equal(violation?.pointer, '/name');
  });

  it('refuses a contract that is not JSON Schema, with the file named', async () => {
    assert.throws(() => compileContract({ type: 'strnig' }, 'c.json'), ContractSchemaError);
    assert.throws(() => compileContract({ properties: { body: { formatt: 1 } } }, 'c.json'), /formatt/);
    assert.throws(() => compileContract({ properties: { body: { format: 'email' } } }, 'c.json'), /unknown format "email"/);
    assert.throws(() => compileContract({ properties: { body: { $ref: 'https://elsewhere.test/s.json' } } }, 'c.json'), /can't resolve reference/);
    assert.throws(() => compileContract({ properties: { body: { items: [{ uniqueItems: true }] } } }, 'c.json'), /uniqueItems is not offered/);
    assert.throws(() => compileContract({ properties: { body: { pattern: '(?<=a)b' } } }, 'c.json'), ContractSchemaError);
    const folder = ga4Copy();
    try {
      writeFileSync(join(folder.ga4, 'contract.schema.json'), JSON.stringify({ type: 'object', properties: { body: { maxLength: 'forty' } } }));
      const load = await loadDestination(folder.ga4, { resolveSecrets: false });
      assert.equal(load.destination, undefined);
      const problem = load.problems.find((found) => found.file.endsWith('contract.schema.json'));
      assert.match(problem?.message ?? '', /^contract: not valid JSON Schema: .*maxLength/);
      const definition = JSON.parse(readFileSync(join(folder.ga4, 'destination.json'), 'utf8'));
      writeFileSync(join(folder.ga4, 'destination.json'), JSON.stringify({ ...definition, contract: { request: '../outside.json', identify: 'contract.schema.json' } }));
      const named = await loadDestination(folder.ga4, { resolveSecrets: false });
      assert.deepEqual(
        named.problems.filter((found) => found.pointer?.startsWith('/contract/')).map((found) => [found.pointer, found.message]),
        [
          ['/contract/request', 'contract "../outside.json" must be a file inside the destination folder'],
          ['/contract/identify', 'an identify contract needs an identify request'],
        ],
      );
    } finally {
      folder.remove();
    }
  });

  it('passes the shipped GA4 folder in validate, its examples and generated events inside the contract', async () => {
    const load = await loadDestination(GA4, { resolveSecrets: false, authoringChecks: true });
    assert.deepEqual(load.problems.filter((problem) => problem.severity === 'error'), []);
  });

  it('batches GA4 by client and user: events share a key only with one client_id and one user_id, as GA4 takes one of each a request', async () => {
    process.env.GA4_API_SECRET ??= 'contract-test-secret';
    const { destination } = await loadDestination(GA4, { checkExamples: false });
    const sync = (destination as LoadedDestination).syncs[0];
    const key = (event: Record<string, unknown>) => renderBatchKey(sync, buildEventContext({ event_type: 'e', ...event } as never, sync.selection));
    assert.equal(key({ device_id: 'd1', user_id: 'u1' }), key({ device_id: 'd1', user_id: 'u1', event_type: 'other' }));
    const keys = [key({ device_id: 'd1', user_id: 'u1' }), key({ device_id: 'd1', user_id: 'u2' }), key({ device_id: 'd2', user_id: 'u1' }), key({ device_id: 'd1' })];
    assert.equal(new Set(keys).size, 4, JSON.stringify(keys));
    // A batch of one key renders one client and one user, every event in it.
    const events = [1, 2, 3].map((n) => buildEventContext({ event_type: `Step ${n}`, device_id: 'd1', user_id: 'u1', insert_id: `i${n}` } as never, sync.selection));
    const body = JSON.parse(renderForSync(sync, events, 'track', renderForPreview({ endpoint: 'https://x.test', measurement_id: 'G-ABC1', api_secret: 's' })).body) as { client_id: string; user_id: string; events: Array<{ name: string }> };
    assert.deepEqual(body, { client_id: 'd1', user_id: 'u1', events: [{ name: 'Step_1', params: {} }, { name: 'Step_2', params: {} }, { name: 'Step_3', params: {} }] });
  });

  it('renders the batch key over the generated events and places a key that fails at destination.json\'s batch.key, line and column', async () => {
    const folder = ga4Copy();
    try {
      const file = join(folder.ga4, 'destination.json');
      const text = readFileSync(file, 'utf8');
      const keyed = text.replace(/"key": "[^"\n]*(?:\\"[^"\n]*)*"/, '"key": "{{ input.user_id }}"');
      assert.notEqual(keyed, text);
      writeFileSync(file, keyed);
      const load = await loadDestination(folder.ga4, { resolveSecrets: false, authoringChecks: true });
      const key = load.problems.find((problem) => problem.message.includes('batch key cannot be rendered'));
      assert.ok(key, JSON.stringify(load.problems, null, 2));
      assert.equal(key.file, file);
      assert.equal(key.severity, 'warning', 'the event travels alone: a warning, an error with --strict');
      const line = keyed.split('\n').findIndex((row) => row.includes('"key": "{{ input.user_id }}"')) + 1;
      assert.equal(key.line, line);
      assert.equal(key.column, keyed.split('\n')[line - 1].indexOf('"key"') + 1);
      assert.match(key.message, /\(template line 1, column 1\)/);
      assert.match(key.message, /fails for 1 of \d+ generated track events of sync default: each travels alone, one request each; the smallest: user_id absent/);
      // The shipped key renders for every generated event.
      const shipped = await loadDestination(GA4, { resolveSecrets: false, authoringChecks: true });
      assert.equal(shipped.problems.filter((problem) => problem.message.includes('batch key')).length, 0);
    } finally {
      folder.remove();
    }
  });

  it('fails validate for a GA4 folder whose template sends the event name as it comes, at the template line with the schema path and the smallest event', async () => {
    const folder = ga4Copy((body) => body.replace('{{ (name or "event") | json }}', '{{ item.input.event_type | json }}'));
    try {
      const load = await loadDestination(folder.ga4, { resolveSecrets: false, authoringChecks: true });
      assert.equal(load.destination, undefined);
      const errors = load.problems.filter((problem) => problem.severity === 'error');
      const corpus = errors.find((problem) => problem.message.startsWith('fails on generated events: breaks the contract'));
      assert.ok(corpus, JSON.stringify(errors, null, 2));
      assert.equal(corpus.file, join(folder.ga4, 'body.njk'));
      assert.equal(corpus.line, 16);
      assert.match(corpus.message, /body \/events\/0\/name must (match pattern|NOT have more than 40 characters).*\(schema #\/definitions\/name\/(pattern|maxLength)\)/);
      assert.match(corpus.message, /the smallest: /);
      // The example's event type has spaces too: the example says what the daemon would do.
      const example = errors.find((problem) => problem.file.endsWith('purchase.json'));
      assert.match(example?.message ?? '', /would dead-letter this request as contract_violation: contract.schema.json: body \/events\/0\/name/);
    } finally {
      folder.remove();
    }
  });
});
