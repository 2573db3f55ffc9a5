// Who may read the admin port: a bearer token by reference that every route but /healthz and
// /readyz requires, /metrics open when the operator says so, a browser session from /login, and
// no console beyond loopback without a token. A real admin server on a real port; the daemon
// behind it is a fixed read model (access does not depend on what the daemon does).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminAccessError, startAdminServer, type AdminServer, type AdminSource } from '../../daemon/admin/index.js';
import { ConfigError, isLoopbackHost, loadConfig } from '../../daemon/config/index.js';
import type { DaemonView } from '../../daemon/telemetry/index.js';

const TOKEN = 'admin-token-for-tests-3f9a';
const PROTECTED = ['/', '/destinations', '/metrics', '/console/state', '/console/deliveries', '/console/dead-letters', '/console/dead-letters/1', '/logos/example.png', '/console.js'];

function source(admin: Record<string, unknown>): AdminSource {
  const view: DaemonView = { startedAt: new Date(0), connected: true, ready: true, reloads: { ok: 0, rejected: 0, failed: 0 }, destinations: [] };
  return {
    settings: { admin: { enabled: true, host: '127.0.0.1', port: 0, ...admin } as AdminSource['settings']['admin'], baseDir: process.cwd(), maxInFlightPerSync: 8 },
    view: () => view,
    consumerInfo: () => Promise.resolve(undefined),
  };
}

async function get(admin: AdminServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`http://127.0.0.1:${admin.port}${path}`, { headers, redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A GET with a Host header of our choosing (fetch does not let a page set Host; a rebinding attack's browser sends its own name). */
function getWithHost(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    request.on('error', reject);
    request.end();
  });
}

/**
 * The status of a GET written by hand with no Host header at all: HTTP/1.0, which Node's server
 * accepts without one (it answers 400 to an HTTP/1.1 request without Host). Neither fetch nor
 * node:http can leave Host out.
 */
function getWithoutHost(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`GET ${path} HTTP/1.0\r\n\r\n`));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(answer);
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no status line in ${JSON.stringify(answer.slice(0, 80))}`));
    });
  });
}

describe('admin access', () => {
  before(() => {
    process.env.ADMIN_ACCESS_TEST_TOKEN = TOKEN;
  });

  describe('with a token', () => {
    let admin: AdminServer;
    before(async () => {
      admin = await startAdminServer(source({ token: { env: 'ADMIN_ACCESS_TEST_TOKEN' } }));
    });
    after(() => admin.close());

    it('answers /healthz and /readyz without the token', async () => {
      assert.equal((await get(admin, '/healthz')).status, 200);
      assert.equal((await get(admin, '/readyz')).status, 200);
    });

    it('refuses every other route without the token, or with a wrong one, and names the header', async () => {
      for (const path of PROTECTED) {
        const missing = await get(admin, path);
        assert.equal(missing.status, 401, `${path} without a token`);
        assert.doesNotMatch(missing.body, /example|console\/state/, `${path} shows nothing but the refusal`);
        assert.equal((await get(admin, path, { authorization: `Bearer ${TOKEN}x` })).status, 401, `${path} with a wrong token`);
        assert.equal((await get(admin, path, { authorization: TOKEN })).status, 401, `${path} with the token but not as a bearer`);
      }
      const refused = await get(admin, '/destinations');
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="destinations admin"');
      assert.match(refused.body, /Authorization: Bearer/);
    });

    it('serves every route with the token as a bearer', async () => {
      for (const path of ['/', '/destinations', '/metrics', '/console/state', '/console/deliveries', '/console/dead-letters', '/console.js']) {
        assert.equal((await get(admin, path, { authorization: `Bearer ${TOKEN}` })).status, 200, path);
      }
    });

    it('gives a browser a login form at /, and a session cookie (not the token) for the right token only', async () => {
      const page = await get(admin, '/');
      assert.equal(page.status, 401);
      assert.match(page.body, /<form method="post" action="\/login">/);
      assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/);

      const post = (token: string) => fetch(`http://127.0.0.1:${admin.port}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
      const wrong = await post('not-it');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);

      const right = await post(TOKEN);
      assert.equal(right.status, 303);
      const cookie = right.headers.get('set-cookie')!;
      assert.match(cookie, /^destinations_console=[^;]+; HttpOnly; SameSite=Strict; Path=\/$/);
      assert.ok(!cookie.includes(TOKEN), 'the cookie does not hold the token');
      const session = cookie.split(';')[0];
      assert.equal((await get(admin, '/console/state', { cookie: session })).status, 200);
      assert.equal((await get(admin, '/console/state', { cookie: `${session}x` })).status, 401);
    });
  });

  it('leaves /metrics open for a scraper when metricsWithoutToken is set, and nothing else', async () => {
    const admin = await startAdminServer(source({ token: { env: 'ADMIN_ACCESS_TEST_TOKEN' }, metricsWithoutToken: true }));
    try {
      assert.equal((await get(admin, '/metrics')).status, 200);
      for (const path of PROTECTED.filter((path) => path !== '/metrics')) assert.equal((await get(admin, path)).status, 401, path);
    } finally {
      await admin.close();
    }
  });

  it('refuses to start beyond loopback without a token, and listens nowhere', async () => {
    await assert.rejects(startAdminServer(source({ host: '0.0.0.0' })), (error: Error) => {
      assert.ok(error instanceof AdminAccessError);
      assert.match(error.message, /"0\.0\.0\.0", beyond loopback, without a token: set admin\.token/);
      return true;
    });
    const admin = await startAdminServer(source({ host: '0.0.0.0', token: { env: 'ADMIN_ACCESS_TEST_TOKEN' } }));
    try {
      assert.equal((await get(admin, '/destinations', { authorization: `Bearer ${TOKEN}` })).status, 200);
    } finally {
      await admin.close();
    }
  });

  it('refuses to start when the token reference cannot be read, naming it', async () => {
    delete process.env.ADMIN_ACCESS_TEST_UNSET;
    await assert.rejects(startAdminServer(source({ token: { env: 'ADMIN_ACCESS_TEST_UNSET' } })), /admin\.token: environment variable ADMIN_ACCESS_TEST_UNSET is not set/);
  });

  it('refuses a config that serves the console beyond loopback without a token, with file:line:col', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-access-'));
    try {
      const file = join(dir, '.destinationsrc.json');
      writeFileSync(file, '{\n  "admin": {\n    "host": "0.0.0.0"\n  }\n}\n');
      await assert.rejects(loadConfig({ file }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:5: /admin/host: the admin port would serve the console`));
        return true;
      });
      // (cosmiconfig caches by path: each variant gets its own file.)
      const withToken = join(dir, 'with-token.json');
      writeFileSync(withToken, JSON.stringify({ admin: { host: '0.0.0.0', token: { env: 'X' } } }));
      assert.equal((await loadConfig({ file: withToken })).admin.host, '0.0.0.0');
      const disabled = join(dir, 'disabled.json');
      writeFileSync(disabled, JSON.stringify({ admin: { host: '0.0.0.0', enabled: false } }));
      assert.equal((await loadConfig({ file: disabled })).admin.enabled, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a token, answers only requests naming a loopback host (no DNS rebinding)', async () => {
    const admin = await startAdminServer(source({}));
    try {
      assert.equal(await getWithHost(admin.port, '/console/state', `127.0.0.1:${admin.port}`), 200);
      assert.equal(await getWithHost(admin.port, '/console/state', `localhost:${admin.port}`), 200);
      assert.equal(await getWithHost(admin.port, '/console/state', `[::1]:${admin.port}`), 200);
      assert.equal(await getWithHost(admin.port, '/console/state', `attacker.example:${admin.port}`), 403);
      assert.equal(await getWithHost(admin.port, '/healthz', `attacker.example:${admin.port}`), 200);
    } finally {
      await admin.close();
    }
  });

  it('without a token, refuses a request with no Host header (it names no loopback host)', async () => {
    const admin = await startAdminServer(source({}));
    try {
      assert.equal(await getWithoutHost(admin.port, '/console/state'), 403);
      assert.equal(await getWithoutHost(admin.port, '/metrics'), 403);
      // The probes stay open: a load balancer's health check may be HTTP/1.0.
      assert.equal(await getWithoutHost(admin.port, '/healthz'), 200);
    } finally {
      await admin.close();
    }
  });

  it('counts as loopback only addresses this machine alone can reach', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'admin.example.com', '127.0.0.1.nip.io', 'localhost.example']) assert.equal(isLoopbackHost(host), false, host);
  });
});
