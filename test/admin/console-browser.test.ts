// The console in a real browser (Debian's chromium, headless, driven by playwright-core) against a
// real daemon with the shipped destinations and a real sink: the token form, the six logos, a
// delivery found in recent deliveries, a 400 as a dead letter with its reason, and an event
// carrying <script> and <img onerror> payloads shown as text, running nothing.
// CONSOLE_SCREENSHOTS=docs writes the screenshots the docs show (docs/console-*.png).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
const SECRETS = { BRAZE_API_KEY: 'braze-key-1', CUSTOMERIO_API_KEY: 'cio-key-1', EXAMPLE_API_KEY: 'example-key-1', INTERCOM_ACCESS_TOKEN: 'intercom-token-1', SFMC_CLIENT_ID: 'sfmc-client-1', SFMC_CLIENT_SECRET: 'sfmc-secret-1', WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('the console test signing key 32b').toString('base64')}` };
const HOSTILE_INSERT_ID = `bad-<img src=x onerror="window.__pwned='insert_id'">`;
const screenshots = process.env.CONSOLE_SCREENSHOTS === 'docs' ? join(PACKAGE_ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'console-screens-'));

describe('admin console in a browser', { timeout: 60_000 }, () => {
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
    // The shipped destinations, their syncs aimed at this test's sink instead of the quick start's.
    dir = mkdtempSync(join(tmpdir(), 'console-browser-'));
    cpSync(join(PACKAGE_ROOT, 'destinations'), dir, { recursive: true });
    for (const slug of readdirSync(dir)) {
      for (const sub of ['syncs', 'examples']) {
        if (!existsSync(join(dir, slug, sub))) continue;
        for (const name of readdirSync(join(dir, slug, sub))) {
          const file = join(dir, slug, sub, name);
          writeFileSync(file, readFileSync(file, 'utf8').replaceAll('http://127.0.0.1:3000', sink.url));
        }
      }
    }
    const { subject: _subject, ...stream } = nats.streams('browser');
    daemon = await startTestDaemon(testSettings(nats.url, dir, { stream: { ...stream, subjects: ['browser.>'] }, admin: { enabled: true, port: 0, token: { env: 'CONSOLE_BROWSER_TOKEN' } } }));
    admin = await startAdminServer(daemon.daemon);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
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

  it('asks for the token, then shows the catalog with the six logos rendered', async () => {
    await page.goto(`http://127.0.0.1:${admin.port}/`);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=catalog] img.logo');
    // Rendered: loaded and decoded to a picture (a broken image has no natural width).
    await page.waitForFunction(() => {
      const images = [...(globalThis as unknown as { document: { querySelectorAll(selector: string): Iterable<{ complete: boolean; naturalWidth: number }> } }).document.querySelectorAll('img.logo')];
      return images.filter((img) => img.complete && img.naturalWidth > 0).length === 6;
    });
    const names = await page.$$eval('[data-testid=catalog] h3', (headings) => headings.map((heading) => heading.textContent));
    assert.deepEqual(names.sort(), ['Braze', 'Customer.io', 'Example', 'Intercom', 'Salesforce Marketing Cloud', 'Webhook'].sort());
    await page.screenshot({ path: join(screenshots, 'console-catalog.png') });
  });

  it('shows a delivery in recent deliveries, found by insert_id', async () => {
    await nats.js.publish('browser.web', JSON.stringify(testEvent(1, { insert_id: 'browser-good-1' })));
    const webhook = daemon.daemon.syncStats.get('webhook.default')!;
    await waitUntil(nats.connection, () => webhook.deliveredFirstAttempt === 1);
    await page.goto(`http://127.0.0.1:${admin.port}/#deliveries`);
    await page.fill('[data-testid=search]', 'browser-good-1');
    await page.press('[data-testid=search]', 'Enter');
    await page.waitForSelector('[data-testid=delivery]:has-text("webhook.default")');
    const row = await page.textContent('[data-testid=delivery]:has-text("webhook.default")');
    assert.match(row!, /browser-good-1.*delivered.*200/);
    await page.screenshot({ path: join(screenshots, 'console-deliveries.png') });
  });

  it('shows a 400 as a dead letter with its reason, and a hostile event as text that runs nothing', async () => {
    await nats.js.publish('browser.web', JSON.stringify(testEvent(2, { insert_id: 'bad-purchase-2' })));
    await nats.js.publish(
      'browser.web',
      JSON.stringify(
        testEvent(3, {
          insert_id: HOSTILE_INSERT_ID,
          event_properties: { note: `<script>window.__pwned='script'</script>`, image: `<img src=x onerror="window.__pwned='img'">`, link: `"><svg onload="window.__pwned='svg'">` },
        }),
      ),
    );
    const webhook = daemon.daemon.syncStats.get('webhook.default')!;
    await waitUntil(nats.connection, () => (webhook.discarded.get('http_4xx') ?? 0) === 2);
    await page.goto(`http://127.0.0.1:${admin.port}/#syncs`);
    await page.waitForSelector('[data-testid="sync-webhook.default"] table');
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

    // Nothing ran: no global set, no script or stray image in the page, no dialog, no error.
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: string }).__pwned), undefined);
    assert.equal(await page.$$eval('main script, main img:not(.logo), main svg', (nodes) => nodes.length), 0);
    assert.deepEqual(pageErrors, []);
  });
});
