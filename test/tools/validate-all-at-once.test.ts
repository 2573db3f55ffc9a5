import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { baseDefinition, baseSync, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

/** Folder alpha: five mistakes in five files and stages (a template that does not compile does not hide the others). */
function alpha() {
  const definition = baseDefinition();
  (definition.request as { headers: Record<string, string> }).headers['X-Event'] = '{{ input.event_type | upperr }}';
  return destinationFiles({
    'destination.json': definition,
    // The comma after "event" is missing when revenue is present: only generated events reach it.
    'body.njk': '{"id": {{ mappedFields.external_id | json }}, "event": {{ input.event_type | json }}\n{% if input.revenue is defined %}"revenue": {{ input.revenue | json }}{% endif %}}\n',
    'logo.png': 'not a png',
    'syncs/default.json': { ...baseSync(), parameters: { url: 'http://127.0.0.1:9/test', api_key: 'sk_live_inline', urll: 'x' } },
    'examples/basic.json': { event: { event_type: 'purchase', user_id: 'user-1' }, expect: { method: 'POST', url: 'http://127.0.0.1:9/test', body: { id: 'user-1', event: 'purchase' } } },
  });
}

/** Folder beta: five more, in destination.json, the body, the sync and the example. */
function beta() {
  const definition = baseDefinition();
  definition.parameters = [...(definition.parameters as object[]), { name: 'region', displayName: 'Region' }, { name: 'api_secret', displayName: 'API secret' }];
  (definition.request as { headers: Record<string, string> }).headers['X-Secret'] = '{{ parameters.api_secret }}';
  return destinationFiles({
    'destination.json': definition,
    'body.njk': '{"id": {{ mappedFields.external_id | json }}, "event": "${event_type}"\n{% if input.price?? %}, "price": {{ input.price | json }}{% endif %}}\n',
    'syncs/default.json': { ...baseSync(), parameters: { url: 'http://127.0.0.1:9/test', api_key: { env: 'TEST_API_KEY' }, region: 'eu', api_secret: 'inline-secret' } },
    'examples/basic.json': { event: { event_type: 'purchase', user_id: 'user-1' }, expect: { method: 'POST', url: 'http://127.0.0.1:9/other', body: { id: 'user-1', event: 'purchase' } } },
  });
}

describe('tools validate: every problem in one run', () => {
  it('reports ten different planted mistakes in two folders at once, sorted by file and line, with the count at the end', async () => {
    const temp = tempDir();
    try {
      writeFiles(join(temp.dir, 'alpha'), alpha());
      writeFiles(join(temp.dir, 'beta'), beta());
      const result = await runCli(['validate', temp.dir, '--strict'], { cwd: temp.dir });
      assert.equal(result.code, 1);
      const lines = result.stderr.trimEnd().split('\n');
      const problems = lines.filter((line) => /^(alpha|beta)\//.test(line));
      const expected = [
        /^alpha\/body\.njk:2:\d+: fails on generated events: rendered body is not valid JSON/,
        /^alpha\/destination\.json:\d+:\d+: template in the header X-Event template \(template line 1, column \d+\): not allowed: unknown filter "upperr" \(did you mean "upper"\?\)/,
        /^alpha\/logo\.png: logo is not a PNG/,
        /^alpha\/syncs\/default\.json:\d+:\d+: parameter "api_key" is secret: give it by reference/,
        /^alpha\/syncs\/default\.json:\d+:\d+: unknown parameter "urll" \(did you mean "url"\?\)/,
        /^beta\/body\.njk:1:\d+: template: "\$\{event_type\}" is Freemarker, which nunjucks writes as text: write \{\{ input\.event_type \| json \}\}/,
        /^beta\/body\.njk:2:\d+: template: input\.price\?\? is Freemarker \("has a value"; .*write input\.price != null/,
        /^beta\/destination\.json:\d+:\d+: parameter "region" is declared but not used/,
        /^beta\/examples\/basic\.json:\d+:\d+: example does not match the rendered request: .*url/,
        /^beta\/syncs\/default\.json:\d+:\d+: parameter "api_secret" is given inline, but its name says it is a credential/,
      ];
      assert.equal(problems.length, expected.length, result.stderr);
      expected.forEach((pattern, index) => assert.match(problems[index], pattern));
      assert.match(lines[lines.length - 1], /^10 errors in 2 of 2 destinations under \.: alpha, beta$/);
    } finally {
      temp.remove();
    }
  });
});
