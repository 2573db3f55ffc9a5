// NATS identities beyond user and password, for a real nats-server: an NKey user, and JWT users of
// an operator-mode server (what `nsc` sets up), signed here with @nats-io/nkeys (through
// nats-core) so the tests need neither nsc nor a key on disk beforehand.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/nats-core';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface NkeyUser {
  publicKey: string;
  seed: string;
}

export function nkeyUser(): NkeyUser {
  const pair = nkeys.createUser();
  return { publicKey: pair.getPublicKey(), seed: text(pair.getSeed()) };
}

/** A nats-server config (JetStream on) whose one user is known by its NKey. */
export function writeNkeyServerConfig(dir: string, user: NkeyUser): string {
  const file = join(dir, 'nkey-server.conf');
  writeFileSync(file, `port: 4222\njetstream {\n  store_dir: "${join(dir, 'jetstream')}"\n}\nauthorization {\n  users: [ { nkey: ${user.publicKey} } ]\n}\n`);
  return file;
}

/** A JWT as the NATS servers read it: ed25519-nkey, signed by the issuer's key. */
function jwt(issuer: KeyPair, subject: KeyPair, name: string, nats: Record<string, unknown>): string {
  const header = base64url({ typ: 'JWT', alg: 'ed25519-nkey' });
  const claims = base64url({ jti: `${name}-${Date.now()}`, iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), sub: subject.getPublicKey(), name, nats: { ...nats, version: 2 } });
  const signature = Buffer.from(issuer.sign(new TextEncoder().encode(`${header}.${claims}`))).toString('base64url');
  return `${header}.${claims}.${signature}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

export interface OperatorMode {
  /** The server config: a trusted operator, a system account and one account with JetStream. */
  config: string;
  /** The text of a .creds file of a new user of that account. */
  userCreds(): string;
  /** A .creds file of a user of an account this server does not trust. */
  strangerCreds(): string;
}

export function writeOperatorModeConfig(dir: string): OperatorMode {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const config = join(dir, 'operator-server.conf');
  writeFileSync(
    config,
    [
      'port: 4222',
      'jetstream {',
      `  store_dir: "${join(dir, 'jetstream')}"`,
      '}',
      `operator: "${jwt(operator, operator, 'operator', { type: 'operator' })}"`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  ${system.getPublicKey()}: "${jwt(operator, system, 'SYS', { type: 'account', limits: UNLIMITED })}"`,
      `  ${account.getPublicKey()}: "${jwt(operator, account, 'app', { type: 'account', limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } })}"`,
      '}',
      '',
    ].join('\n'),
  );
  const credsOf = (issuer: KeyPair) => {
    const user = nkeys.createUser();
    const token = jwt(issuer, user, 'cli', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
    return `-----BEGIN NATS USER JWT-----\n${token}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${text(user.getSeed())}\n------END USER NKEY SEED------\n`;
  };
  return { config, userCreds: () => credsOf(account), strangerCreds: () => credsOf(nkeys.createAccount()) };
}
