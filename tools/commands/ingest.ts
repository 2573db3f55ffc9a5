// destinations ingest [--config FILE] [--port PORT] [--metrics-port PORT]
import { loadConfig } from '../../daemon/config/index.js';
import { runIngest } from '../../daemon/ingest/index.js';
import { withoutUserinfo } from '../../daemon/nats/index.js';
import { explainError } from '../operator-error.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations ingest [--config FILE] [--port PORT] [--metrics-port PORT]';
const HELP = `usage: ${USAGE}

Runs the ingest: an HTTP server that takes events from Amplitude's SDKs (POST /2/httpapi, /batch) and
Segment's (POST /v1/track, identify, page, screen, group, alias, batch) and publishes them to the
events stream, answering 200 only once JetStream has stored every one. Its settings are the ingest
section of the configuration (FILE, or .destinationsrc.json in the current folder): listen address,
port, and the keys by reference, each with its subject. --port replaces ingest.port and
--metrics-port ingest.metricsPort (0: any free port). docs/operations.md#ingest.`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new UsageError(`${flag} must be a port number from 0 to 65535, not ${JSON.stringify(value)}\n\nusage: ${USAGE}`);
  return Number(value);
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { config: { type: 'string', short: 'c' }, port: { type: 'string' }, 'metrics-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const settings = await loadConfig({ file: values.config });
  try {
    const running = await runIngest({ settings, port: port(values.port, '--port'), metricsPort: port(values['metrics-port'], '--metrics-port'), handleSignals: true });
    await running.stopped;
    return 0;
  } catch (error) {
    const explained = explainError(error, {
      servers: settings.nats.servers.map(withoutUserinfo),
      identity: settings.nats.user === undefined ? "the ingest's credentials" : `the ingest's user "${settings.nats.user}"`,
      permissionFix: 'the ingest publishes to the events subjects: run it as a user allowed to (the publisher of deploy/nats/nats-server.conf)',
    });
    throw explained ?? error;
  }
}
