// An operator's mistake is one line that names the fix and a distinct exit status (exit-codes.ts);
// explainError is the one place that recognises them among whatever a command threw: a bad or
// missing file, a secret that does not resolve, a NATS server that does not answer, refuses the
// credentials, or refuses the user an operation. Anything else is not explained (exit 1, and the
// stack trace only with --debug).
import { AuthorizationError, ConnectionError, PermissionViolationError, UserAuthenticationExpiredError } from '@nats-io/nats-core';
import { ConfigError } from '../daemon/config/index.js';
import { NatsAuthorizationError, NatsUnavailableError } from '../daemon/nats/index.js';
import { SecretUnresolvedError } from '../daemon/secrets/index.js';
import type { ExitName } from './exit-codes.js';

export class OperatorError extends Error {
  override name = 'OperatorError';
  constructor(
    readonly exit: ExitName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What the messages about a NATS connection say: where, as whom, and how to fix a refusal. */
export interface NatsContext {
  /** The server URLs, without userinfo. */
  servers: readonly string[];
  /** Who connected (`user "operator" with the password from --password-env X`), never a secret. */
  identity: string;
  hasCredentials: boolean;
  /** The prefix of this connection's reply subjects. */
  inboxPrefix: string;
  /** How to give other credentials (flags, variables, a role file). */
  credentialsFix: string;
  /** What to do when the user lacks a permission (the role the command needs). */
  permissionFix: string;
  /** How to change the inbox prefix. */
  inboxFix: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);
const FILE_CODES: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied (this user may not read it)',
  EPERM: 'permission denied (this user may not read it)',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
};

/** The causes of an error, itself first (nats.js wraps a refusal in a RequestError, JetStream in its own). */
function* chain(error: unknown): Generator<unknown> {
  for (let at = error, depth = 0; at !== undefined && at !== null && depth < 5; at = (at as { cause?: unknown }).cause, depth++) yield at;
}

function find<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (const each of chain(error)) if (each instanceof type) return each;
  return undefined;
}

/** The subject pattern of an inbox subscription (`_INBOX.<random>.*` → `_INBOX.>`) or the subject itself. */
function shownSubject(subject: string, inboxPrefix: string): { subject: string; inbox: boolean } {
  const inbox = subject.startsWith('_INBOX') || subject.startsWith(`${inboxPrefix}.`);
  return inbox ? { subject: `${subject.split('.')[0]}.>`, inbox } : { subject, inbox };
}

export function explainError(error: unknown, nats?: Partial<NatsContext>): OperatorError | undefined {
  if (error instanceof OperatorError) return error;
  const where = nats?.servers ? `NATS at ${nats.servers.join(', ')}` : 'NATS';
  const secret = find(error, SecretUnresolvedError);
  if (secret) {
    // The outermost message names the setting (admin.token: …, --password-env X: …).
    const message = error instanceof Error ? error.message : secret.message;
    const fix = /environment variable \S+ is not set|is empty/.test(secret.message) ? 'set it, or give the secret by another reference' : 'make the file readable here, or give the secret by another reference';
    return new OperatorError('secretUnset', `${message}: ${fix}`, { cause: error });
  }
  if (error instanceof ConfigError) return new OperatorError('badFile', error.message, { cause: error });
  if (error instanceof NatsAuthorizationError) return new OperatorError('authRefused', error.message, { cause: error });
  if (error instanceof NatsUnavailableError) return new OperatorError('unreachable', error.message, { cause: error });

  const refused = find(error, AuthorizationError) ?? find(error, UserAuthenticationExpiredError);
  if (refused) {
    if (!nats?.credentialsFix) return new OperatorError('authRefused', `${where} refused ${nats?.identity ?? 'the credentials'}: ${refused.message}`, { cause: error });
    const message = nats.hasCredentials
      ? `${where} refused ${nats.identity}: ${refused.message}; check them, or ${nats.credentialsFix}`
      : `${where} asks for credentials and none were given (${refused.message}): ${nats.credentialsFix}`;
    return new OperatorError('authRefused', message, { cause: error });
  }

  const denied = find(error, PermissionViolationError);
  if (denied) {
    const { subject, inbox } = shownSubject(denied.subject, nats?.inboxPrefix ?? '_INBOX');
    const who = `${where} refused ${nats?.identity ?? 'this user'} permission to`;
    if (denied.operation === 'subscription' && inbox) {
      return new OperatorError('permissionRefused', `${who} subscribe to its replies on "${subject}" (Permissions Violation): ${nats?.inboxFix ?? 'use the inbox prefix this user may subscribe to'}`, { cause: error });
    }
    const what = denied.operation === 'publish' ? `publish to "${subject}"` : `subscribe to "${subject}"`;
    return new OperatorError('permissionRefused', `${who} ${what} (Permissions Violation): ${nats?.permissionFix ?? 'connect as a user that has the permission, or grant it'}`, { cause: error });
  }

  const network = [...chain(error)].find((each) => each instanceof ConnectionError || NETWORK_CODES.has((each as NodeJS.ErrnoException)?.code ?? ''));
  if (network && nats?.servers) {
    return new OperatorError('unreachable', `cannot reach ${where} (${(network as Error).message}): start the server, or give its address with --server URL or NATS_URL`, { cause: error });
  }

  const file = error as NodeJS.ErrnoException;
  if (typeof file?.path === 'string' && file.code !== undefined && FILE_CODES[file.code]) {
    return new OperatorError('badFile', `${file.path}: ${FILE_CODES[file.code]}`, { cause: error });
  }
  return undefined;
}
