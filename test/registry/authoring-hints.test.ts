import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { didYouMean, nearestNames } from '../../daemon/did-you-mean.js';
import { stringDifference } from '../../daemon/registry/examples.js';
import { SOUNDS_SECRET } from '../../daemon/registry/read-sync.js';

describe('registry: authoring hints', () => {
  it('did you mean: the names nearest a typo, none for a name far from all, none compared past 64 characters', () => {
    assert.deepEqual(nearestNames('jsn', ['json', 'join', 'upper']), ['json']);
    assert.deepEqual(nearestNames('sha265', ['sha256', 'sha256_email']), ['sha256']);
    assert.equal(didYouMean('upperr', ['upper', 'lower']), ' (did you mean "upper"?)');
    assert.equal(didYouMean('event_typ', ['event_type', 'user_id']), ' (did you mean "event_type"?)');
    assert.equal(didYouMean('Api_Key', ['api_key']), ' (did you mean "api_key"?)');
    assert.equal(didYouMean('zzzz', ['json', 'upper']), '');
    assert.equal(didYouMean('a'.repeat(65), ['a'.repeat(64)]), '');
  });

  it('an example mismatch shows the differing part with its context, wherever it is in a long string', () => {
    const expected = 'https://api.example.com/v2/projects/12345/events/track?api_key=<secret:api_key>&region=eu';
    const rendered = expected.replace('region=eu', 'region=us');
    assert.equal(stringDifference(expected, rendered), 'differs at character 88: expected "…ret:api_key>&region=[eu]", rendered "…ret:api_key>&region=[us]" (the differing part in [ ])');
    const inserted = stringDifference(`${'x'.repeat(70)}hello world${'y'.repeat(70)}`, `${'x'.repeat(70)}hello there world${'y'.repeat(70)}`);
    assert.match(inserted, /expected "…x+hello \[\]worldy+…", rendered "…x+hello \[there \]worldy+…"/);
  });

  it('a parameter name that says credential: secret, password, token and the keys that are credentials, not identifiers', () => {
    for (const name of ['api_secret', 'client_secret', 'password', 'access_token', 'apiKey', 'api_key', 'key', 'private_key', 'writeKey']) assert.match(name, SOUNDS_SECRET, name);
    for (const name of ['event_definition_key', 'contact_key', 'site_id', 'region', 'keyword']) assert.doesNotMatch(name, SOUNDS_SECRET, name);
  });
});
