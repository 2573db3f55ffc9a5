// Every command's exit status, in one place. docs/cli.md's table is checked against this one
// (test/tools/cli-failures.test.ts). 0, 1 and 2 are the contract scripts already rely on; the
// others tell an operator's mistakes apart, so that a script (or systemd) can act on which it was.
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  badFile: 3,
  secretUnset: 4,
  unreachable: 5,
  authRefused: 6,
  permissionRefused: 7,
} as const;

export type ExitName = keyof typeof EXIT;
export type ExitCode = (typeof EXIT)[ExitName];

/** What each status means, as docs/cli.md says it. */
export const EXIT_MEANINGS: Record<ExitName, string> = {
  ok: 'success',
  failed: 'failure: invalid, render error, non-2xx answer, a replay refused, an unexpected error',
  usage: 'usage error: unknown option, missing argument, no such directory',
  badFile: 'a file named on the command line or in the configuration cannot be read or is not what it should be (configuration, role file, event file, .creds, NKey seed)',
  secretUnset: 'a secret reference does not resolve: an environment variable unset or empty, a secret file unreadable',
  unreachable: 'no NATS server (or admin port) answers at the address',
  authRefused: 'the server refused the credentials (NATS Authorization Violation, admin port 401)',
  permissionRefused: 'the server refused this user an operation (NATS Permissions Violation)',
};
