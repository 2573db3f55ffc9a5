import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { previewParameters, redactSecrets, resolveParameters } from '../../daemon/registry/internal.js';
import type { Parameter } from '../../schema/generated/destination.js';
import { tempDir, writeFiles } from '../helpers/folders.js';

const declared: Parameter[] = [
  { name: 'url', displayName: 'URL' },
  { name: 'region', displayName: 'Region', required: false, default: 'us' },
  { name: 'api_key', displayName: 'API key', secret: true },
  { name: 'token', displayName: 'Token', secret: true, required: false },
];

describe('registry secrets', () => {
  const temp = tempDir();
  after(() => temp.remove());
  const syncFile = join(temp.dir, 'syncs', 'default.json');
  writeFiles(temp.dir, {
    'syncs/key.txt': 'from-a-file\n',
    'credentials/api_key': 'from-credentials\r\n',
    'syncs/empty.txt': '\n',
  });

  it('resolves an environment variable and fills defaults', () => {
    const resolved = resolveParameters(declared, { url: 'http://x', api_key: { env: 'KEY' } }, { syncFile, resolveSecrets: true, env: { KEY: 'k-123' } });
    assert.deepEqual(resolved.values, { url: 'http://x', region: 'us', api_key: 'k-123' });
    assert.deepEqual(resolved.secretValues, ['k-123']);
    assert.deepEqual([...resolved.secretNames].sort(), ['api_key', 'token']);
    assert.deepEqual([...resolved.referenced], ['api_key']);
    assert.equal(resolved.unresolved.size, 0);
  });

  it('reads a file relative to the sync file, without its trailing newline', () => {
    const resolved = resolveParameters(declared, { url: 'u', api_key: { file: 'key.txt' } }, { syncFile, resolveSecrets: true, env: {} });
    assert.equal(resolved.values.api_key, 'from-a-file');
  });

  it('expands ${VAR} in a file path, as for systemd credentials', () => {
    const resolved = resolveParameters(
      declared,
      { url: 'u', api_key: { file: '${CREDENTIALS_DIRECTORY}/api_key' } },
      { syncFile, resolveSecrets: true, env: { CREDENTIALS_DIRECTORY: join(temp.dir, 'credentials') } },
    );
    assert.equal(resolved.values.api_key, 'from-credentials');
  });

  it('reports what is missing: an unset variable, a missing file, an unset ${VAR}, an empty value', () => {
    const cases: Array<[object, RegExp]> = [
      [{ env: 'NOPE' }, /environment variable NOPE is not set/],
      [{ file: 'missing.txt' }, /cannot read secret file .*missing\.txt: ENOENT/],
      [{ file: '${NOT_SET}/key' }, /environment variable NOT_SET is not set/],
      [{ file: 'empty.txt' }, /file empty\.txt is empty/],
    ];
    for (const [reference, why] of cases) {
      const resolved = resolveParameters(declared, { url: 'u', api_key: reference as never }, { syncFile, resolveSecrets: true, env: {} });
      assert.equal('api_key' in resolved.values, false);
      assert.match(resolved.unresolved.get('api_key') ?? '', why);
    }
  });

  it('leaves references untried when secrets are not to be read', () => {
    const resolved = resolveParameters(declared, { url: 'u', api_key: { env: 'KEY' } }, { syncFile, resolveSecrets: false, env: { KEY: 'k' } });
    assert.equal('api_key' in resolved.values, false);
    assert.equal(resolved.unresolved.size, 0);
    assert.deepEqual(resolved.secretValues, []);
  });

  it('masks secrets in a preview, shows them when asked, and marks unresolved ones', () => {
    const resolved = resolveParameters(declared, { url: 'u', api_key: { env: 'KEY' }, token: { env: 'NOPE' } }, { syncFile, resolveSecrets: true, env: { KEY: 'k-123' } });
    const masked = previewParameters(resolved, 'mask');
    assert.deepEqual(masked.values, { url: 'u', region: 'us', api_key: '<secret:api_key>', token: '<unresolved:token>' });
    assert.match(masked.warnings.join('\n'), /secret parameter token is not resolved \(environment variable NOPE is not set\)/);
    const shown = previewParameters(resolved, 'show');
    assert.equal(shown.values.api_key, 'k-123');
    assert.equal(shown.values.token, '<unresolved:token>');
  });

  it('a secret that is not given stays absent in a preview, as it is when sending', () => {
    const resolved = resolveParameters(declared, { url: 'u', api_key: { env: 'KEY' } }, { syncFile, resolveSecrets: true, env: { KEY: 'k' } });
    assert.equal('token' in previewParameters(resolved, 'mask').values, false);
  });

  it('redacts every resolved secret value, also JSON- and URL-encoded', () => {
    const text = 'Bearer s3cr"et/x and {"k":"s3cr\\"et/x"} and s3cr%22et%2Fx and other';
    assert.equal(redactSecrets(text, ['s3cr"et/x']), 'Bearer [redacted] and {"k":"[redacted]"} and [redacted] and other');
    assert.equal(redactSecrets('abcdef', ['abc', 'abcdef']), '[redacted]');
    assert.equal(redactSecrets('nothing here', []), 'nothing here');
  });
});
