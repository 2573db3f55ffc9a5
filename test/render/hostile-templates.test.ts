// The hostile-template corpus (test/fixtures/hostile-templates): known nunjucks template
// injections, each run through `destinations validate`, `destinations preview` and the daemon's
// render function. Each must be refused, none may run (its payload would write a marker file) and
// no environment variable may show in anything printed or thrown.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { loadDestination, renderEventsForSync, type LoadedSync } from '../../daemon/registry/internal.js';
import { RenderError, TemplateSyntaxError, type CompiledTemplate } from '../../daemon/render/index.js';
import { compileTemplateWithoutStaticCheck } from '../../daemon/render/template.js';
import { runCli } from '../helpers/cli.js';
import { destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';

const CORPUS = join(PACKAGE_ROOT, 'test', 'fixtures', 'hostile-templates');
const CANARY = `canary-${randomUUID()}`;
const EVENT = { event_type: 'purchase', user_id: 'user-1', insert_id: 'i-1', event_properties: { price: 1 } };

describe('hostile templates', () => {
  const temp = tempDir('destinations-hostile-');
  const marker = join(temp.dir, 'pwned');
  const secret = join(temp.dir, 'secret.txt');
  const root = join(temp.dir, 'destinations');
  const eventFile = join(temp.dir, 'event.json');
  const names = readdirSync(CORPUS).filter((name) => name.endsWith('.njk')).sort();
  const slugOf = (name: string) => name.replace(/\.njk$/, '');
  /** A fixture with its placeholders filled: where the marker goes, and a file an include would read. */
  const sourceOf = (name: string) =>
    readFileSync(join(CORPUS, name), 'utf8')
      .replaceAll('@MARKER@', marker)
      .replaceAll('@SECRET_UP@', `${'../'.repeat(20)}${secret.slice(1)}`)
      .replaceAll('@SECRET@', secret);
  const env = { DESTINATIONS_CANARY: CANARY, TEST_API_KEY: CANARY };
  let benign: LoadedSync;

  before(async () => {
    writeFileSync(secret, `${CANARY}\n`);
    writeFileSync(eventFile, JSON.stringify(EVENT));
    for (const name of names) {
      writeFiles(join(root, slugOf(name)), destinationFiles({
        'body.njk': sourceOf(name),
        'examples/basic.json': { event: EVENT, expect: { method: 'POST', url: 'http://127.0.0.1:9/test', body: {} } },
      }));
    }
    writeFiles(join(temp.dir, 'benign'), destinationFiles());
    process.env.DESTINATIONS_CANARY = CANARY;
    process.env.TEST_API_KEY = CANARY;
    const loaded = await loadDestination(join(temp.dir, 'benign'), { resolveSecrets: true });
    assert.ok(loaded.destination, JSON.stringify(loaded.problems));
    benign = loaded.destination.syncs[0];
  });

  after(() => {
    delete process.env.DESTINATIONS_CANARY;
    delete process.env.TEST_API_KEY;
    temp.remove();
  });

  it('has at least 20 known escapes', () => {
    assert.ok(names.length >= 20, `only ${names.length} templates in ${CORPUS}`);
  });

  it('validate refuses every one with file:line:col, before rendering any example, and nothing runs', async () => {
    const result = await runCli(['validate', root], { env });
    assert.equal(result.code, 1);
    for (const name of names) {
      const file = relative(PACKAGE_ROOT, join(root, slugOf(name), 'body.njk')).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      // Names outside the context (process, globalThis) are undefined: the example cannot render, an error placed at the example.
      const place = slugOf(name) === '29-global-process'
        ? new RegExp(`^${file.replace(/body\\\.njk$/, 'examples/basic\\.json')}:\\d+:\\d+: cannot render this event .*undefined value`, 'm')
        : new RegExp(`^${file}:\\d+:\\d+: template: not allowed: `, 'm');
      assert.match(result.stderr, place, `${name} is not refused with its place:\n${result.stderr}`);
    }
    assert.equal(existsSync(marker), false, 'a template ran code');
    assert.ok(!`${result.stdout}${result.stderr}`.includes(CANARY), 'an environment variable or the secret file leaked');
  });

  it('preview refuses every one and nothing runs', async () => {
    // Three CLI processes at a time: each is mostly node's start-up, and the runner leaves a core idle.
    for (let first = 0; first < names.length; first += 3) {
      await Promise.all(
        names.slice(first, first + 3).map(async (name) => {
          const result = await runCli(['preview', join(root, slugOf(name)), '--event', eventFile, '--format', 'json'], { env });
          assert.equal(result.code, 1, `${name}: ${result.stdout}`);
          assert.match(result.stderr, /not allowed|undefined value/, name);
          assert.ok(!`${result.stdout}${result.stderr}`.includes(CANARY), `${name} leaked the environment`);
          assert.equal(existsSync(marker), false, `${name} ran code`);
        }),
      );
    }
  });

  it('preview --show-secrets of the process.env template prints no environment either', async () => {
    const result = await runCli(['preview', join(root, '06-env-in-masked-preview'), '--event', eventFile, '--show-secrets'], { env });
    assert.equal(result.code, 1);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(CANARY));
  });

  it("the daemon's render refuses every one without the static check too: a name that is no name at compile, the rest at run time as render_failed", () => {
    for (const name of names) {
      let body: CompiledTemplate;
      try {
        body = compileTemplateWithoutStaticCheck(sourceOf(name), 'body.njk');
      } catch (error) {
        // nunjucks writes names into the code it generates unescaped: our compiler refuses such a name itself.
        assert.ok(error instanceof TemplateSyntaxError && /is not a name/.test(error.message) && !error.message.includes(CANARY), `${name}: ${error}`);
        continue;
      }
      const sync: LoadedSync = { ...benign, destination: { ...benign.destination, track: { ...benign.destination.track, body } } };
      assert.throws(
        () => renderEventsForSync(sync, [EVENT as never]),
        (error: unknown) =>
          error instanceof RenderError &&
          error.code === 'render_failed' &&
          /not allowed|filter not found|undefined value/.test(error.message) &&
          !error.message.includes(CANARY),
        name,
      );
      assert.equal(existsSync(marker), false, `${name} ran code`);
    }
  });
});
