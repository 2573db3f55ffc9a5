// The admin port: /healthz (the process answers), /readyz (connected, consumers bound,
// destinations loaded), /destinations (what runs, its version and its counters) and /metrics
// (Prometheus).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Daemon } from '../daemon.js';
import { metricsRoute } from './metrics-route.js';

export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface AdminServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function destinationsReport(daemon: Daemon) {
  return {
    startedAt: daemon.startedAt.toISOString(),
    connected: daemon.connected,
    lastReload: daemon.lastReload && { at: daemon.lastReload.at.toISOString(), ok: daemon.lastReload.ok, rejected: daemon.lastReload.rejected },
    destinations: daemon.loadedDestinations.map((destination) => ({
      slug: destination.slug,
      name: destination.definition.name,
      version: destination.version,
      requests: daemon.destinationInFlight(destination.slug),
      syncs: destination.syncs.map((sync) => {
        const runner = daemon.runners.get(sync.id);
        const limiter = runner?.limiter.state();
        return {
          id: sync.id,
          enabled: sync.enabled,
          running: runner !== undefined && runner.sync === sync,
          consumer: runner?.consumerName,
          // Set while the consumer takes no message because a cap is full: "sync" or "destination".
          parkedAt: runner?.parkedAt,
          limiter: limiter && {
            ...limiter,
            state: limiter.pausedUntil && limiter.pausedUntil > Date.now() ? 'paused' : 'running',
            pausedUntil: limiter.pausedUntil ? new Date(limiter.pausedUntil).toISOString() : undefined,
          },
          counts: runner?.stats.toJSON(),
        };
      }),
    })),
  };
}

export function isReady(daemon: Daemon): boolean {
  const expected = daemon.loadedDestinations.flatMap((destination) => destination.syncs.filter((sync) => sync.enabled));
  return daemon.connected && expected.every((sync) => daemon.runners.has(sync.id));
}

export async function startAdminServer(daemon: Daemon, extraRoutes: Record<string, AdminRoute> = {}): Promise<AdminServer> {
  const { host, port } = daemon.settings.admin;
  const routes: Record<string, AdminRoute> = {
    '/healthz': (_request, response) => json(response, 200, { status: 'ok' }),
    '/readyz': (_request, response) => (isReady(daemon) ? json(response, 200, { status: 'ready' }) : json(response, 503, { status: 'not ready' })),
    '/destinations': (_request, response) => json(response, 200, destinationsReport(daemon)),
    '/metrics': metricsRoute(daemon),
    ...extraRoutes,
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
