// The quick start once its options are read (tools/quickstart.ts): sink, own nats-server (unless
// --nats), daemon; then, after Ctrl-C, everything undone in reverse order.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig, ConfigError, type DaemonSettings } from '../daemon/config/index.js';
import { DestinationsInvalidError } from '../daemon/daemon.js';
import { createLogger, type Logger } from '../daemon/log.js';
import { natsServerInstalled, NatsUnavailableError, startEmbeddedServer, type EmbeddedServer } from '../daemon/nats/index.js';
import { PACKAGE_ROOT } from '../daemon/paths.js';
import { readVariables } from '../daemon/registry/index.js';
import { AdminPortError, runDaemon } from '../daemon/run-daemon.js';
import { noteLeftovers, type Leftovers } from './quickstart-leftovers.js';
import type { QuickStartOptions } from './quickstart.js';
import { SINK_VARIABLE, startSink } from './sink.js';

/** The shipped syncs take their secrets from these variables; the quick start fills in demo values. */
const DEMO_SECRETS: Record<string, string> = {
  // A Standard Webhooks key (whsec_ + base64 of 24 to 64 bytes); the sink does not check signatures.
  WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('quick-start demo key, not a secret').toString('base64')}`,
  EXAMPLE_API_KEY: 'demo-example-key',
  BRAZE_API_KEY: 'demo-braze-key',
  GA4_API_SECRET: 'demo-ga4-secret',
  MIXPANEL_SERVICE_ACCOUNT_SECRET: 'demo-mixpanel-secret',
  CUSTOMERIO_API_KEY: 'demo-customerio-key',
  INTERCOM_ACCESS_TOKEN: 'demo-intercom-token',
  SFMC_CLIENT_ID: 'demo-sfmc-client-id',
  SFMC_CLIENT_SECRET: 'demo-sfmc-client-secret',
  META_CAPI_ACCESS_TOKEN: 'demo-meta-access-token',
  TIKTOK_ACCESS_TOKEN: 'demo-tiktok-access-token',
  LINKEDIN_ACCESS_TOKEN: 'demo-linkedin-access-token',
  KLAVIYO_API_KEY: 'demo-klaviyo-key',
  HUBSPOT_ACCESS_TOKEN: 'demo-hubspot-token',
  SLACK_WEBHOOK_TOKEN: 'demo-slack-webhook-token',
  AIRSHIP_APP_KEY: 'demo-airship-app-key',
  AIRSHIP_BEARER_TOKEN: 'demo-airship-token',
  AMPLITUDE_API_KEY: 'demo-amplitude-key',
  CLEVERTAP_PASSCODE: 'demo-clevertap-passcode',
  ITERABLE_API_KEY: 'demo-iterable-key',
  MOENGAGE_DATA_API_KEY: 'demo-moengage-key',
  POSTHOG_API_KEY: 'demo-posthog-key',
  SEGMENT_WRITE_KEY: 'demo-segment-write-key',
  STATSIG_SERVER_SECRET: 'demo-statsig-secret',
  USERLIST_PUSH_KEY: 'demo-userlist-key',
  // AWS credentials of the right shape (the sink checks no signature); names of their own, so an
  // operator's real AWS_ACCESS_KEY_ID is never used to sign requests to the demo sink.
  KINESIS_ACCESS_KEY_ID: 'AKIADEMOKINESIS00000',
  KINESIS_SECRET_ACCESS_KEY: 'demo-kinesis-secret-access-key-not-a-secret',
  FIREHOSE_ACCESS_KEY_ID: 'AKIADEMOFIREHOSE0000',
  FIREHOSE_SECRET_ACCESS_KEY: 'demo-firehose-secret-access-key-not-a-secret',
};

/** A service account key made for this run (Pub/Sub's JWT is signed with it; the sink's token endpoint checks nothing). */
function demoServiceAccountKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return JSON.stringify({ type: 'service_account', client_email: 'quick-start@demo.iam.gserviceaccount.com', private_key_id: 'demo', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) });
}

/** Something it cannot start: one line, exit 1. */
class QuickStartError extends Error {}

export async function runQuickStart(options: QuickStartOptions): Promise<number> {
  const filled = Object.entries(DEMO_SECRETS).filter(([name]) => !process.env[name]);
  for (const [name, value] of filled) process.env[name] = value;
  if (!process.env.PUBSUB_SERVICE_ACCOUNT_KEY) process.env.PUBSUB_SERVICE_ACCOUNT_KEY = demoServiceAccountKey();

  // Everything it starts is undone in reverse order, whatever fails on the way; each step once.
  const undo: Array<() => unknown> = [];
  const cleanUp = async () => {
    while (undo.length > 0) await undo.pop()!();
  };
  // Until the daemon handles signals itself, a Ctrl-C undoes what was started so far.
  const onEarlySignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onEarlySignal);
  process.once('SIGTERM', onEarlySignal);
  try {
    const config = await loadConfig({ file: options.config ?? join(PACKAGE_ROOT, '.destinationsrc.json') });
    const log = createLogger({ level: config.logLevel });

    const sink = await startSink({ port: options.sinkPort }).catch((error: NodeJS.ErrnoException) => {
      throw new QuickStartError(`cannot start the sink on 127.0.0.1:${options.sinkPort} (${error.code ?? error.message}): give it another port with --sink-port PORT (0: any free port)`);
    });
    undo.push(() => sink.close());
    const sinkUrl = `http://127.0.0.1:${sink.port}`;

    const natsUrl = options.natsUrl ?? (await startOwnServer(log, options.natsPort, undo));
    const settings = quickStartSettings(config, { natsUrl, adminPort: options.adminPort, sinkUrl });
    let leftovers: Leftovers | undefined;
    if (options.natsUrl !== undefined) {
      leftovers = await noteLeftovers(settings).catch((error: Error) => {
        throw new QuickStartError(`cannot reach NATS at ${natsUrl}: ${error.message}`);
      });
    }

    const running = await runDaemon({ settings, handleSignals: true });
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    if (leftovers) {
      const made = leftovers;
      const consumers = [...running.daemon.runners.values()].map((runner) => runner.consumerName);
      undo.push(async () => log.info('removed what the quick start made on the NATS server', { removed: await made.remove(consumers) }));
    }
    const cli = relative(process.cwd(), join(PACKAGE_ROOT, 'dist', 'tools', 'cli.js'));
    const event = relative(process.cwd(), join(PACKAGE_ROOT, 'docs', 'events', 'purchase.json'));
    const admin = `http://127.0.0.1:${running.admin?.port}`;
    process.stderr.write(
      `\n  destinations is running: sink on ${sinkUrl}, admin on ${admin}, NATS at ${natsUrl}${options.natsUrl === undefined ? ' (its own, removed on exit)' : ''}\n` +
        (filled.length ? `  demo secrets set for: ${filled.map(([name]) => name).join(', ')}\n` : '') +
        `  publish an event from another terminal:\n    node ${cli} publish --server ${natsUrl} ${event}\n` +
        `  see the daemon's state:\n    node ${cli} status --url ${admin}\n  Ctrl-C stops it.\n\n`,
    );
    await running.stopped;
    await cleanUp();
    return 0;
  } catch (error) {
    await cleanUp();
    if (error instanceof AdminPortError) {
      console.error(`quick start: ${error.message.split(';')[0]}: give the daemon another one with --admin-port PORT (0: any free port)`);
      return 1;
    }
    if (error instanceof QuickStartError || error instanceof ConfigError || error instanceof DestinationsInvalidError || error instanceof NatsUnavailableError) {
      console.error(`quick start: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** A nats-server from the shipped nats.conf, on `port` (or any free one), in a temporary folder removed afterwards. */
async function startOwnServer(log: Logger, port: number | undefined, undo: Array<() => unknown>): Promise<string> {
  if (!natsServerInstalled()) {
    throw new QuickStartError('nats-server is not on the PATH: install it (Debian: apt-get install nats-server; or https://nats.io), or use a running server with --nats URL');
  }
  const workDir = mkdtempSync(join(tmpdir(), 'destinations-quickstart-'));
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true });
  // A second Ctrl-C exits at once (run-daemon.ts): the folder still goes.
  process.once('exit', removeWorkDir);
  undo.push(() => {
    process.off('exit', removeWorkDir);
    removeWorkDir();
  });
  let server: EmbeddedServer;
  try {
    server = await startEmbeddedServer(join(PACKAGE_ROOT, 'nats.conf'), log, { port: port ?? -1, workDir });
  } catch (error) {
    throw new QuickStartError(`cannot start nats-server${port === undefined ? '' : ` on port ${port}`}: ${(error as Error).message.trim().split('\n').slice(-1)[0]}`);
  }
  undo.push(() => server.stop());
  return `nats://127.0.0.1:${server.port}`;
}

/** The configuration with the quick start's own server, admin port and sink address. */
function quickStartSettings(config: DaemonSettings, given: { natsUrl: string; adminPort?: number; sinkUrl: string }): DaemonSettings {
  // The sink's address goes to the shipped syncs through their variable; another folder may not declare it.
  const declared = readVariables(config.destinationsDir).values.has(SINK_VARIABLE);
  return {
    ...config,
    nats: { ...config.nats, servers: [given.natsUrl], embedded: { ...config.nats.embedded, enabled: false } },
    admin: { ...config.admin, port: given.adminPort ?? config.admin.port },
    variables: declared ? { ...config.variables, [SINK_VARIABLE]: given.sinkUrl } : config.variables,
  };
}
