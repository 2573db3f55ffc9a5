// Who a command connects to NATS as (docs/cli.md, "Identity"): its flags first, then the NATS_*
// variables (the names the nats CLI reads), then the --config file (a role file, or the daemon's
// .destinationsrc.json found in the current folder). Credentials given by flag or variable replace
// the file's whole, inbox prefix included: the daemon's user and inbox are not the operator's.
// Passwords and tokens are references (a variable's name or a file), never a value on the command
// line, where ps and the shell history would show it.
import { resolve } from 'node:path';
import { settingsFrom, type DaemonSettings } from '../daemon/config/index.js';
import { credentialsInUrls, IDENTITY_FIELDS, type IdentityField, type SettingLabel, type UrlCredentials } from '../daemon/nats/index.js';
import type { SecretRef } from '../daemon/secrets/index.js';
import { UsageError } from './commands/usage.js';

/** The options of every command that connects to NATS (node:util parseArgs form). */
export const NATS_OPTIONS = {
  config: { type: 'string' },
  server: { type: 'string' },
  user: { type: 'string' },
  'password-env': { type: 'string' },
  'password-file': { type: 'string' },
  'token-env': { type: 'string' },
  'token-file': { type: 'string' },
  nkey: { type: 'string' },
  creds: { type: 'string' },
  'inbox-prefix': { type: 'string' },
} as const;

/** The environment variables, by what they set. */
export const NATS_ENV = {
  servers: 'NATS_URL',
  user: 'NATS_USER',
  password: 'NATS_PASSWORD',
  token: 'NATS_TOKEN',
  nkeySeed: 'NATS_NKEY',
  credentialsFile: 'NATS_CREDS',
  inboxPrefix: 'NATS_INBOX_PREFIX',
} as const;

export const NATS_USAGE =
  '[--config FILE] [--server URL[,URL…]] [--user NAME (--password-env VAR | --password-file FILE) | --token-env VAR | --token-file FILE | --nkey SEED_FILE | --creds FILE] [--inbox-prefix PREFIX]';

export const NATS_HELP = `Connecting (docs/cli.md, "Identity"); a flag beats its variable, both beat the --config file:
  --config FILE               a role file (.destinationsrc.json schema, its "nats" part), or the daemon's
  --server URL[,URL…]         NATS_URL          nats://host:4222; nats://user:password@host works too
  --user NAME                 NATS_USER
  --password-env VAR          NATS_PASSWORD     the password is read from VAR (or NATS_PASSWORD holds it)
  --password-file FILE                          or from FILE
  --token-env VAR, --token-file FILE  NATS_TOKEN
  --nkey SEED_FILE            NATS_NKEY         a user NKey seed (SU…)
  --creds FILE                NATS_CREDS        a .creds file (JWT and seed)
  --inbox-prefix PREFIX       NATS_INBOX_PREFIX the reply subjects this user may read (_INBOX_operator for deploy/nats's operator)
  --debug                                       a stack trace with an unexpected error`;

export type NatsValues = { [K in keyof typeof NATS_OPTIONS]?: string };
type NatsSettings = DaemonSettings['nats'];
type Identity = Partial<Pick<NatsSettings, IdentityField>>;

export interface CliNats {
  nats: NatsSettings;
  /** Where each setting came from, for messages (`--password-env X`, `NATS_URL`, `nats.user in FILE`). */
  label: SettingLabel;
  /** Who connects, for messages; names and references only, never a secret. */
  identity: string;
  hasCredentials: boolean;
}

/** The schema's defaults (the inbox prefix of a client that brings its own credentials). */
const DEFAULT_NATS = settingsFrom({}, undefined, '.').nats;

const given = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** The connection settings a command uses, from its flags, the environment and the loaded config. */
export function cliNats(settings: DaemonSettings, values: NatsValues, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CliNats {
  const fromFile = (field: string) => `nats.${field} in ${settings.file ?? 'the defaults (no config file)'}`;
  const labels = new Map<IdentityField | 'servers', string>();

  const serverText = given(values.server) ?? given(env[NATS_ENV.servers]);
  if (serverText !== undefined) labels.set('servers', values.server !== undefined ? '--server' : NATS_ENV.servers);
  const servers = serverText === undefined ? settings.nats.servers : serverText.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (servers.length === 0) throw new UsageError(`${labels.get('servers')} names no server`);

  // Credentials from flags and variables, a flag beating its variable.
  const identity: Identity = {};
  const take = <F extends IdentityField>(field: F, flag: [string, NatsSettings[F]] | undefined, fromVariable: (text: string) => NatsSettings[F]) => {
    const name = NATS_ENV[field];
    const text = given(env[name]);
    const chosen = flag ?? (text === undefined ? undefined : ([name, fromVariable(text)] as [string, NatsSettings[F]]));
    if (chosen === undefined) return;
    identity[field] = chosen[1];
    labels.set(field, chosen[0]);
  };
  const secretFlag = (name: 'password' | 'token'): [string, SecretRef] | undefined => {
    const fromEnv = values[`${name}-env`];
    const fromFile = values[`${name}-file`];
    if (fromEnv !== undefined && fromFile !== undefined) throw new UsageError(`give --${name}-env or --${name}-file, not both`);
    if (fromEnv !== undefined) return [`--${name}-env ${fromEnv}`, { env: fromEnv }];
    if (fromFile !== undefined) return [`--${name}-file ${fromFile}`, { file: resolve(cwd, fromFile) }];
    return undefined;
  };
  const flag = <T>(name: keyof NatsValues, value: (text: string) => T): [string, T] | undefined => {
    const text = values[name];
    return text === undefined ? undefined : [name === 'user' ? '--user' : `--${name} ${text}`, value(text)];
  };
  take('user', flag('user', (text) => text), (text) => text);
  // A variable holding the password or token is read as a reference to itself.
  take('password', secretFlag('password'), () => ({ env: NATS_ENV.password }));
  take('token', secretFlag('token'), () => ({ env: NATS_ENV.token }));
  take('nkeySeed', flag('nkey', (text) => ({ file: resolve(cwd, text) })), (text) => ({ file: resolve(cwd, text) }));
  take('credentialsFile', flag('creds', (text) => resolve(cwd, text)), (text) => resolve(cwd, text));
  const inUrls: UrlCredentials = serverText === undefined ? { servers } : credentialsInUrls(servers, labels.get('servers'));

  const kinds = [
    identity.user !== undefined || identity.password !== undefined ? [labels.get('user'), labels.get('password')].filter(Boolean).join(' and ') : undefined,
    identity.token !== undefined ? labels.get('token') : undefined,
    identity.nkeySeed !== undefined ? labels.get('nkeySeed') : undefined,
    identity.credentialsFile !== undefined ? labels.get('credentialsFile') : undefined,
    inUrls.user !== undefined || inUrls.token !== undefined ? `the credentials in the URL of ${labels.get('servers')}` : undefined,
  ].filter((kind): kind is string => kind !== undefined);
  if (kinds.length > 1) throw new UsageError(`one identity at a time: ${kinds.join('; ')} were all given`);
  if (identity.password !== undefined && identity.user === undefined) throw new UsageError(`${labels.get('password')} gives a password without a user: add --user NAME (or ${NATS_ENV.user})`);

  const ownIdentity = kinds.length > 0;
  const inboxPrefix = given(values['inbox-prefix']) ?? given(env[NATS_ENV.inboxPrefix]);
  const nats: NatsSettings = {
    ...settings.nats,
    name: 'destinations-cli',
    // Credentials written into the file's URLs give way to these too.
    servers: (ownIdentity && serverText === undefined ? credentialsInUrls(servers).servers : servers) as NatsSettings['servers'],
    // The file's credentials (and its inbox) only when none were given here.
    ...(ownIdentity ? { ...Object.fromEntries(IDENTITY_FIELDS.map((field) => [field, undefined])), ...identity } : {}),
    inboxPrefix: inboxPrefix ?? (ownIdentity ? DEFAULT_NATS.inboxPrefix : settings.nats.inboxPrefix),
  };
  const label: SettingLabel = (field) => labels.get(field) ?? fromFile(field);
  // Credentials in the file's URLs count when they are used.
  const urlIdentity = ownIdentity ? inUrls : credentialsInUrls(servers);
  const hasCredentials = IDENTITY_FIELDS.some((field) => nats[field] !== undefined) || urlIdentity.user !== undefined || urlIdentity.token !== undefined;
  return { nats, label, identity: describeIdentity(nats, label, urlIdentity), hasCredentials };
}

/** Who connects with these settings, in words: names and where secrets come from, never a value. */
export function describeIdentity(nats: Identity, label: SettingLabel, inUrls: { user?: string; token?: string }): string {
  if (nats.credentialsFile !== undefined) return `the credentials in ${nats.credentialsFile} (${label('credentialsFile')})`;
  if (nats.nkeySeed !== undefined) return `the NKey of the seed from ${label('nkeySeed')}`;
  if (nats.token !== undefined) return `the token from ${label('token')}`;
  if (nats.user !== undefined) return `user "${nats.user}" (${label('user')}, ${nats.password === undefined ? 'no password' : `password from ${label('password')}`})`;
  if (inUrls.user !== undefined) return `user "${inUrls.user}" (password in the URL of ${label('servers')})`;
  if (inUrls.token !== undefined) return `the token in the URL of ${label('servers')}`;
  return 'a client without credentials';
}
