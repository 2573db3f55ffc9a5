// Running the daemon as a process: config, logger, admin port, signals.
//   SIGTERM/SIGINT: stop pulling, drain within the bound, release the rest, exit 0; a second one exits at once.
//   SIGHUP: reload the destinations folder.
// Tracing starts from the OTEL_* variables before anything else and is flushed last; under systemd
// (NOTIFY_SOCKET set) readiness is reported once connected and consuming, and stopping when it starts.
import { loadConfig, type DaemonSettings } from './config/index.js';
import { Daemon } from './daemon.js';
import { reloadOnChange } from './registry/index.js';
import { createLogger, type Logger } from './log.js';
import { AdminAccessError, startAdminServer, type AdminServer } from './admin/index.js';
import { notifySystemd, startTracingFromEnv } from './telemetry/index.js';

/** The admin port cannot be bound (another daemon has it): nothing was taken from NATS. */
export class AdminPortError extends Error {
  override name = 'AdminPortError';
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    super(
      `cannot listen on the admin port ${host}:${port} (${cause.code ?? cause.message}); another daemon may have it: give each daemon on a host its own admin.port, or 0 for any free port (the chosen port is logged)`,
      { cause },
    );
  }
}

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
  // Everything that can fail at start-up fails before the first message is taken: the admin port is
  // bound first (a second daemon on the same port stops here), then the folders, secrets and NATS.
  let admin: AdminServer | undefined;
  try {
    if (settings.admin.enabled) {
      admin = await startAdminServer(daemon).catch((error: NodeJS.ErrnoException) => {
        // A token that cannot be read, or a console beyond loopback without one, says so itself.
        if (error instanceof AdminAccessError) throw error;
        throw new AdminPortError(settings.admin.host, settings.admin.port, error);
      });
      log.info('admin listening', { url: `http://${settings.admin.host}:${admin.port}` });
    }
    await daemon.start();
  } catch (error) {
    await admin?.close();
    await tracing?.shutdown();
    throw error;
  }
  void notifySystemd({ READY: '1', STATUS: `consuming ${daemon.runners.size} syncs` }, log);
  // With watch.enabled, a change to the destinations folder reloads it once quiet (as SIGHUP does).
  const watcher = reloadOnChange(settings, () => daemon!.reload(), log);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      watcher?.close();
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
