// destinations daemon [--config FILE]
import { AdminAccessError } from '../../daemon/admin/index.js';
import { loadConfig } from '../../daemon/config/index.js';
import { DestinationsInvalidError } from '../../daemon/daemon.js';
import { StorageBudgetError, withoutUserinfo } from '../../daemon/nats/index.js';
import { AdminPortError, runDaemon } from '../../daemon/run-daemon.js';
import { EXIT } from '../exit-codes.js';
import { explainError } from '../operator-error.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations daemon [--config FILE] [--admin-port PORT]';

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { config: { type: 'string', short: 'c' }, 'admin-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(
      `usage: ${USAGE}\n\nRuns the daemon. The configuration is FILE, or .destinationsrc.json (or .yaml) in the current folder.\n` +
        '--admin-port PORT replaces the configuration\'s admin.port (0: any free port), so several daemons on a host share one\n' +
        'configuration (deploy/systemd/destinations@.service: the instance name is the port).',
    );
    return 0;
  }
  const adminPort = values['admin-port'];
  if (adminPort !== undefined && (!/^\d+$/.test(adminPort) || Number(adminPort) > 65_535)) {
    throw new UsageError(`--admin-port must be a port number from 0 to 65535, not ${JSON.stringify(adminPort)}\n\nusage: ${USAGE}`);
  }
  const settings = await loadConfig({ file: values.config });
  try {
    const running = await runDaemon({ settings, adminPort: adminPort === undefined ? undefined : Number(adminPort), handleSignals: true });
    await running.stopped;
    return 0;
  } catch (error) {
    // An unset secret, an unreachable or refusing server: one line and its own exit status (cli.ts prints it).
    const explained = explainError(error, {
      servers: settings.nats.servers.map(withoutUserinfo),
      identity: settings.nats.user === undefined ? "the daemon's credentials" : `the daemon's user "${settings.nats.user}"`,
      permissionFix: 'the daemon needs the permissions of the user destinations in deploy/nats/nats-server.conf: run it as that user (nats.user, nats.inboxPrefix "_INBOX_destinations") or grant them',
    });
    if (explained) throw explained;
    if (error instanceof DestinationsInvalidError || error instanceof StorageBudgetError || error instanceof AdminPortError || error instanceof AdminAccessError) {
      console.error(error.message);
      return EXIT.failed;
    }
    throw error;
  }
}
