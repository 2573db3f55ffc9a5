import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { runCli } from '../helpers/cli.js';
import { makeDestinationsDir, writeDestinationFolder } from '../helpers/destination-folder.js';

const INVALID = join(PACKAGE_ROOT, 'test', 'fixtures', 'invalid');
const cases = readdirSync(INVALID).sort();

/** The problem lines of stderr: everything but the closing summary. */
function problemLines(stderr: string): string[] {
  return stderr.trimEnd().split('\n').filter((line) => line && !/^\d+ errors?(, \d+ warnings?)? in \d+ of \d+ destinations? under /.test(line));
}

function expectedLines(name: string): string[] {
  return readFileSync(join(INVALID, name, 'expected-errors.txt'), 'utf8').trimEnd().split('\n');
}

describe('tools validate', () => {
  it('prints a problem whose text carries control characters escaped, so a folder cannot drive the terminal', async () => {
    const folders = makeDestinationsDir();
    try {
      writeDestinationFolder(folders.dir, 'hook', { syncs: { '\u001b[2Jhidden': { parameters: {} } } });
      const result = await runCli(['validate', folders.dir]);
      assert.equal(result.code, 1);
      assert.doesNotMatch(result.stderr, /\u001b/, 'no raw escape character');
      assert.match(result.stderr, /\\u001b\[2Jhidden/, 'the name is shown, escaped');
    } finally {
      folders.remove();
    }
  });

  it('exits 0 for the shipped destinations', async () => {
    const result = await runCli(['validate', 'destinations']);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^ok {2}braze {2}version [0-9a-f]{12} {2}syncs: default$/m);
    const shipped = readdirSync(join(PACKAGE_ROOT, 'destinations'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).length;
    assert.match(result.stdout, new RegExp(`^${shipped} destinations valid$`, 'm'));
  });

  it('validates the default folder, destinations, without an argument', async () => {
    const result = await runCli(['validate']);
    assert.equal(result.code, 0);
  });

  it('exits 0 for the valid fixture the mistakes start from', async () => {
    const result = await runCli(['validate', 'test/fixtures/valid/base']);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
  });

  it('has a fixture for every kind of mistake', () => {
    assert.deepEqual(cases, [
      'bad-json',
      'example-mismatch',
      'inline-secret',
      'missing-mapping',
      'not-png',
      'template-syntax',
      'undeclared-parameter',
      'unknown-key',
      'unused-parameter',
    ]);
  });

  for (const name of cases) {
    it(`shows exactly the ${name} error as path:line:col: message and exits 1`, async () => {
      const result = await runCli(['validate', `test/fixtures/invalid/${name}`]);
      assert.equal(result.code, 1);
      assert.deepEqual(problemLines(result.stderr), expectedLines(name));
      assert.match(result.stderr, new RegExp(`in 1 of 1 destination under test/fixtures/invalid/${name}: ${name}\\n$`));
    });
  }

  it('reports every problem of every folder at once', async () => {
    const result = await runCli(['validate', 'test/fixtures/invalid']);
    assert.equal(result.code, 1);
    assert.deepEqual(problemLines(result.stderr).sort(), cases.flatMap(expectedLines).sort());
    assert.match(result.stderr, /10 errors in 9 of 9 destinations under test\/fixtures\/invalid/);
  });

  it('names places relative to the working directory', async () => {
    const result = await runCli(['validate', 'invalid/bad-json'], { cwd: join(PACKAGE_ROOT, 'test', 'fixtures') });
    assert.match(result.stderr, /^invalid\/bad-json\/destination\.json:5:3: invalid JSON: comma expected$/m);
  });

  it('prints the DECLARED vs USED table with --verbose, also for a rejected folder', async () => {
    const result = await runCli(['validate', '--verbose', 'test/fixtures/invalid/undeclared-parameter']);
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout,
      [
        'undeclared-parameter: DECLARED vs USED',
        '  PARAMETER  DECLARED     USED IN',
        '  url        yes          URL',
        '  api_key    yes, secret  header Authorization',
        '  region     no           body.njk              <- used but not declared',
        '',
      ].join('\n'),
    );
    const unused = await runCli(['validate', '-v', 'test/fixtures/invalid/unused-parameter']);
    assert.match(unused.stdout, /region +yes +- +<- declared but not used/);
  });

  it('exits 2 on a usage mistake', async () => {
    assert.equal((await runCli(['validate', '--colour'])).code, 2);
    const missing = await runCli(['validate', 'no/such/dir']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such directory: no\/such\/dir/);
    assert.equal((await runCli(['validate', 'a', 'b'])).code, 2);
  });
});
