import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { baseDefinition, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

const POSTHOG = 'test/fixtures/posthog';

/** A folder written by the test, validated; the folder is removed afterwards. */
async function validateFolder(overrides: Parameters<typeof destinationFiles>[0], args: string[] = []) {
  const temp = tempDir();
  try {
    writeFiles(join(temp.dir, 'dest'), destinationFiles(overrides));
    const result = await runCli(['validate', join(temp.dir, 'dest'), ...args], { cwd: temp.dir });
    return { ...result, dir: temp.dir };
  } finally {
    temp.remove();
  }
}

const EXAMPLE = {
  event: { event_type: 'purchase', user_id: 'user-1' },
  expect: { method: 'POST', url: 'http://127.0.0.1:9/test', body: { id: 'user-1', event: 'purchase', properties: {} } },
};

describe('tools validate: templates proven on generated events', () => {
  it('passes the correct PostHog batch template', async () => {
    const result = await runCli(['validate', `${POSTHOG}/good`]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
  });

  it('fails an optional field written without its comma, naming the template line, the smallest event and the output around it', async () => {
    const result = await runCli(['validate', `${POSTHOG}/optional-field-without-comma`]);
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n');
    assert.match(lines[0], /^test\/fixtures\/posthog\/optional-field-without-comma\/body\.njk:14:9: fails on generated events: rendered body is not valid JSON at output line 10, column 9 \(comma expected\)/);
    assert.match(lines[1], /the smallest: device_id present$/);
    const event = JSON.parse(lines[3]);
    assert.equal(event.device_id, 'device-1', 'the event printed is ready for preview --event');
    assert.ok(lines.includes('  10 |         "$device_id": "device-1"'), 'an excerpt of the output around the error');
  });

  it('fails batch items written without a comma between them, with a batch of two as the smallest case', async () => {
    const result = await runCli(['validate', `${POSTHOG}/batch-items-without-comma`]);
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n');
    assert.match(lines[0], /^test\/fixtures\/posthog\/batch-items-without-comma\/body\.njk:\d+:\d+: fails on generated events: rendered body is not valid JSON/);
    assert.match(lines[1], /the smallest: a batch of 2/);
    const events = JSON.parse(lines[3]);
    assert.equal(events.length, 2);
  });

  it('gives the same output every run (the corpus is deterministic)', async () => {
    const first = await runCli(['validate', `${POSTHOG}/optional-field-without-comma`]);
    const second = await runCli(['validate', `${POSTHOG}/optional-field-without-comma`]);
    assert.equal(first.stderr, second.stderr);
  });

  it('fails a typo in an input field although no example reaches it (json no longer writes null)', async () => {
    const result = await validateFolder({ 'body.njk': '{"id": {{ mappedFields.external_id | json }}, "event": {{ input.event_typ | json }}}\n', 'examples/basic.json': EXAMPLE });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /dest\/body\.njk:1:\d+: fails on generated events: input\.event_typ is undefined/);
    assert.match(result.stderr, /dest\/examples\/basic\.json:\d+:\d+: cannot render this event with sync default: body\.njk:1:\d+: input\.event_typ is undefined/);
  });

  it('fails Freemarker pasted from the partner guide, naming the nunjucks to write (the quotes of the JSON string go with it)', async () => {
    const result = await validateFolder({ 'body.njk': '{"id": {{ mappedFields.external_id | json }}, "event": "${input.event_type}"}\n', 'examples/basic.json': EXAMPLE });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /dest\/body\.njk:1:56: template: "\$\{input\.event_type\}" is Freemarker, which nunjucks writes as text: write \{\{ input\.event_type \| json \}\}/);
  });

  it('passes a header that carries event data (it is percent-encoded), and fails one whose own text a header cannot hold, naming the header and the fix', async () => {
    const encoded = baseDefinition();
    (encoded.request as { headers: Record<string, string> }).headers['X-Event'] = '{{ input.event_type }}';
    const passed = await validateFolder({ 'destination.json': encoded, 'examples/basic.json': EXAMPLE });
    assert.equal(passed.code, 0, passed.stderr);
    const literal = baseDefinition();
    (literal.request as { headers: Record<string, string> }).headers['X-Raw'] = 'a\u0001b';
    const failed = await validateFolder({ 'destination.json': literal, 'examples/basic.json': EXAMPLE });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /destination\.json:\d+:\d+: fails on generated events: header x-raw holds a control character, which an HTTP header cannot carry: .*encode it in the template/);
  });
});

describe('tools validate: every problem in one run', () => {
  it('a bad logo does not hide the sync errors', async () => {
    const result = await validateFolder({ 'logo.png': 'not a png', 'syncs/default.json': { parameters: { url: 'http://127.0.0.1:9/test', api_key: 'inline!' }, fieldMappings: {} } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /logo\.png: logo is not a PNG/);
    assert.match(result.stderr, /syncs\/default\.json:\d+:\d+: .*api_key/);
  });

  it('warns about a folder without examples (exit 0), and --strict makes it an error', async () => {
    const lenient = await validateFolder({});
    assert.equal(lenient.code, 0);
    assert.match(lenient.stderr, /dest\/examples: warning: no examples/);
    const strict = await validateFolder({}, ['--strict']);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /dest\/examples: no examples/);
  });

  it('warns about an identify request without an identify example', async () => {
    const definition = { ...baseDefinition(), identify: { body: 'body.njk' } };
    const result = await validateFolder({ 'destination.json': definition, 'examples/basic.json': EXAMPLE });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /dest\/examples: warning: the destination has an identify request but no example of it/);
  });
});

describe('tools validate --format github', () => {
  it('prints each problem as a GitHub Actions annotation with file, line and column, the message on one line', async () => {
    const temp = tempDir();
    try {
      const summary = join(temp.dir, 'summary.md');
      const result = await runCli(['validate', `${POSHOG_PATH}`, '--format', 'github'], { env: { GITHUB_STEP_SUMMARY: summary } });
      assert.equal(result.code, 1);
      const [annotation] = result.stdout.split('\n').filter((line) => line.startsWith('::'));
      assert.match(annotation, /^::error file=test\/fixtures\/posthog\/optional-field-without-comma\/body\.njk,line=14,col=9,title=destinations validate::fails on generated events: rendered body is not valid JSON.*%0A {2}fails for/);
      assert.match(readFileSync(summary, 'utf8'), /\| optional-field-without-comma \| invalid \|/);
    } finally {
      temp.remove();
    }
  });
});

const POSHOG_PATH = `${POSTHOG}/optional-field-without-comma`;
