// How the commands that use NATS connect: the identity of nats-identity.ts (flags, NATS_*
// variables, --config), the daemon's connection-options builder, and every failure turned into
// one line that names the fix (operator-error.ts). The connection is drained when the work is done.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadConfig, type DaemonSettings } from '../../daemon/config/index.js';
import { connectOptions } from '../../daemon/nats/index.js';
import { cliNats, NATS_ENV, type NatsValues } from '../nats-identity.js';
import { explainError, type NatsContext } from '../operator-error.js';
import { keepOutOfOutput } from '../printable.js';

/** The roles of deploy/nats/nats-server.conf a command needs, for the message when the server refuses one. */
export const CLI_ROLES = {
  publisher: { user: 'publisher', passwordVariable: 'DESTINATIONS_PUBLISHER_PASSWORD', inboxPrefix: undefined },
  operator: { user: 'operator', passwordVariable: 'DESTINATIONS_OPERATOR_PASSWORD', inboxPrefix: '_INBOX_operator' },
} as const;
export type CliRole = keyof typeof CLI_ROLES;

const CREDENTIALS_FIX = `give them with --user NAME and --password-env VAR or --password-file FILE (or ${NATS_ENV.user} and ${NATS_ENV.password}), --token-env/--token-file, --nkey SEED_FILE, --creds FILE, or --config ROLE_FILE (docs/cli.md, "Identity")`;

function roleFix(command: string, role: CliRole): string {
  const { user, passwordVariable, inboxPrefix } = CLI_ROLES[role];
  const inbox = inboxPrefix === undefined ? '' : ` --inbox-prefix ${inboxPrefix}`;
  return `${command} needs the ${role} role: with deploy/nats, --user ${user} --password-env ${passwordVariable}${inbox}, or --config ROLE_FILE (docs/cli.md, "Identity")`;
}

/** Connects as the command's identity, runs `work`, drains; a failure is thrown as an OperatorError where it is one. */
export async function withNats<T>(command: string, role: CliRole, values: NatsValues, work: (connection: NatsConnection, settings: DaemonSettings) => Promise<T>): Promise<T> {
  const settings = await loadConfig({ file: values.config });
  const cli = cliNats(settings, values);
  const { options, secrets } = connectOptions(cli.nats, settings.baseDir, cli.label);
  keepOutOfOutput(secrets);
  const inboxPrefix = options.inboxPrefix ?? cli.nats.inboxPrefix;
  const roleInbox = CLI_ROLES[role].inboxPrefix;
  const context: NatsContext = {
    servers: options.servers,
    identity: cli.identity,
    hasCredentials: cli.hasCredentials,
    inboxPrefix,
    credentialsFix: CREDENTIALS_FIX,
    permissionFix: roleFix(command, role),
    inboxFix: `give the inbox prefix this user may read with --inbox-prefix or ${NATS_ENV.inboxPrefix}${roleInbox === undefined ? '' : ` (${roleInbox} for the ${role} of deploy/nats)`}, or inboxPrefix in the role file`,
  };
  const explained = (error: unknown) => explainError(error, context) ?? error;
  let connection: NatsConnection;
  try {
    connection = await connect({ ...options, maxReconnectAttempts: 10 });
  } catch (error) {
    throw explained(error);
  }
  try {
    return await work(connection, settings);
  } catch (error) {
    throw explained(error);
  } finally {
    await connection.drain().catch(() => connection.close());
  }
}
