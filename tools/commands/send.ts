// destinations send DEST_DIR --event FILE [--sync FILE]
// Renders the request an event produces and sends it once, for real; prints status and response.
import { syncAuth } from '../../daemon/auth/index.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../daemon/defaults.js';
import { classify, RETRYABLE_CODES, RetryableDeliveryError } from '../../daemon/delivery/index.js';
import { derivedSecretsOf, formatProblem, redactSecrets, renderEventRequests, syncTls, syncTlsProblems, type EventsRequest } from '../../daemon/registry/index.js';
import type { LoadedSync } from '../../daemon/registry/index.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { HttpSender, type SendOptions } from '../../daemon/send/index.js';
import { loadRequestInput, renderFailureText } from '../request-input.js';
import { EXIT } from '../exit-codes.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations send DEST_DIR --event FILE [--sync FILE]';
const HELP = `usage: ${USAGE}

Renders the request EVENT produces through a sync of the destination in DEST_DIR (--sync FILE,
or the folder's first sync in name order) and sends it once: no retries, a ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s timeout.
Prints the request as sent (on stderr, "> " lines like curl -v: signed, a token fetched, every
secret and what is derived from it masked) and the response status and body. --event FILE may hold several events (a JSON array, or one
per line): they are grouped into requests as the daemon batches them and sent in order; sending
stops at the first request that fails. Refuses to send while a secret parameter, or the sync's CA
bundle (tls.ca), is unresolved; with a CA bundle, the server's certificate must chain to it.

Exit 0 when every response is 2xx, 1 otherwise (invalid input, render error, network or TLS error,
non-2xx status), 2 on usage errors, 4 when a secret parameter does not resolve.`;

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
    const unresolved = [...sync.parameters.unresolved].map(([name, why]) => `secret parameter ${name} is not resolved: ${why}`);
    console.error(`destinations send: refusing to send: ${unresolved.join('; ')} (set it, or give the secret by another reference)`);
    return EXIT.secretUnset;
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
  // The daemon's sender, with the sync's CA bundle as the daemon uses it: instead of the default roots, never fewer checks.
  const sender = new HttpSender({ requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, excerptBytes: SEND_RESPONSE_BYTES });
  const { ca } = syncTls(sync);
  try {
    const several = rendered.requests.length > 1;
    for (const [at, planned] of rendered.requests.entries()) {
      if (several) console.log(`# request ${at + 1} of ${rendered.requests.length}: ${planned.kind}, ${planned.indexes.length} event${planned.indexes.length === 1 ? '' : 's'}`);
      if (!(await sendOne(sync, planned, secrets, sender, { ca }))) return 1;
    }
    return 0;
  } finally {
    await sender.close();
  }
}

/** How much of a response `send` prints: a person reads it, and an error page fits many times over. */
const SEND_RESPONSE_BYTES = 1024 * 1024;

/** Sends one rendered request, stamped by the destination's auth schemes as the daemon stamps an attempt (a signature, a real bearer token); prints its status and response (redacted). True on 2xx. */
async function sendOne(sync: LoadedSync, { request: rendered }: EventsRequest, secrets: readonly string[], sender: HttpSender, options: SendOptions): Promise<boolean> {
  const { method, url } = rendered;
  // What is printed is redacted against the secrets and what the render derived from them (Basic
  // credentials, and a bearer token, which joins them when it is fetched): read when printing.
  const printable = () => [...secrets, ...derivedSecretsOf(rendered)];
  const send = (outgoing: RenderedRequest) => {
    printSent(outgoing, printable());
    return sender.send(outgoing, options);
  };
  try {
    // As the daemon sends an attempt: stamped by the auth schemes, a 401 of an oauth destination retried once with a fresh token.
    const auth = syncAuth(sync);
    const exchange = (own: RenderedRequest, excerptBytes: number) => sender.send(own, { ...options, excerptBytes });
    const response = auth === undefined ? await send(rendered) : await auth.send(rendered, { send, exchange });
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

/** The request as it goes, after the auth schemes stamped it (a signature, a bearer): on stderr, curl -v style, secrets masked. */
function printSent(request: RenderedRequest, secrets: readonly string[]): void {
  const lines = [`> ${request.method} ${redactSecrets(request.url, secrets)}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`> ${name}: ${redactSecrets(value, secrets)}`);
  console.error(lines.join('\n'));
}
