// Who the daemon and the CLI connect as: one builder for both. Secrets come by reference (a
// password, a token, an NKey seed) or from a .creds file; credentials written into the server URLs
// are taken out of them and used. Every failure names the setting it came from, never a value.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, nkeys, type Authenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { ConfigError, type DaemonSettings } from '../config/index.js';
import { resolveSecretRef, SecretUnresolvedError, type SecretRef } from '../secrets/index.js';
import { credentialsInUrls } from './server-credentials.js';

type NatsSettings = DaemonSettings['nats'];

/** The settings that say who connects (beside credentials in the server URLs). */
export const IDENTITY_FIELDS = ['user', 'password', 'token', 'nkeySeed', 'credentialsFile'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];
/** Where a setting came from, for messages: `nats.password` by default; the CLI names its flag or variable. */
export type SettingLabel = (field: IdentityField | 'servers') => string;

export interface NatsConnectOptions {
  options: ConnectionOptions & { servers: string[] };
  /** Every secret value the identity holds (password, token, seed), to keep out of anything printed. */
  secrets: string[];
}

const defaultLabel: SettingLabel = (field) => `nats.${field}`;

export function connectOptions(settings: NatsSettings, baseDir: string, label: SettingLabel = defaultLabel): NatsConnectOptions {
  const fromUrls = credentialsInUrls(settings.servers, label('servers'));
  const configured = IDENTITY_FIELDS.filter((field) => settings[field] !== undefined);
  if ((fromUrls.user !== undefined || fromUrls.token !== undefined) && configured.length > 0) {
    throw new ConfigError([`${label('servers')}: a URL carries credentials and ${configured.map(label).join(', ')} ${configured.length === 1 ? 'is' : 'are'} set too: give them once`]);
  }
  // A relative secret file is relative to the config file that names it, like a sync's.
  const secret = (field: IdentityField, ref: SecretRef | undefined) => {
    if (ref === undefined) return undefined;
    try {
      return resolveSecretRef(ref, { baseDir });
    } catch (error) {
      if (error instanceof SecretUnresolvedError) throw new SecretUnresolvedError(`${label(field)}: ${error.message}`);
      throw error;
    }
  };
  const pass = secret('password', settings.password) ?? fromUrls.pass;
  const token = secret('token', settings.token) ?? fromUrls.token;
  const seed = secret('nkeySeed', settings.nkeySeed);
  const authenticator = settings.credentialsFile !== undefined ? credsFile(settings.credentialsFile, label('credentialsFile')) : seed !== undefined ? nkeySeed(seed, label('nkeySeed')) : undefined;
  return {
    options: {
      servers: fromUrls.servers,
      name: settings.name,
      user: settings.user ?? fromUrls.user,
      pass,
      token,
      authenticator,
      // With authorization, each user may subscribe to its own inboxes only (deploy/nats/).
      inboxPrefix: settings.inboxPrefix,
      maxReconnectAttempts: -1,
    },
    secrets: [pass, token, seed].filter((value): value is string => value !== undefined && value !== ''),
  };
}

/** A user seed's authenticator; a seed that is not one is refused here rather than in the handshake. */
function nkeySeed(seed: string, where: string): Authenticator {
  const bytes = new TextEncoder().encode(seed.trim());
  try {
    nkeys.fromSeed(bytes);
  } catch {
    throw new ConfigError([`${where}: not an NKey seed (a user's seed is one line starting with SU, as nsc or nk -gen user writes it)`]);
  }
  return nkeyAuthenticator(bytes);
}

function credsFile(path: string, where: string): Authenticator {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SecretUnresolvedError(`${where}: cannot read the credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const text = bytes.toString('utf8');
  if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
    throw new ConfigError([`${where}: ${path} is not a NATS .creds file (it holds a "BEGIN NATS USER JWT" and a "BEGIN USER NKEY SEED" block, as nsc writes it)`]);
  }
  return credsAuthenticator(bytes);
}
