// Connecting to NATS, with the embedded default when nothing answers at the configured address.
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import type { Logger } from '../log.js';
import { resolveSecretRef } from '../secrets/index.js';
import { natsServerInstalled, startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';

export interface NatsSession {
  connection: NatsConnection;
  embedded?: EmbeddedServer;
  /** Whether the connection is up now: false from the moment it drops until it is back. */
  readonly connected: boolean;
  /** When it dropped (undefined while connected). */
  readonly disconnectedAt: Date | undefined;
  close(): Promise<void>;
}

export class NatsUnavailableError extends Error {
  override name = 'NatsUnavailableError';
}

/** What connecting as the configured user takes; the CLI connects with the same (its own config file names the operator's user). */
export function connectOptions(settings: DaemonSettings['nats'], baseDir: string) {
  // A relative secret file is relative to the config file that names it, like a sync's.
  const secret = (ref: typeof settings.password) => (ref ? resolveSecretRef(ref, { baseDir }) : undefined);
  return {
    servers: settings.servers,
    name: settings.name,
    user: settings.user,
    pass: secret(settings.password),
    token: secret(settings.token),
    authenticator: settings.credentialsFile ? credsAuthenticator(readFileSync(settings.credentialsFile)) : undefined,
    // With authorization, each user may subscribe to its own inboxes only (deploy/nats/).
    inboxPrefix: settings.inboxPrefix,
    maxReconnectAttempts: -1,
  };
}

/** Connects; when nothing answers and the embedded default is on, starts nats-server first. */
export async function connectNats(settings: DaemonSettings['nats'], log: Logger, baseDir = process.cwd()): Promise<NatsSession> {
  const options = connectOptions(settings, baseDir);
  let embedded: EmbeddedServer | undefined;
  let connection: NatsConnection;
  try {
    connection = await connect({ ...options, reconnect: true, waitOnFirstConnect: false });
  } catch (error) {
    if (!settings.embedded.enabled) {
      throw new NatsUnavailableError(
        `cannot reach NATS at ${settings.servers.join(', ')} (${(error as Error).message}); start a server there, ` +
          'or set nats.embedded.enabled in .destinationsrc.json to start one from nats.conf',
      );
    }
    if (!natsServerInstalled()) {
      throw new NatsUnavailableError(
        `cannot reach NATS at ${settings.servers.join(', ')} and nats-server is not on the PATH; ` +
          'install it (Debian: apt-get install nats-server) or point nats.servers at a running server',
      );
    }
    log.info('no NATS server answered; starting the embedded default', { servers: settings.servers });
    embedded = await startEmbeddedServer(settings.embedded.config, log);
    connection = await connect(options);
  }
  log.info('connected to NATS', { server: connection.getServer() });
  const link = { disconnectedAt: undefined as Date | undefined };
  void watchStatus(connection, link, log);
  return {
    connection,
    embedded,
    get connected() {
      return link.disconnectedAt === undefined && !connection.isClosed();
    },
    get disconnectedAt() {
      return link.disconnectedAt;
    },
    async close() {
      await connection.drain().catch(() => connection.close());
      await embedded?.stop();
    },
  };
}

/**
 * What nats.js reports only on `status()`: the connection dropping and coming back (a reconnecting
 * connection is not closed, so `isClosed()` alone says "connected" while NATS is down), and the
 * server's errors (a permission the daemon's user lacks, an ack or a rate-share announcement
 * refused, would otherwise pass unseen).
 */
async function watchStatus(connection: NatsConnection, link: { disconnectedAt: Date | undefined }, log: Logger): Promise<void> {
  for await (const status of connection.status()) {
    switch (status.type) {
      case 'disconnect':
        link.disconnectedAt ??= new Date();
        log.warn('disconnected from NATS; reconnecting', { server: status.server });
        break;
      case 'reconnect': {
        const downMs = link.disconnectedAt ? Date.now() - link.disconnectedAt.getTime() : 0;
        link.disconnectedAt = undefined;
        log.info('reconnected to NATS', { server: status.server, downMs });
        break;
      }
      case 'error':
        log.error('NATS server error', { error: status.error.message });
        break;
    }
  }
}
