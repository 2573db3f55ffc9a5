// OAuth2 client credentials through the real daemon: a real nats-server, a real node:http API and a
// real node:http token endpoint. Many events share one token fetch; a revoked token is refreshed
// once and the request retried; a token endpoint outage is a retryable failure named oauth_token
// in the dead letter and the request-failure metrics; neither the token nor the client secret
// shows in a dead letter or a log line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { renderMetrics } from '../../daemon/telemetry/index.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount, waitUntil } from '../helpers/wait.js';

const CLIENT_SECRET = 'cs-71d0-the-oauth-client-secret';
const EVENTS = 40;

const nats = useNatsServer();

/** The test destination, with its bearer from a token endpoint instead of a token parameter. */
function oauthDefinition(): Record<string, unknown> {
  const definition = testDefinition({
    parameters: [
      { name: 'endpoint', displayName: 'Endpoint' },
      { name: 'auth_url', displayName: 'Token endpoint' },
      { name: 'client_id', displayName: 'Client id' },
      { name: 'client_secret', displayName: 'Client secret', secret: true },
    ],
    oauth: { tokenUrl: '{{ parameters.auth_url }}/oauth/token', clientId: '{{ parameters.client_id }}', clientSecret: '{{ parameters.client_secret }}', scope: 'events' },
    limits: { maxConcurrency: 16 },
    retry: { maxAttempts: 2, initialDelayMs: 10, jitter: 0 },
    // Breaker off: an event whose token cannot be had, alone on its sync, is to the breaker a destination
    // that is down (it would wait in the stream); these tests are about the token.
    circuitBreaker: { enabled: false },
  });
  delete (definition.request as { headers?: unknown }).headers;
  return definition;
}

describe('daemon oauth client credentials', () => {
  let api: TestSink;
  let tokens: TestSink;
  let daemon: TestDaemon;
  let folder: { dir: string; remove(): void };
  let subject: string;
  let deadStream: string;
  /** Which tokens the API takes: the test revokes them. */
  const accepted = new Set<string>();
  let issued = 0;

  const issue = (): { status: number; body: string } => {
    issued += 1;
    accepted.add(`tok-${issued}-${'x'.repeat(24)}`);
    return { status: 200, body: JSON.stringify({ access_token: `tok-${issued}-${'x'.repeat(24)}`, token_type: 'Bearer', expires_in: 3600 }) };
  };
  const bearer = (request: RecordedRequest) => String(request.headers.authorization ?? '').replace(/^Bearer /, '');

  before(async () => {
    process.env.OAUTH_TEST_CLIENT_SECRET = CLIENT_SECRET;
    tokens = await startTestSink(() => 'hold');
    api = await startTestSink((request) => (accepted.has(bearer(request)) ? { status: 202 } : { status: 401, body: '{"error":"invalid_token"}' }));
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'oauthapi', {
      definition: oauthDefinition(),
      syncs: { main: { parameters: { endpoint: api.url, auth_url: tokens.url, client_id: 'client-1', client_secret: { env: 'OAUTH_TEST_CLIENT_SECRET' } } } },
    });
    const streams = nats.streams('oauth');
    subject = streams.subject;
    deadStream = streams.deadLetterStream;
    const { subject: _subject, ...stream } = streams;
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  });

  after(async () => {
    await daemon?.stop();
    await api?.close();
    await tokens?.close();
    folder?.remove();
  });

  it('fetches one token for many events waiting at once, and sends each with it', async () => {
    for (let index = 0; index < EVENTS; index++) await nats.js.publish(subject, JSON.stringify(testEvent(index)));
    // Requests pile up behind the token request the endpoint holds.
    await tokens.waitForRequests(1);
    await waitUntil(nats.connection, () => (daemon.daemon.view().destinations[0].syncs[0].stats?.requests ?? 0) >= 16, 10_000, '16 requests waiting for the token');
    tokens.behave(issue);
    tokens.release(issue());
    await api.waitForRequests(EVENTS);
    assert.equal(tokens.requests.length, 1, 'one token request');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokens.requests[0].body)), { grant_type: 'client_credentials', scope: 'events' });
    assert.ok(api.requests.every((request) => bearer(request) === `tok-1-${'x'.repeat(24)}`));
  });

  it('refreshes a revoked token once and retries the request with the new one', async () => {
    accepted.clear();
    api.requests.length = 0;
    await nats.js.publish(subject, JSON.stringify(testEvent(100, { insert_id: 'after-revocation' })));
    await api.waitForRequests(2);
    assert.deepEqual(api.requests.map((request) => [bearer(request).slice(0, 6), request.headers.authorization === undefined]), [['tok-1-', false], ['tok-2-', false]]);
    assert.equal(tokens.requests.length, 2);
    const stats = daemon.daemon.view().destinations[0].syncs[0].stats!;
    await waitUntil(nats.connection, () => stats.deliveredFirstAttempt >= EVENTS + 1, 10_000, 'delivered on its first attempt');
  });

  it('dead-letters an event whose token cannot be had, naming oauth_token, counted in the failure metrics, with no secret or token in them', async () => {
    tokens.behave(() => ({ status: 500, body: `{"error":"server_error","detail":"${CLIENT_SECRET}"}` }));
    accepted.clear();
    api.requests.length = 0;
    await nats.js.publish(subject, JSON.stringify(testEvent(200, { insert_id: 'during-outage' })));
    await waitForStreamCount(nats.connection, deadStream, 1);
    assert.equal(api.requests.filter((request) => request.headers.authorization === undefined).length, 0, 'nothing was sent without a token');
    const jsm = await jetstreamManager(nats.connection);
    const letter = (await jsm.streams.getMessage(deadStream, { seq: 1 }))!.json<DeadLetter>();
    // Retries used up, like any retryable failure; the message names the token failure.
    assert.equal(letter.reason, 'retries_exhausted');
    assert.match(String(letter.message), /^oauth_token: token endpoint 127\.0\.0\.1:\d+ answered HTTP 500: server_error/);
    assert.equal(letter.attempts, 2);
    const view = daemon.daemon.view();
    assert.equal(view.destinations[0].syncs[0].stats?.failuresByReason.get('oauth_token'), 2);
    assert.match(renderMetrics(view, new Map(), Date.now()), /destinations_request_failures_total\{[^}]*reason="oauth_token"[^}]*\} 2/);
    for (const text of [JSON.stringify(letter), JSON.stringify(daemon.logs)]) {
      assert.ok(!text.includes(CLIENT_SECRET), 'no client secret');
      assert.ok(!/tok-\d-x{24}/.test(text), 'no token');
    }
  });
});
