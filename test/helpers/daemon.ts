// Runs the daemon in this process against a test nats-server and destinations folder, with its
// log lines captured so a test can read them.
import { settingsFrom, type DaemonSettings } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { Daemon } from '../../daemon/daemon.js';

export interface TestDaemon {
  daemon: Daemon;
  settings: DaemonSettings;
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export function testSettings(natsUrl: string, destinationsDir: string, overrides: Record<string, unknown> = {}): DaemonSettings {
  return settingsFrom(
    {
      nats: { servers: [natsUrl] },
      destinationsDir,
      admin: { enabled: false, port: 0 },
      stream: { ackWaitMs: 5_000 },
      drainTimeoutMs: 2_000,
      requestTimeoutMs: 10_000,
      logLevel: 'debug',
      ...overrides,
    },
    undefined,
    destinationsDir,
  );
}

/** `onLog` sees each line as it is written (synchronously, so it can read the daemon's state at that moment). */
export async function startTestDaemon(settings: DaemonSettings, onLog?: (line: Record<string, unknown>, daemon: Daemon) => void): Promise<TestDaemon> {
  const logs: Array<Record<string, unknown>> = [];
  let daemon: Daemon | undefined;
  const write = (text: string) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    logs.push(line);
    onLog?.(line, daemon!);
  };
  const log = createLogger({ level: 'debug', write, secrets: () => daemon?.secretValues() ?? [] });
  daemon = new Daemon(settings, log);
  await daemon.start();
  return { daemon, settings, logs, stop: () => daemon!.stop() };
}
