// `destinations ingest`: the keys resolved, NATS connected (as the configuration's nats section
// says; never an embedded server of its own), the ingest listening on ingest.host:port and its
// /metrics, /healthz and /readyz on ingest.metricsHost:metricsPort. Ready (readyz 200, systemd
// READY=1) while connected to NATS. SIGTERM/SIGINT: stop taking connections, answer the requests
// in hand (bounded), drain NATS, exit 0. Stateless: every process on the same file is the same.
import { jetstream } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { createLogger, type Logger } from '../log.js';
import { stopOnSignals } from '../stop-signals.js';
import { connectNats, connectOptions, type NatsSession } from '../nats/index.js';
import { notifySystemd, PROMETHEUS_CONTENT_TYPE } from '../telemetry/index.js';
import { jetStreamSink } from './event-publisher.js';
import { resolveIngestKeys } from './ingest-keys.js';
import { IngestMetrics } from './ingest-metrics.js';
import { ingestHandler, listen, type ListeningServer } from './ingest-server.js';
import { inboundProtocols } from './protocols.js';
import { UserRateLimit } from './user-rate-limit.js';

export interface IngestOptions {
  settings: DaemonSettings;
  /** Replaces ingest.port (0: any free port). */
  port?: number;
  /** Replaces ingest.metricsPort (0: any free port). */
  metricsPort?: number;
  log?: Logger;
  handleSignals?: boolean;
}

export interface RunningIngest {
  port: number;
  metricsPort: number;
  metrics: IngestMetrics;
  nats: NatsSession;
  log: Logger;
  stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function runIngest(options: IngestOptions): Promise<RunningIngest> {
  const { settings } = options;
  const keys = resolveIngestKeys(settings);
  const { secrets: natsSecrets } = connectOptions(settings.nats, settings.baseDir);
  const secrets = [...keys.secrets, ...natsSecrets];
  const log = options.log ?? createLogger({ level: settings.logLevel, secrets: () => secrets }, { component: 'ingest' });
  if (keys.size === 0) log.warn('ingest.keys names no key: every request will be answered 401');
  const nats = await connectNats({ ...settings.nats, embedded: { ...settings.nats.embedded, enabled: false } }, log, settings.baseDir, settings.file);
  const metrics = new IngestMetrics();
  const ready = () => nats.connected;
  const handler = ingestHandler({
    protocols: inboundProtocols({ maxEventBytes: settings.maxEventBytes }),
    keys,
    sink: jetStreamSink(jetstream(nats.connection), ready, settings.ingest.publishTimeoutMs),
    rateLimit: new UserRateLimit(),
    metrics,
    log,
    retryAfterSeconds: settings.ingest.retryAfterSeconds,
    ready,
  });
  let ingest: ListeningServer | undefined;
  let metricsServer: ListeningServer | undefined;
  try {
    metricsServer = await listen((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'GET' && path === '/metrics') {
        response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
        return response.end(metrics.text(ready()));
      }
      handler(request, response);
    }, settings.ingest.metricsHost, options.metricsPort ?? settings.ingest.metricsPort);
    ingest = await listen(handler, settings.ingest.host, options.port ?? settings.ingest.port);
  } catch (error) {
    await metricsServer?.close();
    await nats.close();
    throw error;
  }
  log.info('ingest listening', { url: `http://${settings.ingest.host}:${ingest.port}`, metrics: `http://${settings.ingest.metricsHost}:${metricsServer.port}/metrics`, keys: keys.size });
  void notifySystemd({ READY: '1', STATUS: `ingest on port ${ingest.port}` }, log);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      void notifySystemd({ STOPPING: '1', STATUS: 'answering the requests in hand' }, log);
      await ingest!.close();
      await metricsServer!.close();
      await nats.close();
      resolveStopped();
    })();
    return stopping;
  };
  if (options.handleSignals) stopOnSignals(log, stop, () => stopping !== undefined);
  return { port: ingest.port, metricsPort: metricsServer.port, metrics, nats, log, stopped, stop };
}
