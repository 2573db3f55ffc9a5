// The admin port: /healthz (the process answers), /readyz (connected, consumers bound,
// destinations loaded), /destinations (what runs, its version and its counters), /metrics
// (Prometheus), and the read-only console at / with the JSON it polls (/console/…) and the logos.
// Every page shows the daemon's one read model (DaemonView); dead letters are read from the DEAD
// stream through the daemon's connection. Access: admin-access.ts.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DeadLetterReader, type StoredLetter } from '../dead-letter/index.js';
import {
  createMetricsCollector,
  fetchConsumerInfo,
  PROMETHEUS_CONTENT_TYPE,
  RECENT_OUTCOMES,
  recentDeliveriesOf,
  type DaemonView,
  type DaemonViewSource,
  type MetricsOptions,
  type RecentDelivery,
  type RecentDeliveryQuery,
  type RecentOutcome,
} from '../telemetry/index.js';
import { AdminAccess, type AdminAccessSettings } from './admin-access.js';
import { adminReport } from './admin-report.js';
import { consoleAssets, CONSOLE_CSP, loginPage, type ConsoleAssets } from './console-assets.js';
import { consoleState } from './console-state.js';
import { DEFAULT_CONSOLE_CONSUMER_INFO_TIMEOUT_MS } from '../defaults.js';

export type AdminRoute = (request: IncomingMessage, response: ServerResponse, url: URL) => void | Promise<void>;

export interface AdminServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The daemon, as the admin port sees it: its read model, its dead letters, and its settings. */
export interface AdminSource extends DaemonViewSource {
  readonly settings: {
    readonly admin: AdminAccessSettings & { readonly port: number };
    readonly baseDir?: string;
    readonly maxInFlightPerSync?: number;
  };
  /** Absent: the console shows no dead letters. */
  readonly deadLetters?: DeadLetterReader;
}

/** A logo bigger than this is not served (the loader checked it is a PNG; this bounds the read). */
export const MAX_LOGO_BYTES = 1024 * 1024;
/** A /login form body bigger than this is refused. */
const MAX_LOGIN_BYTES = 4096;

export async function startAdminServer(source: AdminSource, options: { metrics?: MetricsOptions; extraRoutes?: Record<string, AdminRoute> } = {}): Promise<AdminServer> {
  const { host, port } = source.settings.admin;
  // Refuses here (before listening) beyond loopback without a token, or with a token it cannot read.
  const access = new AdminAccess(source.settings.admin, source.settings.baseDir ?? process.cwd());
  const assets = await consoleAssets();
  const collectMetrics = createMetricsCollector(source, options.metrics);
  const routes: Record<string, AdminRoute> = {
    '/healthz': (_request, response) => json(response, 200, { status: 'ok' }),
    '/readyz': (_request, response) => {
      const view = source.view();
      if (view.ready) json(response, 200, { status: 'ready' });
      else json(response, 503, { status: 'not ready', reason: view.notReady });
    },
    '/destinations': (_request, response) => json(response, 200, adminReport(source.view())),
    '/metrics': async (_request, response) => {
      const text = await collectMetrics();
      response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
      response.end(text);
    },
    '/': (_request, response) => asset(response, assets.page),
    '/console.js': (_request, response) => asset(response, assets.script),
    '/console.css': (_request, response) => asset(response, assets.style),
    '/console/state': async (_request, response) => {
      const view = source.view();
      const consumers = await fetchConsumerInfo(source, view, DEFAULT_CONSOLE_CONSUMER_INFO_TIMEOUT_MS);
      json(response, 200, consoleState(view, consumers, { maxInFlightPerSync: source.settings.maxInFlightPerSync ?? 0 }));
    },
    '/console/deliveries': (_request, response, url) => {
      const query = deliveryQuery(url.searchParams);
      if (typeof query === 'string') return json(response, 400, { error: query });
      json(response, 200, { deliveries: recentDeliveries(source.view(), query, url.searchParams.get('sync') || undefined) });
    },
    '/console/dead-letters': async (_request, response, url) => {
      if (!source.deadLetters) return json(response, 200, { letters: [], total: 0 });
      const sync = url.searchParams.get('sync') || undefined;
      const reason = url.searchParams.get('reason') || undefined;
      const where = sync || reason ? (stored: StoredLetter) => (!sync || syncOfSubject(stored.subject) === sync) && (!reason || (stored.letter?.reason ?? 'unreadable') === reason) : undefined;
      const page = await source.deadLetters.page({ before: positiveInteger(url.searchParams.get('before')), limit: positiveInteger(url.searchParams.get('limit')), where });
      json(response, 200, { ...page, letters: page.letters.map(deadLetterSummary) });
    },
    ...options.extraRoutes,
  };
  const prefixed: Array<[prefix: string, route: AdminRoute]> = [
    ['/logos/', (_request, response, url) => logo(response, source.view(), url.pathname.slice('/logos/'.length))],
    [
      '/console/deliveries/',
      async (_request, response, url) => {
        // /console/deliveries/<sync id>/<serial>: one recent delivery with its request and response, redacted.
        const [syncId, serialText] = url.pathname.slice('/console/deliveries/'.length).split('/').map(decodedOrEmpty);
        const serial = positiveInteger(serialText ?? null);
        const sync = source.view().destinations.flatMap((destination) => destination.syncs).find((candidate) => candidate.id === syncId);
        const detail = sync?.stats && serial !== undefined ? recentDeliveriesOf(sync.stats).detail(serial) : undefined;
        if (!detail) return json(response, 404, { error: 'no such recent delivery (the ring keeps the last few hundred per sync)' });
        json(response, 200, { sync: sync!.id, ...detail });
      },
    ],
    [
      '/console/dead-letters/',
      async (_request, response, url) => {
        const seq = positiveInteger(url.pathname.slice('/console/dead-letters/'.length));
        const stored = seq !== undefined ? await source.deadLetters?.get(seq) : undefined;
        if (!stored) return json(response, 404, { error: 'no such dead letter' });
        json(response, 200, { ...stored, sync: syncOfSubject(stored.subject) });
      },
    ],
  ];

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    const verdict = access.verdict(request, path);
    if (verdict === 'wrong-host') return json(response, 403, { error: 'without admin.token the admin port answers only to a request whose Host header names a loopback host (localhost, 127.0.0.1, [::1])' });
    if (verdict === 'unauthorized') {
      if (path === '/' && request.method === 'GET') return html(response, 401, loginPage(false));
      response.setHeader('www-authenticate', 'Bearer realm="destinations admin"');
      return json(response, 401, { error: 'this route requires the admin token: Authorization: Bearer <token>' });
    }
    if (path === '/login' && request.method === 'POST') return void login(request, response, access);
    const route = request.method === 'GET' ? (routes[path] ?? prefixed.find(([prefix]) => path.startsWith(prefix))?.[1]) : undefined;
    if (!route) return json(response, 404, { error: `no route ${request.method} ${path}`, routes: Object.keys(routes) });
    Promise.resolve(route(request, response, url)).catch((error: Error) => json(response, 500, { error: error.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Recent outcomes across syncs (or of one), newest first, those that match `query`. */
function recentDeliveries(view: DaemonView, query: RecentDeliveryQuery, syncId: string | undefined): Array<RecentDelivery & { sync: string }> {
  const limit = query.limit!;
  const rows = view.destinations.flatMap((destination) =>
    destination.syncs
      .filter((sync) => sync.stats && (syncId === undefined || sync.id === syncId))
      .flatMap((sync) => recentDeliveriesOf(sync.stats!).list(query).map((delivery) => ({ sync: sync.id, ...delivery }))),
  );
  return rows.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}

/** The search's fields from the query string, or what is wrong with one of them. */
function deliveryQuery(params: URLSearchParams): RecentDeliveryQuery | string {
  const given = (name: string) => params.get(name) || undefined;
  const outcome = given('outcome');
  if (outcome !== undefined && !Object.values(RECENT_OUTCOMES).includes(outcome as RecentOutcome)) return `outcome: one of ${Object.values(RECENT_OUTCOMES).join(', ')}`;
  const status = given('status');
  if (status !== undefined && !/^[1-5][0-9][0-9]$/.test(status)) return 'status: an HTTP status such as 400';
  const time = (name: string) => {
    const text = given(name);
    const ms = text === undefined ? undefined : /^[0-9]+$/.test(text) ? Number(text) : Date.parse(text);
    return Number.isNaN(ms) ? null : ms;
  };
  const fromMs = time('from');
  const toMs = time('to');
  if (fromMs === null || toMs === null) return `${fromMs === null ? 'from' : 'to'}: a time (ISO 8601 with its offset, or ms since the epoch)`;
  return {
    insertId: given('insert_id'),
    insertIdPrefix: given('insert_id_prefix'),
    userId: given('user_id'),
    deviceId: given('device_id'),
    eventType: given('event_type'),
    outcome: outcome as RecentOutcome | undefined,
    status: status === undefined ? undefined : Number(status),
    fromMs,
    toMs,
    limit: Math.min(positiveInteger(params.get('limit')) ?? 100, 1000),
  };
}

function deadLetterSummary(stored: Awaited<ReturnType<DeadLetterReader['page']>>['letters'][number]) {
  const letter = stored.letter;
  const event = letter?.event as { event_type?: unknown } | undefined;
  return {
    seq: stored.seq,
    sync: syncOfSubject(stored.subject),
    reason: letter?.reason ?? 'unreadable',
    message: letter?.message ?? stored.unreadable,
    lastStatus: letter?.lastStatus,
    attempts: letter?.attempts,
    insertId: letter?.insertId,
    eventType: typeof event?.event_type === 'string' ? event.event_type : undefined,
    deadAt: letter?.deadAt,
  };
}

/** dead.<destination>.<sync> → <destination>.<sync>: where a letter is stored says whose it is. */
function syncOfSubject(subject: string): string {
  return subject.split('.').slice(1).join('.');
}

async function logo(response: ServerResponse, view: DaemonView, file: string): Promise<void> {
  const destination = file.endsWith('.png') ? view.destinations.find((candidate) => candidate.slug === decodeURIComponent(file.slice(0, -'.png'.length))) : undefined;
  const bytes = destination && (await readFile(destination.logoFile).catch(() => undefined));
  if (!bytes || bytes.length > MAX_LOGO_BYTES) return json(response, 404, { error: 'no such logo' });
  response.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'" });
  response.end(bytes);
}

async function login(request: IncomingMessage, response: ServerResponse, access: AdminAccess): Promise<void> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > MAX_LOGIN_BYTES) return json(response, 413, { error: 'too large' });
  }
  const cookie = access.sessionCookieFor(new URLSearchParams(body).get('token') ?? '');
  if (!cookie) return html(response, 401, loginPage(true));
  response.writeHead(303, { location: '/', 'set-cookie': cookie, 'cache-control': 'no-store' });
  response.end();
}

/** A path segment decoded, or '' when it is not valid percent-encoding (no such sync then). */
function decodedOrEmpty(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

function positiveInteger(text: string | null): number | undefined {
  return text !== null && /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : undefined;
}

const NO_SNIFF = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };

function asset(response: ServerResponse, file: ConsoleAssets['page']): void {
  response.writeHead(200, { 'content-type': file.type, 'content-security-policy': CONSOLE_CSP, 'x-frame-options': 'DENY', ...NO_SNIFF });
  response.end(file.body);
}

function html(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CONSOLE_CSP, 'x-frame-options': 'DENY', ...NO_SNIFF });
  response.end(body);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", ...NO_SNIFF });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}
