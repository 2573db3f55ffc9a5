// Patterns that take exponential or quadratic time (or memory) on JavaScript's backtracking matcher
// (test/fixtures/catastrophic-patterns), each run on the text that attacks it through the render,
// `destinations validate` and `destinations preview`: each ends within the render deadline, or is
// refused (at compile time with its place, or by the budget). Before the linear-time matcher, the
// first one froze the process (the finding of issue 20).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { compileTemplate, RenderError, TemplateUnsafeError } from '../../daemon/render/index.js';
import { DEFAULT_RENDER_MAX_MILLIS } from '../../daemon/defaults.js';
import { attackEvent, catastrophicPatterns } from '../helpers/catastrophic-patterns.js';
import { runCli } from '../helpers/cli.js';
import { destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

const CORPUS = catastrophicPatterns();
const ENDS = /render budget exceeded|not allowed/;

describe('catastrophic patterns', () => {
  const temp = tempDir('destinations-patterns-');
  const root = join(temp.dir, 'destinations');
  const env = { TEST_API_KEY: 'key' };

  before(() => {
    for (const pattern of CORPUS) {
      const event = attackEvent(pattern);
      writeFiles(join(root, pattern.slug), destinationFiles({
        'body.njk': pattern.source,
        'examples/attack.json': { event, expect: { method: 'POST', url: 'http://127.0.0.1:9/test', body: {} } },
      }));
      writeFileSync(join(temp.dir, `${pattern.slug}.json`), JSON.stringify(event));
    }
  });

  after(() => temp.remove());

  it('has at least 10 patterns, nested quantifiers, overlapping alternations and back-references among them', () => {
    assert.ok(CORPUS.length >= 10, `only ${CORPUS.length}`);
    assert.ok(CORPUS.some((pattern) => pattern.refused));
    assert.ok(CORPUS.filter((pattern) => !pattern.refused).length >= 10);
  });

  it('each renders its attack within the render deadline, or is refused', { timeout: 60_000 }, () => {
    for (const pattern of CORPUS) {
      let template;
      try {
        template = compileTemplate(pattern.source, 'body.njk');
      } catch (error) {
        assert.ok(pattern.refused, `${pattern.slug}: ${String(error)}`);
        assert.ok(error instanceof TemplateUnsafeError && /^body\.njk:\d+:\d+: not allowed: the pattern r\//.test(error.message), `${pattern.slug}: ${String(error)}`);
        continue;
      }
      assert.equal(pattern.refused, false, `${pattern.slug} compiled`);
      const started = performance.now();
      try {
        template.render({ input: attackEvent(pattern) });
      } catch (error) {
        assert.ok(error instanceof RenderError && /render budget exceeded/.test(error.message), `${pattern.slug}: ${String(error)}`);
      }
      const took = performance.now() - started;
      assert.ok(took < DEFAULT_RENDER_MAX_MILLIS, `${pattern.slug} took ${took.toFixed(0)} ms`);
    }
  });

  it('validate ends, and refuses the patterns RE2 cannot run with file:line:col and the fix', { timeout: 120_000 }, async () => {
    const result = await runCli(['validate', root], { env });
    assert.equal(result.code, 1, result.stderr);
    for (const pattern of CORPUS) {
      const file = relative(PACKAGE_ROOT, join(root, pattern.slug, 'body.njk')).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const refusal = new RegExp(`^${file}:\\d+:\\d+: template: not allowed: the pattern r/.*(back-reference|look-ahead|look-behind).*`, 'm');
      if (pattern.refused) assert.match(result.stderr, refusal, pattern.slug);
      else assert.doesNotMatch(result.stderr, new RegExp(`^${file}:.*not allowed`, 'm'), pattern.slug);
    }
  });

  it('preview of each attack ends with the request, or a refusal', { timeout: 180_000 }, async () => {
    for (let first = 0; first < CORPUS.length; first += 3) {
      await Promise.all(
        CORPUS.slice(first, first + 3).map(async (pattern) => {
          const result = await runCli(['preview', join(root, pattern.slug), '--event', join(temp.dir, `${pattern.slug}.json`), '--format', 'json'], { env });
          if (result.code === 0) assert.equal(pattern.refused, false, pattern.slug);
          else assert.match(result.stderr, ENDS, `${pattern.slug}: ${result.stderr}`);
          if (pattern.refused) assert.match(result.stderr, /not allowed: the pattern/, pattern.slug);
        }),
      );
    }
  });
});
