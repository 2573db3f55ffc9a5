// destinations catalog: the shipped folders as Markdown, JSON and a static HTML page with the
// logos inside it, with the facts derived from each folder (limits, auth, hashing, vendor reference);
// --category filters; folder text is escaped in each form; a folder with errors is named and left out.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { makeDestinationsDir, TINY_PNG, testDefinition, writeDestinationFolder } from '../helpers/destination-folder.js';
import { runCli } from '../helpers/cli.js';

/** The shipped folders' names, read from the folders (the catalog grows by pull request), in the catalog's order. */
const SHIPPED = readdirSync(join(PACKAGE_ROOT, 'destinations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'destinations', entry.name, 'destination.json'), 'utf8')) as { name: string }).name)
  .sort((a, b) => a.localeCompare(b));

interface Entry {
  slug: string;
  name: string;
  category: string;
  version: string;
  limits: Record<string, unknown>;
  auth: string[];
  hashing: string[];
  vendor?: { reference: string; read: string };
}

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
    const entries = JSON.parse(json.stdout) as Entry[];
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

  it('derives each folder\'s limits, auth kind, hashing and vendor reference from its definition and templates', async () => {
    const result = await runCli(['catalog', 'destinations', '--json'], { cwd: PACKAGE_ROOT });
    assert.equal(result.code, 0, result.stderr);
    const bySlug = new Map((JSON.parse(result.stdout) as Entry[]).map((entry) => [entry.slug, entry]));
    const facts = (slug: string) => {
      const entry = bySlug.get(slug)!;
      return { limits: entry.limits, auth: entry.auth, hashing: entry.hashing, vendor: entry.vendor };
    };
    // A bearer token in Authorization, a secret in the query, HTTP Basic, a header of its own, a secret URL path, OAuth2 and signing (schemes by name).
    assert.deepEqual(facts('linkedin-conversions'), {
      limits: { batch: { maxEvents: 1000, maxWaitMs: 500 }, rate: { requests: 600, periodSeconds: 60 } },
      auth: ['bearer'],
      hashing: ['sha256_email'],
      vendor: { reference: 'https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api', read: '2026-12-07' },
    });
    assert.deepEqual(facts('meta-conversions').auth, ['query access_token']);
    assert.deepEqual(facts('meta-conversions').hashing, ['sha256_email', 'sha256_phone', 'sha256']);
    assert.deepEqual(facts('ga4').auth, ['query api_secret']);
    assert.deepEqual(facts('mixpanel').auth, ['basic']);
    assert.deepEqual(facts('mixpanel').hashing, ['sha256'], 'Mixpanel hashes the insert_id into $insert_id');
    assert.deepEqual(facts('tiktok').auth, ['header access-token']);
    assert.deepEqual(facts('klaviyo').auth, ['header authorization']);
    assert.deepEqual(facts('slack'), { limits: { rate: { requests: 1, periodSeconds: 1 }, maxConcurrency: 1 }, auth: ['url'], hashing: [], vendor: bySlug.get('slack')!.vendor });
    assert.deepEqual(facts('sfmc').auth, ['oauth2']);
    assert.deepEqual(facts('webhook').auth, ['standard-webhooks']);
    assert.equal(facts('sfmc').vendor, undefined);
    const markdown = await runCli(['catalog', 'destinations'], { cwd: PACKAGE_ROOT });
    assert.match(markdown.stdout, /\| Limits \| Auth \| Hashing \| Vendor \|/);
    assert.match(markdown.stdout, /\*\*Slack\*\* \(`slack`\) \| Notifications \| [^|]+ \| 1 requests\/1 s, 1 at a time \| url \| – \| \[reference\]\(https:\/\/docs\.slack\.dev\/[^)]+\) \(read 2026-12-07\) \|/);
  });

  it('lists one category with --category, and names the categories there are for one it does not have', async () => {
    const result = await runCli(['catalog', 'destinations', '--json', '--category', 'Attribution'], { cwd: PACKAGE_ROOT });
    assert.equal(result.code, 0, result.stderr);
    const entries = JSON.parse(result.stdout) as Entry[];
    assert.ok(entries.length >= 3, 'Meta, TikTok and LinkedIn at least');
    assert.deepEqual(new Set(entries.map((entry) => entry.category)), new Set(['Attribution']));
    const unknown = await runCli(['catalog', 'destinations', '--category', 'Astrology'], { cwd: PACKAGE_ROOT });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no destination of category "Astrology"; the catalog has .*Attribution/);
    const both = await runCli(['catalog', '--json', '--format', 'html'], { cwd: PACKAGE_ROOT });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--json is --format json/);
  });

  it('refuses an unknown format as a usage error', async () => {
    const result = await runCli(['catalog', '--format', 'pdf'], { cwd: PACKAGE_ROOT });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--format is one of markdown, json, html/);
  });
});
