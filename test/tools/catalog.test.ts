// destinations catalog: the shipped folders as Markdown, JSON and a static HTML page with the
// logos inside it; folder text is escaped in each form; a folder with errors is named and left out.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { makeDestinationsDir, TINY_PNG, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { runCli } from '../helpers/cli.js';

const SHIPPED = ['Braze', 'Customer.io', 'Example', 'Intercom', 'Salesforce Marketing Cloud', 'Webhook'];

describe('destinations catalog', () => {
  it('prints the shipped destinations as Markdown with their logos, categories and syncs', async () => {
    const result = await runCli(['catalog', 'destinations'], { cwd: PACKAGE_ROOT });
    assert.equal(result.code, 0, result.stderr);
    for (const name of SHIPPED) assert.match(result.stdout, new RegExp(`\\*\\*${name.replace('.', '\\.')}\\*\\*`));
    assert.match(result.stdout, /<img src="destinations\/braze\/logo\.png"/);
    assert.match(result.stdout, /\| Customer Engagement \|/);
    assert.match(result.stdout, /`webhook\.default`/);
  });

  it('prints JSON, and a self-contained HTML page with every logo as a data URL', async () => {
    const json = await runCli(['catalog', 'destinations', '--format', 'json'], { cwd: PACKAGE_ROOT });
    const entries = JSON.parse(json.stdout) as Array<{ name: string; category: string; version: string }>;
    assert.deepEqual(
      entries.map((entry) => entry.name),
      SHIPPED,
    );
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    try {
      const out = join(dir, 'catalog.html');
      const html = await runCli(['catalog', join(PACKAGE_ROOT, 'destinations'), '--format', 'html', '--out', out]);
      assert.equal(html.code, 0, html.stderr);
      const page = readFileSync(out, 'utf8');
      assert.equal(page.match(/<img src="data:image\/png;base64,/g)?.length, SHIPPED.length);
      assert.doesNotMatch(page, /(src|href)="https?:/, 'no external asset');
      assert.ok(page.includes(readFileSync(join(PACKAGE_ROOT, 'destinations/braze/logo.png')).toString('base64')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes folder text in Markdown and HTML, and names a folder with errors', async () => {
    const folder = makeDestinationsDir();
    try {
      writeDestinationFolder(folder.dir, 'sly', { definition: testDefinition({ name: 'Sly <script>alert(1)</script>', summary: 'a | b\nc' }) });
      writeDestinationFolder(folder.dir, 'broken', { definition: { name: 'Broken' } });
      const markdown = await runCli(['catalog', folder.dir, '--format', 'markdown']);
      assert.equal(markdown.code, 1);
      assert.match(markdown.stderr, /broken\/destination\.json/);
      assert.doesNotMatch(markdown.stdout, /Broken/);
      assert.match(markdown.stdout, /Sly &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.match(markdown.stdout, /a \\\| b c/);
      const html = await runCli(['catalog', folder.dir, '--format', 'html']);
      assert.ok(!html.stdout.includes('<script>'), 'no markup from a folder');
      assert.ok(html.stdout.includes(TINY_PNG.toString('base64')));
    } finally {
      folder.remove();
    }
  });

  it('refuses an unknown format as a usage error', async () => {
    const result = await runCli(['catalog', '--format', 'pdf'], { cwd: PACKAGE_ROOT });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--format is one of markdown, json, html/);
  });
});
