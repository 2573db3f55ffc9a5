// The console in a real browser (Debian's chromium, headless, driven by playwright-core) against a
// real daemon with the shipped destinations and a real sink: the token form, the six logos, a
// delivery found by searching and opened with its request masked, a 400 as a dead letter with its
// reason, events carrying <script> and <img onerror> payloads shown as text in every view, running
// nothing; and every page at 1280 and 390 px: no identifier or time broken across lines, no
// sideways scroll on the phone, aria-current, labelled fields, a skip link, and no serious or
// critical axe-core violation. One browser for the file, one page resized between widths.
// CONSOLE_SCREENSHOTS=docs writes the screenshots the docs show (docs/console-*.png).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { testEvent } from '../helpers/destination-folder.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const nats = useNatsServer();
const TOKEN = 'browser-console-token-51d0';
/** Every shipped folder's display name: the catalog shows each with its logo. */
const SHIPPED_NAMES = readdirSync(join(PACKAGE_ROOT, 'destinations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'destinations', entry.name, 'destination.json'), 'utf8')) as { name: string }).name);
const SECRETS = { BRAZE_API_KEY: 'braze-key-1', GA4_API_SECRET: 'ga4-secret-1', MIXPANEL_SERVICE_ACCOUNT_SECRET: 'mixpanel-secret-1', CUSTOMERIO_API_KEY: 'cio-key-1', EXAMPLE_API_KEY: 'example-key-1', INTERCOM_ACCESS_TOKEN: 'intercom-token-1', SFMC_CLIENT_ID: 'sfmc-client-1', SFMC_CLIENT_SECRET: 'sfmc-secret-1', AIRSHIP_APP_KEY: 'airship-app-1', AIRSHIP_BEARER_TOKEN: 'airship-token-1', AMPLITUDE_API_KEY: 'amplitude-key-1', CLEVERTAP_PASSCODE: 'clevertap-passcode-1', ITERABLE_API_KEY: 'iterable-key-1', MOENGAGE_DATA_API_KEY: 'moengage-key-1', POSTHOG_API_KEY: 'posthog-key-1', SEGMENT_WRITE_KEY: 'segment-key-1', STATSIG_SERVER_SECRET: 'statsig-secret-1', USERLIST_PUSH_KEY: 'userlist-key-1', META_CAPI_ACCESS_TOKEN: 'meta-token-1', TIKTOK_ACCESS_TOKEN: 'tiktok-token-1', LINKEDIN_ACCESS_TOKEN: 'linkedin-token-1', KLAVIYO_API_KEY: 'klaviyo-key-1', HUBSPOT_ACCESS_TOKEN: 'hubspot-token-1', SLACK_WEBHOOK_TOKEN: 'slack-token-1', WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('the console test signing key 32b').toString('base64')}` , KINESIS_ACCESS_KEY_ID: 'AKIACONSOLETEST00001', KINESIS_SECRET_ACCESS_KEY: 'console-kinesis-secret', FIREHOSE_ACCESS_KEY_ID: 'AKIACONSOLETEST00002', FIREHOSE_SECRET_ACCESS_KEY: 'console-firehose-secret', PUBSUB_SERVICE_ACCOUNT_KEY: JSON.stringify({ type: 'service_account', client_email: 'console@test.iam.gserviceaccount.com', private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) }) };
const HOSTILE_INSERT_ID = `bad-<img src=x onerror="window.__pwned='insert_id'">`;
const HOSTILE_USER_ID = `<svg onload="window.__pwned='user_id'">`;
const HOSTILE_EVENT_TYPE = `<script>window.__pwned='event_type'</script>`;

/**
 * Run in the page: what is wrong with its layout. An identifier (.id) or a time (<time>) drawn on
 * more than one line, anything reaching past the right edge, or a page wider than the window.
 */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
  for (const node of document.querySelectorAll('main .id, main time, header time')) {
    const rects = [...node.getClientRects()].filter((rect) => rect.width > 0);
    const line = parseFloat(getComputedStyle(node).lineHeight) || 20;
    if (rects.length > 1 || rects.some((rect) => rect.height > line * 1.5)) problems.push('broken across lines: ' + node.textContent);
    if (rects.some((rect) => rect.right > width + 0.5)) problems.push('past the right edge: ' + node.textContent);
  }
  return problems;
})()`;
const screenshots = process.env.CONSOLE_SCREENSHOTS === 'docs' ? join(PACKAGE_ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'console-screens-'));

// The whole catalog is loaded (23 folders and growing) and every page laid out twice with axe: 52 s at load 13.
describe('admin console in a browser', { timeout: 240_000 }, () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const pageErrors: string[] = [];

  before(async () => {
    Object.assign(process.env, SECRETS, { CONSOLE_BROWSER_TOKEN: TOKEN });
    // The webhook endpoint refuses events whose insert_id starts with "bad-"; everything else is accepted.
    sink = await startTestSink((request) => (request.url.startsWith('/webhook') && request.body.includes('"insert_id":"bad-') ? { status: 400, body: '{"error":"rejected by the test"}' } : answer.ok()));
    // The shipped destinations, their syncs aimed at this test's sink through the variable they build their URLs on.
    dir = mkdtempSync(join(tmpdir(), 'console-browser-'));
    cpSync(join(PACKAGE_ROOT, 'destinations'), dir, { recursive: true });
    const { subject: _subject, ...stream } = nats.streams('browser');
    daemon = await startTestDaemon(
      testSettings(nats.url, dir, { stream: { ...stream, subjects: ['browser.>'] }, admin: { enabled: true, port: 0, token: { env: 'CONSOLE_BROWSER_TOKEN' } }, variables: { quickstart_sink: sink.url } }),
    );
    admin = await startAdminServer(daemon.daemon);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    // A context of its own (not browser.newPage's): axe-core's finishRun opens a second page in it.
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    page.setDefaultTimeout(8_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await admin?.close();
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for the token, then shows the catalog with every logo rendered', async () => {
    await page.goto(`http://127.0.0.1:${admin.port}/`);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=catalog] img.logo');
    // Rendered: loaded and decoded to a picture (a broken image has no natural width).
    await page.waitForFunction((shipped) => {
      const images = [...(globalThis as unknown as { document: { querySelectorAll(selector: string): Iterable<{ complete: boolean; naturalWidth: number }> } }).document.querySelectorAll('img.logo')];
      return images.filter((img) => img.complete && img.naturalWidth > 0).length === shipped;
    }, SHIPPED_NAMES.length);
    const names = await page.$$eval('[data-testid=catalog] h3', (headings) => headings.map((heading) => heading.textContent));
    assert.deepEqual(names.sort(), [...SHIPPED_NAMES].sort());
    // Each tile lists the catalog's facts, as destinations catalog derives them.
    assert.match((await page.textContent('[data-testid=facts-slack]'))!, /limits: 1 requests\/1 s, 1 at a time · auth: url · hashing: none · vendor reference: https:\/\/docs\.slack\.dev\//);
    await page.screenshot({ path: join(screenshots, 'console-catalog.png') });
  });

  it('finds a delivery by searching, and opens it with its request masked', async () => {
    await nats.js.publish('browser.web', JSON.stringify(testEvent(1, { insert_id: 'browser-good-1', user_id: 'browser-user-1' })));
    const webhook = daemon.daemon.syncStats.get('webhook.default')!;
    await waitUntil(nats.connection, () => webhook.deliveredFirstAttempt === 1);
    await page.goto(`http://127.0.0.1:${admin.port}/#deliveries`);
    await page.getByLabel('insert_id starts with').fill('browser-good');
    await page.getByLabel('user_id').fill('browser-user-1');
    await page.click('[data-testid=search-button]');
    await page.waitForSelector('[data-testid=delivery]:has-text("webhook.default")');
    assert.match(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), /insert_id_prefix=browser-good&user_id=browser-user-1/, 'a search is a link');
    const row = await page.textContent('[data-testid=delivery]:has-text("webhook.default")');
    assert.match(row!, /webhook\.default.*browser-good-1.*browser-user-1.*delivered.*200/);
    await page.screenshot({ path: join(screenshots, 'console-deliveries.png') });
    await page.click('[data-testid=delivery]:has-text("webhook.default") a');
    await page.waitForSelector('[data-testid=delivery-detail] [data-testid=request]');
    const request = (await page.textContent('[data-testid=request]'))!;
    assert.match(request, /^POST http:\/\/127\.0\.0\.1:\d+\/webhook/);
    assert.match(request, /webhook-signature: \[redacted\]/i);
    assert.ok(!request.includes(SECRETS.WEBHOOK_SIGNING_SECRET));
    assert.match((await page.textContent('[data-testid=response]'))!, /^HTTP 200/);
  });

  it('shows a 400 as a dead letter with its reason, and a hostile event as text that runs nothing', async () => {
    await nats.js.publish('browser.web', JSON.stringify(testEvent(2, { insert_id: 'bad-purchase-2' })));
    await nats.js.publish(
      'browser.web',
      JSON.stringify(
        testEvent(3, {
          insert_id: HOSTILE_INSERT_ID,
          user_id: HOSTILE_USER_ID,
          event_type: HOSTILE_EVENT_TYPE,
          event_properties: { note: `<script>window.__pwned='script'</script>`, image: `<img src=x onerror="window.__pwned='img'">`, link: `"><svg onload="window.__pwned='svg'">` },
        }),
      ),
    );
    const webhook = daemon.daemon.syncStats.get('webhook.default')!;
    await waitUntil(nats.connection, () => (webhook.discarded.get('http_4xx') ?? 0) === 2);
    await page.goto(`http://127.0.0.1:${admin.port}/#syncs`);
    await page.waitForSelector('[data-testid="sync-webhook.default"] table');
    await page.waitForSelector('[data-testid="sync-webhook.default"] svg.chart rect');
    await page.screenshot({ path: join(screenshots, 'console-syncs.png'), fullPage: false });

    await page.goto(`http://127.0.0.1:${admin.port}/#dead`);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document.querySelectorAll('[data-testid=dead-letter]').length === 2);
    const rows = await page.$$eval('[data-testid=dead-letter]', (trs) => trs.map((tr) => tr.textContent));
    assert.ok(rows.some((row) => /webhook\.default\s*http_4xx\s*400/.test(row!.replace(/\s+/g, ' ')) || (row!.includes('http_4xx') && row!.includes('bad-purchase-2'))), rows.join('\n'));
    assert.ok(rows.some((row) => row!.includes(HOSTILE_INSERT_ID)), 'the hostile insert_id is shown as text');
    await page.screenshot({ path: join(screenshots, 'console-dead-letters.png') });

    await page.click(`[data-testid=dead-letter]:has-text("onerror") a`);
    await page.waitForSelector('[data-testid=dead-letter-detail] [data-testid=event]');
    const event = (await page.textContent('[data-testid=event]'))!;
    assert.ok(event.includes(`<script>window.__pwned='script'</script>`), event);
    assert.ok(event.includes(`<img src=x onerror=\\"window.__pwned='img'\\">`), event);
    const request = (await page.textContent('[data-testid=request]'))!;
    assert.ok(!request.includes(SECRETS.WEBHOOK_SIGNING_SECRET), 'the opened letter masks the secret');
    assert.match(request, /webhook-signature: \[redacted\]/i, 'and the signature made from it');
    await page.screenshot({ path: join(screenshots, 'console-dead-letter.png'), fullPage: false });

    // The new views show the same event data: search results and the opened delivery, as text.
    await page.goto(`http://127.0.0.1:${admin.port}/#deliveries?user_id=${encodeURIComponent(HOSTILE_USER_ID)}`);
    await page.waitForSelector('[data-testid=delivery]:has-text("webhook.default")');
    const found = (await page.textContent('[data-testid=deliveries] tbody'))!;
    assert.ok(found.includes(HOSTILE_USER_ID) && found.includes(HOSTILE_EVENT_TYPE), found);
    assert.equal(await page.inputValue('#field-user_id'), HOSTILE_USER_ID, 'the search field holds the text as typed');
    await page.click('[data-testid=delivery]:has-text("webhook.default") a');
    await page.waitForSelector('[data-testid=delivery-detail] [data-testid=request]');
    assert.ok((await page.textContent('[data-testid=delivery-detail]'))!.includes(HOSTILE_INSERT_ID));
    assert.ok((await page.textContent('[data-testid=request]'))!.includes(`<script>window.__pwned='script'</script>`));

    // Nothing ran: no global set, no script or stray image in the page, no SVG but the charts, no dialog, no error.
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: string }).__pwned), undefined);
    assert.equal(await page.$$eval('main script, main img:not(.logo), main svg:not(.chart), main svg.chart svg, main svg.chart foreignObject', (nodes) => nodes.length), 0);
    assert.deepEqual(pageErrors, []);
  });

  it('lays out every page at 1280 and 390 px without breaking an identifier or a time, and axe-core finds nothing serious', async () => {
    const base = `http://127.0.0.1:${admin.port}/`;
    const [letter] = (await (await page.request.get(`${base}console/dead-letters?limit=1`)).json()).letters as Array<{ seq: number }>;
    const [delivery] = (await (await page.request.get(`${base}console/deliveries?insert_id=browser-good-1`)).json()).deliveries as Array<{ sync: string; serial: number }>;
    const pages: Array<[view: string, ready: string, nav: string]> = [
      ['#catalog', '[data-testid=catalog] img.logo', 'Catalog'],
      ['#syncs', '[data-testid="sync-webhook.default"] svg.chart', 'Syncs'],
      ['#deliveries', '[data-testid=delivery]', 'Recent deliveries'],
      [`#delivery/${encodeURIComponent(delivery.sync)}/${delivery.serial}`, '[data-testid=request]', 'Recent deliveries'],
      ['#dead', '[data-testid=dead-letter]', 'Dead letters'],
      [`#dead/${letter.seq}`, '[data-testid=event]', 'Dead letters'],
    ];
    const problems: string[] = [];
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 860 });
      for (const [view, ready, nav] of pages) {
        await page.goto(`${base}${view}`);
        await page.waitForSelector(ready);
        const where = `${view} at ${width} px`;
        if (width === 390 && view === '#deliveries') await page.screenshot({ path: join(screenshots, 'console-phone.png') });
        const layout = (await page.evaluate(LAYOUT_PROBLEMS)) as string[];
        problems.push(...layout.map((problem) => `${where}: ${problem}`));
        assert.deepEqual(await page.$$eval('header nav a[aria-current=page]', (links) => links.map((link) => link.textContent)), [nav], `${where}: aria-current`);
        // Legacy mode runs axe in the page itself (no second page per run): the console has no frames.
        const axe = await new AxeBuilder({ page }).setLegacyMode(true).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).options({ resultTypes: ['violations'] }).analyze();
        for (const violation of axe.violations.filter((found) => found.impact === 'serious' || found.impact === 'critical')) {
          problems.push(`${where}: axe ${violation.impact} ${violation.id} (${violation.help}) at ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')}`);
        }
      }
    }
    assert.deepEqual(problems, []);

    // The skip link is the first stop of the keyboard and moves focus to the content; every field has a label.
    await page.setViewportSize({ width: 1280, height: 860 });
    // A fresh document, so the keyboard starts at its top (a hash change keeps the last focus point).
    await page.goto('about:blank');
    await page.goto(`${base}#deliveries`);
    await page.waitForSelector('[data-testid=search]');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'main');
    assert.ok((await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).startsWith('#deliveries'), 'the view stays');
    // Searching from the keyboard keeps the keyboard in the field it searched from.
    await page.getByLabel('user_id').fill('browser-user-1');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash.includes('user_id=browser-user-1'));
    await page.waitForSelector('[data-testid=delivery]');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'field-user_id');
    const unlabelled = await page.$$eval('main input, main select', (fields) => fields.filter((field) => (field as unknown as { labels: { length: number } }).labels.length === 0).map((field) => field.outerHTML));
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(pageErrors, []);
  });
});
