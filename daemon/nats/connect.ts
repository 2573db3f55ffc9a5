// Connecting to NATS, with the embedded default when nothing answers at the configured address.
import { connect } from '@nats-io/transport-node';
import { AuthorizationError, PermissionViolationError, UserAuthenticationExpiredError, type NatsConnection } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import type { Logger } from '../log.js';
import { connectOptions } from './connect-options.js';
import { natsServerInstalled, startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { STORAGE_PROBE_STREAM } from './storage-budget.js';

export interface NatsSession {
  connection: NatsConnection;
  embedded?: EmbeddedServer;
  /** Whether the connection is up now: false from the moment it drops until it is back. */
  readonly connected: boolean;
  /** When it dropped (undefined while connected). */
  readonly disconnectedAt: Date | undefined;
  /** Called each time the connection is back after a drop (the server may have come back without its store). */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

export class NatsUnavailableError extends Error {
  override name = 'NatsUnavailableError';
}

/** The server answered and refused the credentials: starting an embedded server would not help. */
export class NatsAuthorizationError extends Error {
  override name = 'NatsAuthorizationError';
}

/** Connects; when nothing answers and the embedded default is on, starts nats-server first. */
export async function connectNats(settings: DaemonSettings['nats'], log: Logger, baseDir = process.cwd(), configFile?: string): Promise<NatsSession> {
  const { options } = connectOptions(settings, baseDir, (field) => `nats.${field}${configFile === undefined ? '' : ` in ${configFile}`}`);
  // Printed in messages: the URLs without any credentials written into them.
  const servers = options.servers.join(', ');
  let embedded: EmbeddedServer | undefined;
  let connection: NatsConnection;
  try {
    connection = await connect({ ...options, reconnect: true, waitOnFirstConnect: false });
  } catch (error) {
    if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
      throw new NatsAuthorizationError(
        `NATS at ${servers} refused the daemon's credentials (${error.message}): check nats.user with nats.password, or nats.token, nats.nkeySeed or nats.credentialsFile, against the server's authorization`,
        { cause: error },
      );
    }
    if (!settings.embedded.enabled) {
      throw new NatsUnavailableError(
        `cannot reach NATS at ${servers} (${(error as Error).message}); start a server there, ` +
          'or set nats.embedded.enabled in .destinationsrc.json to start one from nats.conf',
      );
    }
    if (!natsServerInstalled()) {
      throw new NatsUnavailableError(
        `cannot reach NATS at ${servers} and nats-server is not on the PATH; ` +
          'install it (Debian: apt-get install nats-server) or point nats.servers at a running server',
      );
    }
    log.info('no NATS server answered; starting the embedded default', { servers: options.servers });
    embedded = await startEmbeddedServer(settings.embedded.config, log);
    connection = await connect(options);
  }
  log.info('connected to NATS', { server: connection.getServer() });
  const link: Link = { disconnectedAt: undefined, reconnected: [] };
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
    onReconnect(listener) {
      link.reconnected.push(listener);
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
interface Link {
  disconnectedAt: Date | undefined;
  reconnected: Array<() => void>;
}

async function watchStatus(connection: NatsConnection, link: Link, log: Logger): Promise<void> {
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
        for (const listener of link.reconnected) listener();
        break;
      }
      case 'error':
        // Measuring the store without the permission to (planStorage) is expected and said there.
        if (status.error instanceof PermissionViolationError && status.error.subject.endsWith(`.${STORAGE_PROBE_STREAM}`)) break;
        log.error('NATS server error', { error: status.error.message });
        break;
    }
  }
}
