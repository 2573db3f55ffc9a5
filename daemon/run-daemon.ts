// Running the daemon as a process: config, logger, admin port, signals.
//   SIGTERM/SIGINT: stop pulling, drain within the bound, release the rest, exit 0; a second one exits at once.
//   SIGHUP: reload the destinations folder.
// Tracing starts from the OTEL_* variables before anything else and is flushed last; under systemd
// (NOTIFY_SOCKET set) readiness is reported once connected and consuming, and stopping when it starts.
import { loadConfig, type DaemonSettings } from './config/index.js';
import { Daemon } from './daemon.js';
import { createLogger, type Logger } from './log.js';
import { startAdminServer, type AdminServer } from './admin/index.js';
import { notifySystemd, startTracingFromEnv } from './telemetry/index.js';

export interface RunningDaemon {
  daemon: Daemon;
  admin?: AdminServer;
  log: Logger;
  /** Resolves when the daemon has stopped after a signal or stop(). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function runDaemon(options: { configFile?: string; settings?: DaemonSettings; handleSignals?: boolean } = {}): Promise<RunningDaemon> {
  const settings = options.settings ?? (await loadConfig({ file: options.configFile }));
  let daemon: Daemon | undefined;
  const log = createLogger({ level: settings.logLevel, secrets: () => daemon?.secretValues() ?? [] });
  daemon = new Daemon(settings, log);
  log.info('starting', { config: settings.file ?? '(defaults)', destinationsDir: settings.destinationsDir });
  const tracing = await startTracingFromEnv(log);
  try {
    await daemon.start();
  } catch (error) {
    await tracing?.shutdown();
    throw error;
  }
  const admin = settings.admin.enabled ? await startAdminServer(daemon) : undefined;
  if (admin) log.info('admin listening', { url: `http://${settings.admin.host}:${admin.port}` });
  void notifySystemd({ READY: '1', STATUS: `consuming ${daemon.runners.size} syncs` }, log);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      void notifySystemd({ STOPPING: '1', STATUS: 'draining in-flight deliveries' }, log);
      await daemon!.stop();
      await admin?.close();
      await tracing?.shutdown();
      resolveStopped();
    })();
    return stopping;
  };

  if (options.handleSignals) {
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn('second signal: exiting now', { signal });
        process.exit(130);
      }
      log.info('signal received', { signal });
      void stop();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', () => {
      log.info('signal received', { signal: 'SIGHUP' });
      void daemon!.reload().catch((error) => log.error('reload failed', { error }));
    });
  }
  return { daemon, admin, log, stopped, stop };
}
