import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';

describe('tools preview - hostile event files', () => {
  const temp = tempDir();
  after(() => temp.remove());
  const file = (name: string) => join(temp.dir, name);
  writeFiles(temp.dir, {
    'deep.json': `{"event_type":"x","user_id":"u","event_properties":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`,
    'bad-utf8.json': Buffer.concat([Buffer.from('{"event_type":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","user_id":"u"}')]),
    'escape-key.json': '{"event_type":"x","user_id":"u","time":"\\u001b[2J"}',
    'big.json': '{"event_type":"x","user_id":"u","insert_id":"i","event_properties":{"id":12345678901234567891}}',
  });
  const preview = (name: string, ...args: string[]) => runCli(['preview', 'destinations/webhook', '--event', file(name), ...args], { env: { WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('a test signing key of 32 bytes!!').toString('base64')}` } });

  it('reports an event nested 10,000 deep in one line, without a stack trace', async () => {
    const result = await preview('deep.json');
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `${file('deep.json')}: invalid event: nests deeper than 64 levels\n`);
  });

  it('reports a file that is not UTF-8 in one line', async () => {
    const result = await preview('bad-utf8.json');
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `${file('bad-utf8.json')}: invalid event: not UTF-8\n`);
  });

  it('an invalid event\'s message is one line with no control characters', async () => {
    const result = await preview('escape-key.json');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /escape-key\.json: invalid event: \/time: must be integer/);
  });

  it('keeps every digit of an integer beyond 2^53 in the rendered body', async () => {
    const result = await preview('big.json');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"id":12345678901234567891\b/);
  });
});
