import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDestination, previewParameters, redactRequest, renderEventsForSync, renderForPreview, type LoadedSync } from '../../daemon/registry/internal.js';
import type { AmplitudeEvent } from '../../daemon/events/index.js';
import type { CompiledTemplate } from '../../daemon/render/index.js';
import { derivedSecretsOf } from '../../daemon/secrets/index.js';
import { baseDefinition, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

const event = (index: number): AmplitudeEvent => ({ event_type: 'purchase', user_id: `user-${index}`, insert_id: `ins-${index}`, time: 1641490144000 });
const basic = (key: string) => `Basic ${Buffer.from(`site:${key}`).toString('base64')}`;

/** Counts the renders of a template: the count is what shows a render was reused. */
function countRenders(template: CompiledTemplate): { calls: number } {
  const counter = { calls: 0 };
  const render = template.render;
  (template as { render: CompiledTemplate['render'] }).render = (context) => {
    counter.calls++;
    return render(context);
  };
  return counter;
}

describe('registry renders of parameters-only templates', () => {
  const temp = tempDir();
  after(() => temp.remove());
  let count = 0;

  async function load(key: string): Promise<LoadedSync> {
    const dir = join(temp.dir, `d${++count}`);
    const definition = baseDefinition() as { request: { headers: Record<string, string> } };
    definition.request.headers = { Authorization: 'Basic {{ ("site:" ~ parameters.api_key) | base64 }}', 'X-User': '{{ input.user_id }}' };
    writeFiles(dir, destinationFiles({ 'destination.json': definition }));
    const loaded = await loadDestination(dir, { env: { TEST_API_KEY: key } });
    assert.deepEqual(loaded.problems, []);
    return loaded.destination!.syncs[0];
  }

  const headerTemplate = (sync: LoadedSync, name: string) => sync.destination.track.headers.find(([header]) => header === name)![1];

  it('renders a parameters-only URL and header once per sync, and still redacts what the header derived from a secret', async () => {
    const sync = await load('k-123');
    const url = countRenders(sync.destination.track.url);
    const authorization = countRenders(headerTemplate(sync, 'Authorization'));
    const user = countRenders(headerTemplate(sync, 'X-User'));
    const body = countRenders(sync.destination.track.body);
    for (let index = 0; index < 3; index++) {
      const request = renderEventsForSync(sync, [event(index)]);
      assert.equal(request.url, 'http://127.0.0.1:9/test');
      assert.equal(request.headers.authorization, basic('k-123'));
      assert.equal(request.headers['x-user'], `user-${index}`);
      // Every request carries what was derived from the secret, not only the one that rendered it.
      assert.deepEqual(derivedSecretsOf(request), [Buffer.from('site:k-123').toString('base64')]);
      const safe = redactRequest(sync, request);
      assert.equal(safe.headers.authorization, '[redacted]');
      assert.doesNotMatch(JSON.stringify(safe), /k-123|c2l0ZTprLTEyMw/);
    }
    assert.deepEqual([url.calls, authorization.calls, user.calls, body.calls], [1, 1, 3, 3]);
  });

  it('renders a preview with its own parameters every time, and the sync keeps its real request', async () => {
    const sync = await load('k-123');
    const masked = previewParameters(sync.parameters, 'mask').values;
    assert.equal(renderEventsForSync(sync, [event(1)]).headers.authorization, basic('k-123'));
    const preview = renderEventsForSync(sync, [event(1)], 'track', renderForPreview(masked));
    assert.equal(preview.headers.authorization, basic('<secret:api_key>'));
    assert.equal(renderEventsForSync(sync, [event(2)]).headers.authorization, basic('k-123'));
    assert.equal(renderEventsForSync(sync, [event(2)], 'track', renderForPreview({ ...masked, api_key: 'other' })).headers.authorization, basic('other'));
  });

  it('renders a reloaded sync with its new secret', async () => {
    assert.equal(renderEventsForSync(await load('k-old'), [event(1)]).headers.authorization, basic('k-old'));
    const reloaded = await load('k-new');
    assert.equal(renderEventsForSync(reloaded, [event(1)]).headers.authorization, basic('k-new'));
    assert.deepEqual(derivedSecretsOf(renderEventsForSync(reloaded, [event(2)])), [Buffer.from('site:k-new').toString('base64')]);
  });
});
