// The catalog's facts (registry/catalog-facts.ts) are derived from a folder, never kept by hand: the
// auth kind from where a secret goes or the auth scheme declared (a scheme registered later shows by
// its name with no change here), hashing from the filters the templates call, limits as declared.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAuthScheme } from '../../daemon/auth/index.js';
import { catalogFacts, limitsText, loadDestination } from '../../daemon/registry/index.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { toyScheme } from '../fixtures/toy-auth-scheme.js';

describe('registry catalog facts', () => {
  const folder = makeDestinationsDir();
  let unregister: () => void;
  before(() => {
    unregister = registerAuthScheme(toyScheme);
  });
  after(() => {
    unregister();
    folder.remove();
  });

  async function factsOf(slug: string, overrides: Record<string, unknown>, body?: string) {
    const dir = writeDestinationFolder(folder.dir, slug, { definition: testDefinition(overrides), ...(body ? { body } : {}) });
    const loaded = await loadDestination(dir, { resolveSecrets: false, checkExamples: false });
    assert.ok(loaded.destination, loaded.problems.map((problem) => problem.message).join('; '));
    return catalogFacts(loaded.destination);
  }

  it('derives the auth kind from where a secret parameter goes', async () => {
    assert.deepEqual((await factsOf('bearer', {})).auth, ['bearer']);
    const query = await factsOf('query', { request: { method: 'POST', url: '{{ parameters.endpoint }}/track?v=1&key={{ parameters.token | urlencode }}', body: 'body.njk' } });
    assert.deepEqual(query.auth, ['query key']);
    const header = await factsOf('header', { request: { method: 'POST', url: '{{ parameters.endpoint }}/track', headers: { 'X-Api-Key': '{{ parameters["token"] }}', 'X-Plain': '{{ parameters.endpoint }}' }, body: 'body.njk' } });
    assert.deepEqual(header.auth, ['header x-api-key']);
    const path = await factsOf('path', { request: { method: 'POST', url: '{{ parameters.endpoint }}/hooks/{{ parameters.token | urlencode }}', body: 'body.njk' } });
    assert.deepEqual(path.auth, ['url']);
    const none = await factsOf('none', { parameters: [{ name: 'endpoint', displayName: 'Endpoint' }], request: { method: 'POST', url: '{{ parameters.endpoint }}/track', body: 'body.njk' } });
    assert.deepEqual(none.auth, ['none']);
  });

  it('names an auth scheme the folder uses, one registered after the catalog was written included', async () => {
    const facts = await factsOf('toy', {
      parameters: [
        { name: 'endpoint', displayName: 'Endpoint' },
        { name: 'toy_secret', displayName: 'Toy secret', secret: true },
      ],
      request: { method: 'POST', url: '{{ parameters.endpoint }}/track', body: 'body.njk' },
    });
    assert.deepEqual(facts.auth, ['toy']);
  });

  it('lists the hashing filters the templates call, and the limits as declared', async () => {
    const body = '{ "em": {{ input.user_id | default(none) | sha256_email | json }}, "id": {{ input.user_id | default("") | hmac_sha256(parameters.token) | json }} }';
    const facts = await factsOf('hashing', { batch: undefined, limits: { rate: { requests: 10, periodSeconds: 1 }, maxConcurrency: 2, maxIdentifierBytes: 64 } }, body);
    assert.deepEqual(facts.hashing, ['sha256_email', 'hmac_sha256']);
    assert.deepEqual(facts.limits, { rate: { requests: 10, periodSeconds: 1 }, maxConcurrency: 2, maxIdentifierBytes: 64 });
    assert.equal(limitsText(facts.limits), '10 requests/1 s, 2 at a time, ids ≤ 64 bytes');
    assert.equal(facts.vendor, undefined);
    assert.deepEqual((await factsOf('plain', {})).hashing, []);
  });
});
