// A sync's OAuth2 token against a real local token endpoint and a real local API (node:http on
// 127.0.0.1), sent through the daemon's own HttpSender: first use, caching until shortly before
// expiry (mock Date), rotation, single flight, a 401 on a stale token, an outage.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { DestinationDefinition, OAuthClientCredentials } from '../../schema/generated/destination.js';
import { classify, RetryableDeliveryError } from '../../daemon/delivery/index.js';
import { syncAuth } from '../../daemon/auth/index.js';
import { OAuthToken, OAuthTokenError, oauthTokenFor, renderTokenRequest, type OAuthSync } from '../../daemon/oauth/index.js';
import type { SendResponse } from '../../daemon/send/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { derivedSecretsOf } from '../../daemon/secrets/index.js';
import { HttpSender } from '../../daemon/send/index.js';
import { startTestSink, type RecordedRequest, type TestSink } from '../helpers/http-sink.js';

const CLIENT_ID = 'client-4c1f';
const CLIENT_SECRET = 'cs-9e2a-a long client secret';

const FORM: OAuthClientCredentials = {
  tokenUrl: '{{ parameters.auth_url }}/oauth/token',
  clientId: '{{ parameters.client_id }}',
  clientSecret: '{{ parameters.client_secret }}',
  scope: '{{ parameters.scope }}',
};

/** The token endpoint's answers: tok-1, tok-2, … each valid `expiresIn` seconds. */
function issuing(expiresIn: number | undefined = 3600): (request: RecordedRequest, index: number) => { status: number; body: string } {
  return (_request, index) => ({ status: 200, body: JSON.stringify({ access_token: `tok-${index + 1}`, token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) }) });
}

/** The API takes the tokens the endpoint issues. */
const acceptingIssuedTokens = (request: RecordedRequest) => (/^Bearer tok-\d+$/.test(String(request.headers.authorization)) ? { status: 202 } : { status: 401 });

function syncOf(oauth: OAuthClientCredentials, authUrl: string, extra: Record<string, unknown> = {}): OAuthSync {
  const definition = { oauth } as DestinationDefinition;
  return {
    destination: { definition },
    parameters: { values: { auth_url: authUrl, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'events:write', ...extra }, secretValues: [CLIENT_ID, CLIENT_SECRET] },
  };
}

/** A request with the sync's bearer, through the auth seam as the daemon and `send` make an attempt. */
function sendThroughSeam(
  sync: OAuthSync,
  request: RenderedRequest,
  io: { send: (request: RenderedRequest) => Promise<SendResponse>; sendToken: (request: RenderedRequest) => Promise<SendResponse>; unauthorized?: (response: SendResponse) => void },
): Promise<SendResponse> {
  return syncAuth(sync)!.send(request, { send: io.send, exchange: io.sendToken, refused: io.unauthorized });
}

describe('oauth token', () => {
  let endpoint: TestSink;
  let api: TestSink;
  let sender: HttpSender;
  const sendToken = (request: RenderedRequest) => sender.send(request, { excerptBytes: 65_536 });
  const send = (request: RenderedRequest) => sender.send(request);
  const apiRequest = (): RenderedRequest => ({ method: 'POST', url: `${api.url}/events`, headers: { 'content-type': 'application/json' }, body: '{"event":"purchase"}' });

  before(async () => {
    endpoint = await startTestSink();
    api = await startTestSink(acceptingIssuedTokens);
    sender = new HttpSender();
  });

  after(async () => {
    await sender.close();
    await endpoint.close();
    await api.close();
  });

  afterEach(() => {
    endpoint.requests.length = 0;
    api.requests.length = 0;
    endpoint.behave(issuing());
    api.behave(acceptingIssuedTokens);
  });

  it('fetches a token on first use with the standard form request and client credentials in HTTP Basic', async () => {
    endpoint.behave(issuing());
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    assert.equal(await token.get(sendToken), 'tok-1');
    assert.equal(endpoint.requests.length, 1);
    const [request] = endpoint.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/oauth/token');
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), { grant_type: 'client_credentials', scope: 'events:write' });
    const basic = Buffer.from(String(request.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
    // RFC 6749 2.3.1: id and secret are form-encoded before they are joined (the secret's spaces become +).
    assert.equal(basic, `${CLIENT_ID}:${CLIENT_SECRET.replace(/ /g, '+')}`);
  });

  it('puts the credentials in the form body when clientAuthentication is body, and leaves out fields that render empty', () => {
    const request = renderTokenRequest({ ...FORM, clientAuthentication: 'body', audience: '{{ parameters.audience }}' }, { auth_url: 'https://auth.example', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: '', audience: 'https://api.example/' }, []);
    assert.equal(request.headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), { grant_type: 'client_credentials', audience: 'https://api.example/', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
  });

  it('sends the JSON body Salesforce Marketing Cloud wants when bodyStyle is json', async () => {
    const json: OAuthClientCredentials = { tokenUrl: '{{ parameters.auth_url }}/v2/token', bodyStyle: 'json', clientId: '{{ parameters.client_id }}', clientSecret: '{{ parameters.client_secret }}', fields: { account_id: '{{ parameters.account_id }}' } };
    const sync = syncOf(json, endpoint.url, { account_id: '514009882' });
    const token = oauthTokenFor(sync)!;
    assert.equal(await token.get(sendToken), 'tok-1');
    const [request] = endpoint.requests;
    assert.equal(request.url, '/v2/token');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(request.body), { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, account_id: '514009882' });
  });

  it('keeps the token until shortly before expires_in runs out, then fetches the next one (rotation)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    endpoint.behave(issuing(600));
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    assert.equal(await token.get(sendToken), 'tok-1');
    // 600 s: refreshed 60 s early (a tenth of its life, at most a minute).
    t.mock.timers.tick(539_000);
    assert.equal(await token.get(sendToken), 'tok-1');
    assert.equal(endpoint.requests.length, 1);
    t.mock.timers.tick(1_000);
    assert.equal(await token.get(sendToken), 'tok-2');
    assert.equal(endpoint.requests.length, 2);
    const sent = await sendThroughSeam(sync, apiRequest(), { send, sendToken });
    assert.equal(sent.status, 202);
    assert.equal(api.requests.at(-1)?.headers.authorization, 'Bearer tok-2');
  });

  it('refreshes a short-lived token early in proportion (expires_in 10 s: after 9 s)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    endpoint.behave(issuing(10));
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    await token.get(sendToken);
    t.mock.timers.tick(8_999);
    assert.equal(await token.get(sendToken), 'tok-1');
    t.mock.timers.tick(1);
    assert.equal(await token.get(sendToken), 'tok-2');
  });

  it('fetches once however many requests wait for the token (single flight)', async () => {
    endpoint.behave(() => 'hold');
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const waiting = Array.from({ length: 25 }, () => sendThroughSeam(sync, apiRequest(), { send, sendToken }));
    await endpoint.waitForRequests(1);
    endpoint.release({ status: 200, body: JSON.stringify({ access_token: 'tok-1', token_type: 'bearer', expires_in: 3600 }) });
    const answers = await Promise.all(waiting);
    assert.deepEqual(new Set(answers.map((response) => response.status)), new Set([202]));
    assert.equal(endpoint.requests.length, 1, 'one token request');
    assert.equal(token.fetches, 1);
    assert.equal(api.requests.length, 25);
    assert.ok(api.requests.every((request) => request.headers.authorization === 'Bearer tok-1'));
  });

  it('on a 401 drops the stale token, fetches a new one once and sends the request once more', async () => {
    // The API no longer takes tok-1 (revoked before its expiry); tok-2 is good.
    api.behave((request) => (request.headers.authorization === 'Bearer tok-2' ? { status: 202 } : { status: 401 }));
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const unauthorized: number[] = [];
    const response = await sendThroughSeam(sync, apiRequest(), { send, sendToken, unauthorized: (answer) => unauthorized.push(answer.status) });
    assert.equal(response.status, 202);
    assert.deepEqual(api.requests.map((request) => request.headers.authorization), ['Bearer tok-1', 'Bearer tok-2']);
    assert.equal(endpoint.requests.length, 2);
    assert.deepEqual(unauthorized, [401]);
  });

  it('answers a second 401 as it is: one refresh and one retry, no loop', async () => {
    api.behave(() => ({ status: 401 }));
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const response = await sendThroughSeam(sync, apiRequest(), { send, sendToken });
    assert.equal(response.status, 401);
    assert.equal(api.requests.length, 2);
    assert.equal(endpoint.requests.length, 2);
    assert.equal(String(classify({ status: response.status, headers: response.headers }).kind), 'permanent');
  });

  it('keeps a newer token when a request that used an older one is refused', async () => {
    const token = new OAuthToken({ request: () => renderTokenRequest(FORM, syncOf(FORM, endpoint.url).parameters.values, []), secrets: [] });
    const first = await token.get(sendToken);
    token.invalidate(first);
    const second = await token.get(sendToken);
    token.invalidate(first);
    assert.equal(await token.get(sendToken), second);
    assert.equal(endpoint.requests.length, 2);
  });

  it('makes a failing token endpoint a retryable oauth_token failure, and fetches again once it is back', async () => {
    endpoint.behave(() => ({ status: 500, body: `{"error":"server_error","echo":"${CLIENT_SECRET}"}` }));
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const failure = await sendThroughSeam(sync, apiRequest(), { send, sendToken }).catch((error: unknown) => error);
    assert.ok(failure instanceof OAuthTokenError);
    assert.equal(api.requests.length, 0, 'nothing is sent without a token');
    const result = classify({ error: failure });
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'oauth_token');
    assert.match(result.message, /^oauth_token: token endpoint 127\.0\.0\.1:\d+ answered HTTP 500: server_error$/);
    assert.ok(!result.message.includes(CLIENT_SECRET));
    endpoint.behave(issuing());
    assert.equal((await sendThroughSeam(sync, apiRequest(), { send, sendToken })).status, 202);
  });

  it('makes an unreachable token endpoint, and an answer without a bearer token, oauth_token failures', async () => {
    const closed = await startTestSink();
    await closed.close();
    const unreachable = await oauthTokenFor(syncOf(FORM, closed.url))!.get(sendToken).catch((error: unknown) => error);
    assert.equal((classify({ error: unreachable }) as RetryableDeliveryError).code, 'oauth_token');
    assert.match((unreachable as Error).message, /ECONNREFUSED/);
    for (const body of ['{"token_type":"Bearer"}', '{"access_token":"tok","token_type":"mac"}', '<html>', '{"access_token":"a\\r\\nX-Injected: 1"}']) {
      endpoint.behave(() => ({ status: 200, body }));
      const failure = await oauthTokenFor(syncOf(FORM, endpoint.url))!.get(sendToken).catch((error: unknown) => error);
      assert.ok(failure instanceof OAuthTokenError, body);
    }
  });

  it('shares one failure among the waiters of one fetch', async () => {
    endpoint.behave(() => 'hold');
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const waiting = Array.from({ length: 5 }, () => token.get(sendToken).catch((error: unknown) => error));
    await endpoint.waitForRequests(1);
    endpoint.release({ status: 503, body: '{}' });
    const failures = await Promise.all(waiting);
    assert.ok(failures.every((failure) => failure instanceof OAuthTokenError));
    assert.equal(endpoint.requests.length, 1);
  });

  it('remembers the token as a secret-derived string of the request, so what is stored about it is redacted', async () => {
    const sync = syncOf(FORM, endpoint.url);
    const token = oauthTokenFor(sync)!;
    const request = apiRequest();
    await sendThroughSeam(sync, request, { send, sendToken });
    assert.deepEqual(derivedSecretsOf(request), ['tok-1']);
    assert.equal(request.headers.authorization, undefined, 'the bearer goes on a copy, never on the stored request');
  });

  it('gives every loaded sync its own token', async () => {
    const one = oauthTokenFor(syncOf(FORM, endpoint.url))!;
    const other = oauthTokenFor(syncOf(FORM, endpoint.url))!;
    assert.notEqual(one, other);
    assert.equal(oauthTokenFor({ destination: { definition: {} as DestinationDefinition }, parameters: { values: {}, secretValues: [] } }), undefined);
  });
});
