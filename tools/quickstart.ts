// `npm start`: the daemon with the shipped example destinations, a local sink that prints every
// request it receives, and a nats-server of its own (a free port, its store in a temporary folder),
// all stopped and removed by Ctrl-C. It writes into another NATS server only when told to (--nats).
// This file reads the options (fast: --help loads nothing else); quickstart-run.ts does the rest.
import { parseArgs } from 'node:util';
import { DEFAULT_SINK_PORT } from '../daemon/defaults.js';
import { SINK_VARIABLE } from './sink.js';

/** Each option, its environment variable (a flag wins) and what it does: the help is made from this. */
const OPTIONS = {
  'sink-port': { env: 'DESTINATIONS_SINK_PORT', value: 'PORT', text: `the sink's port (default ${DEFAULT_SINK_PORT}; 0: any free port)` },
  'admin-port': { env: 'DESTINATIONS_ADMIN_PORT', value: 'PORT', text: "the daemon's admin port (default: the config's, 9464; 0: any free port)" },
  'nats-port': { env: 'DESTINATIONS_NATS_PORT', value: 'PORT', text: 'the port of the nats-server it starts (default: any free port)' },
  nats: { env: 'DESTINATIONS_NATS_URL', value: 'URL', text: 'use this running NATS server instead of starting one; stopping removes the streams and consumers this run made there' },
  config: { env: 'DESTINATIONS_CONFIG', value: 'FILE', text: "daemon configuration (default: the package's .destinationsrc.json); its NATS servers are not used" },
} as const;
type OptionName = keyof typeof OPTIONS;

export interface QuickStartOptions {
  sinkPort: number;
  adminPort?: number;
  natsPort?: number;
  natsUrl?: string;
  config?: string;
}

const USAGE = 'npm start -- [--sink-port PORT] [--admin-port PORT] [--nats-port PORT | --nats URL] [--config FILE]';
const HELP = `usage: ${USAGE}

Starts a nats-server of its own (JetStream, its store in a temporary folder), the daemon with the
shipped destinations (destinations/), and a sink that prints every request; the shipped syncs send to
the sink through \${vars.${SINK_VARIABLE}} (destinations/variables.json). Ctrl-C stops everything and
removes what it made. Secrets the shipped syncs need get demo values when unset.

${Object.entries(OPTIONS)
  .map(([name, option]) => `  --${`${name} ${option.value}`.padEnd(17)} ${option.text} [${option.env}]`)
  .join('\n')}`;

/** A mistake on the command line: one line, exit 2. */
class QuickStartUsageError extends Error {}

function portOf(name: OptionName, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new QuickStartUsageError(`--${name} (or ${OPTIONS[name].env}) must be a port number from 0 to 65535, not ${JSON.stringify(value)}`);
  return port;
}

function readOptions(argv: string[]): QuickStartOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new QuickStartUsageError((error as Error).message);
  }
  if (parsed.values.help) return 'help';
  const given = (name: OptionName) => {
    const value = (parsed.values as Record<string, string | undefined>)[name] ?? process.env[OPTIONS[name].env];
    return value === '' ? undefined : value;
  };
  if (given('nats') !== undefined && given('nats-port') !== undefined) {
    throw new QuickStartUsageError('--nats and --nats-port exclude each other: --nats uses a server that is already running');
  }
  return {
    sinkPort: portOf('sink-port', given('sink-port')) ?? DEFAULT_SINK_PORT,
    adminPort: portOf('admin-port', given('admin-port')),
    natsPort: portOf('nats-port', given('nats-port')),
    natsUrl: given('nats'),
    config: given('config'),
  };
}

async function main(argv: string[]): Promise<number> {
  let options: QuickStartOptions | 'help';
  try {
    options = readOptions(argv);
  } catch (error) {
    if (!(error instanceof QuickStartUsageError)) throw error;
    console.error(`quick start: ${error.message}\n\nusage: ${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(HELP);
    return 0;
  }
  const { runQuickStart } = await import('./quickstart-run.js');
  return runQuickStart(options);
}

process.exitCode = await main(process.argv.slice(2));
