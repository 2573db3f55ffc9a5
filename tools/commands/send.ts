// destinations send DEST_DIR --event FILE [--sync FILE]
// Renders the request an event produces and sends it once, for real; prints status and response.
import { Agent, request } from 'undici';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from '../../daemon/defaults.js';
import { classify, RETRYABLE_CODES, RetryableDeliveryError } from '../../daemon/delivery/index.js';
import { OAUTH_TOKEN_RESPONSE_BYTES, oauthTokenFor, sendWithOAuth } from '../../daemon/oauth/index.js';
import { derivedSecretsOf, formatProblem, redactSecrets, renderEventRequests, syncTls, syncTlsProblems, type EventsRequest } from '../../daemon/registry/index.js';
import type { LoadedSync } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { loadRequestInput, renderFailureText } from '../request-input.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations send DEST_DIR --event FILE [--sync FILE]';
const HELP = `usage: ${USAGE}

Renders the request EVENT produces through a sync of the destination in DEST_DIR (--sync FILE,
or the folder's first sync in name order) and sends it once: no retries, a ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s timeout.
Prints the response status and body. --event FILE may hold several events (a JSON array, or one
per line): they are grouped into requests as the daemon batches them and sent in order; sending
stops at the first request that fails. Refuses to send while a secret parameter, or the sync's CA
bundle (tls.ca), is unresolved; with a CA bundle, the server's certificate must chain to it.

Exit 0 when every response is 2xx, 1 otherwise (invalid input, render error, unresolved secret, network or
TLS error, non-2xx status), 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { event: { type: 'string' }, sync: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one DEST_DIR\n\nusage: ${USAGE}`);
  if (!values.event) throw new UsageError(`--event FILE is required\n\nusage: ${USAGE}`);

  const input = await loadRequestInput({ dir: positionals[0], eventFile: values.event, syncFile: values.sync, resolveSecrets: true });
  if (!input) return 1;
  const { sync } = input;
  const secrets = sync.parameters.secretValues;
  if (sync.parameters.unresolved.size > 0) {
    for (const [name, why] of sync.parameters.unresolved) console.error(`destinations send: secret parameter ${name} is not resolved: ${why}`);
    console.error('destinations send: refusing to send with an unresolved secret');
    return 1;
  }
  const tlsProblems = syncTlsProblems(sync);
  if (tlsProblems.length > 0) {
    for (const problem of tlsProblems) console.error(formatProblem(problem));
    console.error('destinations send: refusing to send without the CA bundle the sync names');
    return 1;
  }
  let rendered;
  try {
    rendered = renderEventRequests(sync, input.events, 'send');
  } catch (error) {
    console.error(redactSecrets(renderFailureText('send', positionals[0], error), secrets));
    return 1;
  }
  for (const warning of rendered.warnings) console.error(`warning: ${warning}`);
  // The sync's CA bundle, as the daemon's sender uses it: instead of the default roots, never fewer checks.
  const { ca } = syncTls(sync);
  const dispatcher = new Agent({ connect: { timeout: DEFAULT_CONNECT_TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) } });
  try {
    const several = rendered.requests.length > 1;
    for (const [at, planned] of rendered.requests.entries()) {
      if (several) console.log(`# request ${at + 1} of ${rendered.requests.length}: ${planned.kind}, ${planned.indexes.length} event${planned.indexes.length === 1 ? '' : 's'}`);
      if (!(await sendOne(sync, planned, secrets, dispatcher))) return 1;
    }
    return 0;
  } finally {
    await dispatcher.close();
  }
}

/** Sends one rendered request (with a real bearer token for an oauth destination); prints its status and response (redacted). True on 2xx. */
async function sendOne(sync: LoadedSync, { request: rendered }: EventsRequest, secrets: readonly string[], dispatcher: Agent): Promise<boolean> {
  const { method, url } = rendered;
  // What is printed is redacted against the secrets and what the render derived from them (Basic
  // credentials, and a bearer token, which joins them when it is fetched): read when printing.
  const printable = () => [...secrets, ...derivedSecretsOf(rendered)];
  const sendOnce = async (outgoing: RenderedRequest, limit?: number) => {
    const answer = await request(outgoing.url, {
      method: outgoing.method,
      headers: outgoing.headers,
      body: outgoing.body,
      dispatcher,
      headersTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
      bodyTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
      signal: AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS),
    });
    const text = await answer.body.text();
    return { status: answer.statusCode, headers: answer.headers, bodyExcerpt: limit === undefined ? text : text.slice(0, limit), durationMs: 0 };
  };
  try {
    // A destination with oauth: a real token first (a 401 is retried once with a fresh one, as the daemon does).
    const token = oauthTokenFor(sync);
    const response = token ? await sendWithOAuth(token, rendered, { send: sendOnce, sendToken: (tokenRequest) => sendOnce(tokenRequest, OAUTH_TOKEN_RESPONSE_BYTES) }) : await sendOnce(rendered);
    console.log(`HTTP ${response.status}`);
    if (response.bodyExcerpt) console.log(redactSecrets(response.bodyExcerpt, printable()));
    return response.status >= 200 && response.status < 300;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const failure = classify({ error });
    // A TLS failure says what is wrong with the certificate (the daemon retries it as reason tls).
    const detail = failure instanceof RetryableDeliveryError && failure.code === RETRYABLE_CODES.tls ? failure.message : [(error as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
    console.error(`destinations send: ${method} ${redactSecrets(url, printable())} failed: ${redactSecrets(detail, printable())}`);
    return false;
  }
}
