// preview shows where the bearer goes without fetching a token; send fetches a real one from the
// token endpoint (the shipped sfmc destination, JSON token request) and prints nothing secret.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';

const SECRET = 'sfmc-secret-0b7e-long-enough';
const TOKEN = 'eyJhbGciOi.sfmc-access-token.8f2c';
const EVENT = join(PACKAGE_ROOT, 'docs', 'events', 'purchase.json');

describe('tools with oauth', () => {
  const temp = tempDir();
  let sink: TestSink;
  const env = { SFMC_CLIENT_ID: 'client-77', SFMC_CLIENT_SECRET: SECRET };

  before(async () => {
    // One server for both: the token endpoint (/auth/v2/token) and the API, which echoes the bearer it got.
    sink = await startTestSink((request) =>
      request.url === '/auth/v2/token'
        ? { status: 200, body: JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 1079 }) }
        : { status: 201, body: JSON.stringify({ eventInstanceId: 'e-1', echo: request.headers.authorization }) },
    );
    writeFiles(temp.dir, {
      'sync.json': {
        parameters: {
          subdomain: 'mc-test',
          rest_base_uri: `${sink.url}/rest`,
          auth_base_uri: `${sink.url}/auth`,
          client_id: { env: 'SFMC_CLIENT_ID' },
          client_secret: { env: 'SFMC_CLIENT_SECRET' },
          event_definition_key: 'APIEvent-test',
        },
        fieldMappings: { contact_key: { scope: 'field', property: 'user_id' } },
      },
    });
  });

  after(async () => {
    await sink.close();
    temp.remove();
  });

  it('preview shows Bearer <secret:oauth_token> and asks no token endpoint, even with --show-secrets', async () => {
    const result = await runCli(['preview', 'destinations/sfmc', '--event', EVENT, '--sync', join(temp.dir, 'sync.json'), '--format', 'json', '--show-secrets'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).headers.authorization, 'Bearer <secret:oauth_token>');
    assert.equal(sink.requests.length, 0);
  });

  it('send fetches a real token with the JSON request, sends with it, and prints neither token nor secret', async () => {
    const result = await runCli(['send', 'destinations/sfmc', '--event', EVENT, '--sync', join(temp.dir, 'sync.json')], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(sink.requests.map((request) => request.url), ['/auth/v2/token', '/rest/interaction/v1/events']);
    assert.deepEqual(JSON.parse(sink.requests[0].body), { grant_type: 'client_credentials', client_id: 'client-77', client_secret: SECRET });
    assert.equal(sink.requests[1].headers.authorization, `Bearer ${TOKEN}`);
    assert.match(result.stdout, /^HTTP 201\n/);
    assert.match(result.stdout, /"echo":"Bearer \[redacted\]"/);
    assert.ok(!(result.stdout + result.stderr).includes(TOKEN) && !(result.stdout + result.stderr).includes(SECRET));
  });

  it('send fails with the token failure when the token endpoint does', async () => {
    sink.behave(() => ({ status: 401, body: '{"error":"invalid_client"}' }));
    const result = await runCli(['send', 'destinations/sfmc', '--event', EVENT, '--sync', join(temp.dir, 'sync.json')], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /oauth_token: token endpoint 127\.0\.0\.1:\d+ answered HTTP 401: invalid_client/);
  });
});
