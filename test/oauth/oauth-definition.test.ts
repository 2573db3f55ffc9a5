// Loading a destination with an oauth block: its templates count in DECLARED vs USED, see parameters
// only (event data can never choose where the client secret goes), and the destination may not set
// Authorization itself. Each problem names destination.json and its place.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { formatProblem, loadDestination } from '../../daemon/registry/index.js';
import { makeDestinationsDir, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';

const OAUTH = { tokenUrl: '{{ parameters.auth_url }}/oauth/token', clientId: '{{ parameters.client_id }}', clientSecret: '{{ parameters.client_secret }}' };

function definition(oauth: Record<string, unknown>, headers?: Record<string, string>): Record<string, unknown> {
  const base = testDefinition({
    parameters: [
      { name: 'endpoint', displayName: 'Endpoint' },
      { name: 'auth_url', displayName: 'Token endpoint' },
      { name: 'client_id', displayName: 'Client id', secret: true },
      { name: 'client_secret', displayName: 'Client secret', secret: true },
    ],
    oauth,
  });
  (base.request as { headers?: unknown }).headers = headers;
  return base;
}

describe('oauth definition', () => {
  const root = makeDestinationsDir();
  after(() => root.remove());
  let count = 0;
  const load = async (spec: Record<string, unknown>) => {
    const loaded = await loadDestination(writeDestinationFolder(root.dir, `oauth-${(count += 1)}`, { definition: spec }), { resolveSecrets: false });
    return { loaded, errors: loaded.problems.filter((problem) => problem.severity === 'error').map((problem) => formatProblem(problem, root.dir)) };
  };

  it('loads, with the client id and secret used by the oauth templates in DECLARED vs USED', async () => {
    const { loaded, errors } = await load(definition(OAUTH));
    assert.deepEqual(errors, []);
    const usage = Object.fromEntries(loaded.parameterUsage!.map((row) => [row.name, row.usedIn]));
    assert.deepEqual(usage.client_secret, ['OAuth client secret']);
    assert.deepEqual(usage.auth_url, ['OAuth token URL']);
  });

  it('refuses event data in the token URL, or in any oauth field, naming the field and the place', async () => {
    const { errors } = await load(definition({ ...OAUTH, tokenUrl: 'https://{{ input.user_id }}.auth.example/token', fields: { account_id: '{{ mappedFields.account }}' } }));
    const refused = errors.filter((error) => /may use only parameters/.test(error));
    assert.equal(refused.length, 2, errors.join('\n'));
    assert.match(refused[0], /destination\.json:\d+:\d+: the OAuth token URL template may use only parameters, but "input" is used \(line 1, column 12\)/);
    assert.match(refused[1], /the OAuth field account_id template may use only parameters, but "mappedFields" is used/);
  });

  it('refuses an Authorization header of the destination\'s own, and Basic credentials on a json token request', async () => {
    const { errors } = await load(definition({ ...OAUTH, bodyStyle: 'json', clientAuthentication: 'basic' }, { Authorization: 'Bearer {{ parameters.client_id }}' }));
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.ok(errors.some((error) => /a json token request carries the client id and secret in its body/.test(error)));
    assert.ok(errors.some((error) => /with "oauth" the daemon sends Authorization: Bearer with the token it fetched: remove this header/.test(error)));
  });

  it('reports a parameter used only by an undeclared name in an oauth template', async () => {
    const { errors } = await load(definition({ ...OAUTH, scope: '{{ parameters.scopes }}' }));
    assert.ok(errors.some((error) => /parameter "scopes" is used but not declared/.test(error)), errors.join('\n'));
  });

  it('refuses the reserved token request fields in fields', async () => {
    const { errors } = await load(definition({ ...OAUTH, fields: { client_secret: 'x' } }));
    assert.ok(errors.some((error) => /\/oauth\/fields/.test(error) || /fields/.test(error)), errors.join('\n'));
  });
});
