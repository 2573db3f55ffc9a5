// ${vars.NAME} in a sync's parameter values: declared once in <destinations>/variables.json, given
// another value by a host's configuration, never changing what the examples are checked against.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem, loadDestination, loadDestinations, syncEgressHosts } from '../../daemon/registry/index.js';
import { makeDestinationsDir, writeDestinationFolder } from '../helpers/destination-folder.js';

function writeVariables(dir: string, variables: unknown): void {
  writeFileSync(join(dir, 'variables.json'), JSON.stringify({ $schema: '../schema/variables.schema.json', variables }, null, 2));
}

describe('registry variables', () => {
  it("replaces ${vars.NAME} in a sync's parameter values with the variables file's value, so the URL and egress hosts are the plain ones", async () => {
    const { dir, remove } = makeDestinationsDir();
    try {
      writeVariables(dir, { sink: 'http://127.0.0.1:3000' });
      writeDestinationFolder(dir, 'testsink', { syncs: { main: { parameters: { endpoint: '${vars.sink}/test', token: { env: 'VARS_TOKEN' } } } } });
      const loaded = await loadDestinations(dir, { env: { VARS_TOKEN: 't' } });
      assert.deepEqual(loaded.problems.map((problem) => formatProblem(problem)), []);
      const sync = loaded.destinations[0].syncs[0];
      assert.equal(sync.parameters.values.endpoint, 'http://127.0.0.1:3000/test');
      assert.equal(sync.parameters.secretNames.has('endpoint'), false, 'a variable is not a secret: previews and logs show it');
      assert.deepEqual(syncEgressHosts(sync), ['127.0.0.1:3000']);
    } finally {
      remove();
    }
  });

  it("uses a host's value from the daemon configuration, and still checks examples against the file's", async () => {
    const { dir, remove } = makeDestinationsDir();
    try {
      writeVariables(dir, { sink: 'http://127.0.0.1:3000' });
      const folder = writeDestinationFolder(dir, 'testsink', { syncs: { main: { parameters: { endpoint: '${vars.sink}/test', token: { env: 'VARS_TOKEN' } } } } });
      mkdirSync(join(folder, 'examples'));
      const event = { event_type: 'purchase', user_id: 'u1', insert_id: 'i1', time: 1_700_000_000_000 };
      const expect = { method: 'POST', url: 'http://127.0.0.1:3000/test/track', body: { event: 'purchase', user: 'u1', insert_id: 'i1', properties: {} } };
      writeFileSync(join(folder, 'examples', 'purchase.json'), JSON.stringify({ event, expect }));

      const asWritten = await loadDestinations(dir, { env: { VARS_TOKEN: 't' } });
      assert.deepEqual(asWritten.problems.filter((problem) => problem.severity === 'error').map((problem) => formatProblem(problem)), []);

      const onHost = await loadDestinations(dir, { env: { VARS_TOKEN: 't' }, variables: { sink: 'http://127.0.0.1:41000' } });
      assert.deepEqual(onHost.problems.filter((problem) => problem.severity === 'error').map((problem) => formatProblem(problem)), [], 'the example still matches');
      assert.equal(onHost.destinations[0].syncs[0].parameters.values.endpoint, 'http://127.0.0.1:41000/test');
    } finally {
      remove();
    }
  });

  it('names the parameter, the unknown variable and the file that declares them, in one line each', async () => {
    const { dir, remove } = makeDestinationsDir();
    try {
      writeVariables(dir, { sink: 'http://127.0.0.1:3000' });
      writeDestinationFolder(dir, 'unknown', { syncs: { main: { parameters: { endpoint: '${vars.sinc}/test', token: { env: 'VARS_TOKEN' } } } } });
      writeDestinationFolder(dir, 'unclosed', { syncs: { main: { parameters: { endpoint: '${vars.sink/test', token: { env: 'VARS_TOKEN' } } } } });
      const loaded = await loadDestinations(dir, { resolveSecrets: false });
      const lines = loaded.problems.map((problem) => formatProblem(problem, dir));
      assert.deepEqual(loaded.rejected, ['unclosed', 'unknown']);
      assert.ok(lines.includes(`unknown/syncs/main.json:3:5: unknown variable "sinc" in \${vars.sinc}: ${join(dir, 'variables.json')} declares sink, or write the value here (at /parameters/endpoint)`), lines.join('\n'));
      assert.ok(lines.includes('unclosed/syncs/main.json:3:5: ${vars. without its closing "}": write ${vars.NAME} (at /parameters/endpoint)'), lines.join('\n'));
    } finally {
      remove();
    }
  });

  it('refuses a host value for a variable the file does not declare, and a variables file that breaks its schema', async () => {
    const { dir, remove } = makeDestinationsDir();
    try {
      writeVariables(dir, { sink: 'http://127.0.0.1:3000' });
      writeDestinationFolder(dir, 'testsink', { syncs: { main: { parameters: { endpoint: 'http://127.0.0.1:1/test', token: { env: 'VARS_TOKEN' } } } } });
      const typo = await loadDestinations(dir, { resolveSecrets: false, variables: { snk: 'http://127.0.0.1:4000' } });
      assert.deepEqual(
        typo.problems.map((problem) => formatProblem(problem, dir)),
        ['variables.json: variable "snk" is given a value by the daemon configuration but not declared here: declare it in "variables" (with the value validate and preview use)'],
      );

      writeVariables(dir, { Sink: 1 });
      const broken = await loadDestination(join(dir, 'testsink'), { resolveSecrets: false });
      assert.ok(broken.problems.some((problem) => problem.file === join(dir, 'variables.json') && problem.severity === 'error'), broken.problems.map((problem) => formatProblem(problem)).join('\n'));
    } finally {
      remove();
    }
  });
});
