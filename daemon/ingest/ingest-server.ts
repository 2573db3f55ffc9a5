// The ingest's HTTP server (node:http, no framework): for each POST on a protocol's route, the body
// within the route's limit (gzip inflated), the protocol's parse, the key, the key's rate, then
// publishing and the wait for JetStream's acknowledgement of every event. 200 only once all are
// stored; whatever fails is answered in the vendor's shape, with Retry-After where a retry helps.
// GET /healthz and /readyz are answered here too, for a load balancer's probes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_INGEST_CLOSE_GRACE_MS, DEFAULT_INGEST_REQUEST_TIMEOUT_MS } from '../defaults.js';
import type { Logger } from '../log.js';
import type { EventSink } from './event-publisher.js';
import type { Answer, InboundProtocol, RouteLimits } from './inbound-protocol.js';
import type { KeyTable } from './ingest-keys.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { INGEST_REJECTIONS, type IngestRejection } from './ingest-rejections.js';
import { readBody } from './read-body.js';
import type { UserRateLimit } from './user-rate-limit.js';

export interface IngestHandlerOptions {
  protocols: readonly InboundProtocol[];
  keys: KeyTable;
  sink: EventSink;
  rateLimit: UserRateLimit;
  metrics: IngestMetrics;
  log: Logger;
  retryAfterSeconds: number;
  /** Whether the ingest can store events now (NATS connected). */
  ready: () => boolean;
}

export interface ListeningServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

const NO_SNIFF = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

function send(response: ServerResponse, answer: Answer): void {
  const body = JSON.stringify(answer.body);
  response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...NO_SNIFF, ...answer.headers });
  response.end(body);
}

/** The request handler: one per process, shared by every connection. */
export function ingestHandler(options: IngestHandlerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const routes = new Map<string, { protocol: InboundProtocol; limits: RouteLimits }>();
  for (const protocol of options.protocols) for (const [path, limits] of Object.entries(protocol.routes)) routes.set(path, { protocol, limits });
  const { metrics, log } = options;

  const refuse = (response: ServerResponse, protocol: InboundProtocol, reason: IngestRejection, answer: Answer, wireBytes: number, events = 0) => {
    metrics.rejected(protocol.name, reason, events);
    metrics.request(protocol.name, answer.status, wireBytes);
    send(response, answer);
  };

  async function handle(request: IncomingMessage, response: ServerResponse, protocol: InboundProtocol, path: string, limits: RouteLimits): Promise<void> {
    const receivedAt = Date.now();
    const started = performance.now();
    const read = await readBody(request, limits.maxBodyBytes);
    if (!read.ok) {
      // The rest of an oversized body is not read: close the connection after the answer.
      if (read.tooLarge) response.setHeader('connection', 'close');
      return refuse(response, protocol, read.tooLarge ? INGEST_REJECTIONS.tooLarge : INGEST_REJECTIONS.invalid, read.tooLarge ? protocol.tooLarge(limits.maxBodyBytes) : protocol.badBody(read.message), 0);
    }
    const parsed = protocol.parse(path, request.headers, read.body, receivedAt);
    if (!parsed.ok) return refuse(response, protocol, parsed.reason, parsed.answer, read.wireBytes, parsed.rejectedEvents ?? 0);
    const key = parsed.key === undefined ? undefined : options.keys.lookup(parsed.key);
    if (!key || (key.protocol !== undefined && key.protocol !== protocol.name)) {
      return refuse(response, protocol, INGEST_REJECTIONS.unauthorized, protocol.unauthorized(), read.wireBytes, parsed.events.length);
    }
    if (key.eventsPerSecondPerUser !== undefined) {
      const throttled = options.rateLimit.admit(key.name, key.eventsPerSecondPerUser, parsed.events);
      if (throttled) return refuse(response, protocol, INGEST_REJECTIONS.throttled, protocol.throttled(throttled, options.retryAfterSeconds), read.wireBytes, parsed.events.length);
    }
    const outcome = await options.sink.publishAll(key.subject, parsed.events);
    if (outcome.failed.length > 0) {
      log.warn('events not stored: answered 503', { protocol: protocol.name, key: key.name, subject: key.subject, stored: outcome.stored.length, failed: outcome.failed.length, error: outcome.error });
      const message = `not stored: ${outcome.error?.message ?? 'JetStream did not acknowledge'}; send them again`;
      return refuse(response, protocol, INGEST_REJECTIONS.unavailable, protocol.unavailable(message, options.retryAfterSeconds, outcome.stored), read.wireBytes, outcome.failed.length);
    }
    metrics.stored(protocol.name, key.name, parsed.events.length, outcome.duplicates, (performance.now() - started) / 1000);
    const answer = protocol.stored(parsed.events.length, read.body.length, receivedAt);
    metrics.request(protocol.name, answer.status, read.wireBytes);
    send(response, answer);
  }

  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      const ready = path === '/healthz' || options.ready();
      return send(response, { status: ready ? 200 : 503, body: ready ? { status: path === '/healthz' ? 'ok' : 'ready' } : { status: 'not ready', reason: 'not connected to NATS' } });
    }
    const route = routes.get(path);
    if (!route || request.method !== 'POST') {
      if (route) response.setHeader('allow', 'POST');
      request.resume();
      return send(response, { status: route ? 405 : 404, body: { code: route ? 405 : 404, error: route ? `${path} takes POST` : `no route ${path.slice(0, 200)}: ${[...routes.keys()].join(', ')}` } });
    }
    handle(request, response, route.protocol, path, route.limits).catch((error: Error) => {
      log.error('ingest request failed', { path, error });
      if (!response.headersSent) send(response, { status: 500, body: { code: 500, error: 'internal error: send it again' } });
      else response.destroy();
    });
  };
}

/** Listens on host:port with the request bounds; close() stops taking connections and lets answers finish (bounded). */
export async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void, host: string, port: number): Promise<ListeningServer> {
  const server = createServer({ requestTimeout: DEFAULT_INGEST_REQUEST_TIMEOUT_MS, headersTimeout: DEFAULT_INGEST_REQUEST_TIMEOUT_MS }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), DEFAULT_INGEST_CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
