// The CLI's NATS connection: the daemon's configuration (or --server), never an embedded server.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadConfig, type DaemonSettings } from '../../daemon/config/index.js';

export async function connectForCli(options: { config?: string; server?: string }): Promise<{ connection: NatsConnection; settings: DaemonSettings }> {
  const settings = await loadConfig({ file: options.config });
  const servers = options.server ? [options.server] : settings.nats.servers;
  try {
    return { connection: await connect({ servers, name: 'destinations-cli' }), settings };
  } catch (error) {
    throw new Error(`cannot reach NATS at ${servers.join(', ')}: ${(error as Error).message}`);
  }
}
