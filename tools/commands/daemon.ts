// destinations daemon [--config FILE]
import { AdminAccessError } from '../../daemon/admin/index.js';
import { ConfigError } from '../../daemon/config/index.js';
import { DestinationsInvalidError } from '../../daemon/daemon.js';
import { NatsUnavailableError } from '../../daemon/nats/index.js';
import { AdminPortError, runDaemon } from '../../daemon/run-daemon.js';
import { parseCommandArgs } from './usage.js';

const USAGE = 'destinations daemon [--config FILE]';

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(`usage: ${USAGE}\n\nRuns the daemon. The configuration is FILE, or .destinationsrc.json (or .yaml) in the current folder.`);
    return 0;
  }
  try {
    const running = await runDaemon({ configFile: values.config, handleSignals: true });
    await running.stopped;
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DestinationsInvalidError || error instanceof NatsUnavailableError || error instanceof AdminPortError || error instanceof AdminAccessError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}
