// Running the daemon as a process: config, logger, admin port, signals.
//   SIGTERM/SIGINT: stop pulling, drain within the bound, release the rest, exit 0; a second one exits at once.
//   SIGHUP: reload the destinations folder.
// Tracing starts from the OTEL_* variables before anything else and is flushed last; under systemd
// (NOTIFY_SOCKET set) readiness is reported once connected and consuming, and stopping when it starts.
import { loadConfig, type DaemonSettings } from './config/index.js';
import { Daemon } from './daemon.js';
import { reloadOnChange } from './registry/index.js';
import { createLogger, type Logger } from './log.js';
import { stopOnSignals } from './stop-signals.js';
import { AdminAccessError, startAdminServer, type AdminServer } from './admin/index.js';
import { notifySystemd, startTracingFromEnv } from './telemetry/index.js';
import { followBranch, type FollowingBranch } from './gitops/index.js';

/** The admin port cannot be bound (another daemon has it): nothing was taken from NATS. */
export class AdminPortError extends Error {
  override name = 'AdminPortError';
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    super(
      `cannot listen on the admin port ${host}:${port} (${cause.code ?? cause.message}); another daemon may have it: give each daemon on a host its own admin.port (or --admin-port), or 0 for any free port (the chosen port is logged)`,
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

export async function runDaemon(
  options: { configFile?: string; settings?: DaemonSettings; adminPort?: number; handleSignals?: boolean; /** Log lines go here instead of stdout (tests). */ logWrite?: (line: string) => void } = {},
): Promise<RunningDaemon> {
  const loaded = options.settings ?? (await loadConfig({ file: options.configFile }));
  // --admin-port: one configuration for several daemons on a host (the systemd template unit).
  const settings = options.adminPort === undefined ? loaded : { ...loaded, admin: { ...loaded.admin, port: options.adminPort } };
  let daemon: Daemon | undefined;
  let gitops: FollowingBranch | undefined;
  const log = createLogger({ level: settings.logLevel, write: options.logWrite, secrets: () => [...(daemon?.secretValues() ?? []), ...(gitops?.secretValues ?? [])] });
  daemon = new Daemon(settings, log);
  log.info('starting', { config: settings.file ?? '(defaults)', destinationsDir: settings.destinationsDir });
  if (settings.gitops) {
    gitops = followBranch(settings.gitops, settings, daemon, log);
    daemon.gitops = gitops.view;
  }
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
    if (gitops) {
      // The daemon starts on the branch's last good commit. A branch that cannot be fetched now (the
      // git host down) or whose head is refused does not keep it from starting: it starts on the
      // folder on disk (the last good commit this host applied) and the next polls catch up.
      await gitops.poll();
      const state = gitops.follower.state;
      if (state.fetchError || state.refused) log.warn('starting on the destinations folder on disk', { commit: state.applied?.commit ?? '(none applied yet)' });
    }
    await daemon.start();
    gitops?.start();
  } catch (error) {
    await gitops?.stop();
    // A start that failed after connecting (a permission refused) must not leave the connection
    // reconnecting forever: the process would never exit.
    await daemon.stop().catch(() => undefined);
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
      // No commit is applied while draining: a running git command is stopped at once.
      await gitops?.stop();
      void notifySystemd({ STOPPING: '1', STATUS: 'draining in-flight deliveries' }, log);
      await daemon!.stop();
      await admin?.close();
      await tracing?.shutdown();
      resolveStopped();
    })();
    return stopping;
  };

  if (options.handleSignals) {
    stopOnSignals(log, stop, () => stopping !== undefined);
    process.on('SIGHUP', () => {
      log.info('signal received', { signal: 'SIGHUP' });
      void daemon!.reload().catch((error) => log.error('reload failed', { error }));
    });
  }
  return { daemon, admin, log, stopped, stop };
}
