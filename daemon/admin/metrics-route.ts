// GET /metrics: the daemon's metrics in the Prometheus text format.
import type { Daemon } from '../daemon.js';
import { createMetricsCollector, PROMETHEUS_CONTENT_TYPE, type MetricsOptions } from '../telemetry/index.js';
import type { AdminRoute } from './admin-server.js';

export function metricsRoute(daemon: Daemon, options: MetricsOptions = {}): AdminRoute {
  const collect = createMetricsCollector(daemon, options);
  return async (_request, response) => {
    const text = await collect();
    response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
    response.end(text);
  };
}
