// The CLI's NATS connection: the configuration's server and user (or --server), never an embedded
// server. With authorization, the operator keeps a config file of their own (deploy/nats/).
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadConfig, type DaemonSettings } from '../../daemon/config/index.js';
import { connectOptions } from '../../daemon/nats/index.js';

export async function connectForCli(options: { config?: string; server?: string }): Promise<{ connection: NatsConnection; settings: DaemonSettings }> {
  const settings = await loadConfig({ file: options.config });
  const servers = options.server ? [options.server] : settings.nats.servers;
  // Outside the try: an unset password variable is not an unreachable server.
  const connectWith = { ...connectOptions(settings.nats, settings.baseDir), servers, name: 'destinations-cli', maxReconnectAttempts: 10 };
  try {
    return { connection: await connect(connectWith), settings };
  } catch (error) {
    throw new Error(`cannot reach NATS at ${servers.join(', ')}: ${(error as Error).message}`);
  }
}
