// The admin port: /healthz (the process answers), /readyz (connected, consumers bound,
// destinations loaded), /destinations (what runs, its version and its counters) and /metrics
// (Prometheus). Every page shows the daemon's one read model (DaemonView).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createMetricsCollector, PROMETHEUS_CONTENT_TYPE, type DaemonViewSource, type MetricsOptions } from '../telemetry/index.js';
import { adminReport } from './admin-report.js';

export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface AdminServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The daemon, as the admin port sees it: its read model and where to listen. */
export interface AdminSource extends DaemonViewSource {
  readonly settings: { readonly admin: { readonly host: string; readonly port: number } };
}

export async function startAdminServer(source: AdminSource, options: { metrics?: MetricsOptions; extraRoutes?: Record<string, AdminRoute> } = {}): Promise<AdminServer> {
  const { host, port } = source.settings.admin;
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
    ...options.extraRoutes,
  };
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const route = request.method === 'GET' ? routes[path] : undefined;
    if (!route) return json(response, 404, { error: `no route ${request.method} ${path}`, routes: Object.keys(routes) });
    Promise.resolve(route(request, response)).catch((error: Error) => json(response, 500, { error: error.message }));
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

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}
