// `npm start`: the daemon on its embedded default, with the shipped example destinations and a
// local sink on 127.0.0.1:3000 that prints every request it receives.
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths.js';
import { runDaemon } from '../daemon/run-daemon.js';
import { startSink } from './sink.js';

/** The shipped syncs take their secrets from these variables; the quick start fills in demo values. */
export const DEMO_SECRETS: Record<string, string> = {
  // A Standard Webhooks key (whsec_ + base64 of 24 to 64 bytes); the sink does not check signatures.
  WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('quick-start demo key, not a secret').toString('base64')}`,
  EXAMPLE_API_KEY: 'demo-example-key',
  BRAZE_API_KEY: 'demo-braze-key',
  CUSTOMERIO_API_KEY: 'demo-customerio-key',
  INTERCOM_ACCESS_TOKEN: 'demo-intercom-token',
  SFMC_CLIENT_ID: 'demo-sfmc-client-id',
  SFMC_CLIENT_SECRET: 'demo-sfmc-client-secret',
};

async function main(): Promise<void> {
  const filled = Object.entries(DEMO_SECRETS).filter(([name]) => !process.env[name]);
  for (const [name, value] of filled) process.env[name] = value;
  const sink = await startSink({ port: Number(process.env.SINK_PORT ?? 3000) }).catch((error: Error) => {
    console.error(`cannot start the sink on 127.0.0.1:${process.env.SINK_PORT ?? 3000}: ${error.message} (set SINK_PORT to use another port, and point the syncs at it)`);
    process.exit(1);
  });
  // DESTINATIONS_CONFIG runs the same quick start on another configuration (the tests use it).
  const configFile = process.env.DESTINATIONS_CONFIG ?? join(PACKAGE_ROOT, '.destinationsrc.json');
  const running = await runDaemon({ configFile, handleSignals: true });
  process.stderr.write(
    `\n  destinations is running: sink on http://127.0.0.1:${sink.port}, admin on http://127.0.0.1:${running.admin?.port}\n` +
      (filled.length ? `  demo secrets set for: ${filled.map(([name]) => name).join(', ')}\n` : '') +
      `  publish an event from another terminal:\n    node dist/tools/cli.js publish docs/events/purchase.json\n  Ctrl-C stops it.\n\n`,
  );
  await running.stopped;
  await sink.close();
}

await main();
