// Who the CLI connects as, from flags, NATS_* variables and the --config file: a pure function,
// tested on its table of cases. The commands and a real server: cli-roles.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsFrom } from '../../daemon/config/index.js';
import { connectOptions, credentialsInUrls, textWithoutUserinfo, withoutUserinfo } from '../../daemon/nats/index.js';
import { UsageError } from '../../tools/commands/usage.js';
import { cliNats, type NatsValues } from '../../tools/nats-identity.js';

const DAEMON_FILE = '/srv/destinations/.destinationsrc.json';
/** The daemon's own config, as the CLI finds it in the daemon's folder. */
const daemonConfig = settingsFrom(
  { nats: { servers: ['nats://nats.internal:4222'], user: 'destinations', password: { env: 'DESTINATIONS_DAEMON_PASSWORD' }, inboxPrefix: '_INBOX_destinations' } },
  DAEMON_FILE,
  '/srv/destinations',
);
const defaults = settingsFrom({}, undefined, '/work');

const resolveFor = (values: NatsValues, env: NodeJS.ProcessEnv = {}, settings = daemonConfig) => cliNats(settings, values, env, '/home/op');

describe('tools nats identity', () => {
  it("uses the config file's user, password reference and inbox when no credentials are given", () => {
    const { nats, identity, hasCredentials } = resolveFor({});
    assert.equal(nats.user, 'destinations');
    assert.deepEqual(nats.password, { env: 'DESTINATIONS_DAEMON_PASSWORD' });
    assert.equal(nats.inboxPrefix, '_INBOX_destinations');
    assert.equal(identity, `user "destinations" (nats.user in ${DAEMON_FILE}, password from nats.password in ${DAEMON_FILE})`);
    assert.equal(hasCredentials, true);
  });

  it("replaces the file's whole identity, inbox prefix included, with flags: a password by variable name or file, never by value", () => {
    const byVariable = resolveFor({ server: 'nats://a:4222,nats://b:4222', user: 'publisher', 'password-env': 'PUBLISHER_PASSWORD' });
    assert.deepEqual(byVariable.nats.servers, ['nats://a:4222', 'nats://b:4222']);
    assert.equal(byVariable.nats.user, 'publisher');
    assert.deepEqual(byVariable.nats.password, { env: 'PUBLISHER_PASSWORD' });
    assert.equal(byVariable.nats.inboxPrefix, defaults.nats.inboxPrefix, "not the daemon's inbox");
    assert.equal(byVariable.identity, 'user "publisher" (--user, password from --password-env PUBLISHER_PASSWORD)');
    const byFile = resolveFor({ user: 'operator', 'password-file': 'operator.password', 'inbox-prefix': '_INBOX_operator' });
    assert.deepEqual(byFile.nats.password, { file: '/home/op/operator.password' });
    assert.equal(byFile.nats.inboxPrefix, '_INBOX_operator');
    assert.deepEqual(byFile.nats.servers, ['nats://nats.internal:4222'], "the file's servers stay when no --server is given");
  });

  it('reads NATS_URL, NATS_USER, NATS_PASSWORD (as a reference to itself), NATS_TOKEN, NATS_NKEY, NATS_CREDS and NATS_INBOX_PREFIX; a flag beats its variable', () => {
    const env = { NATS_URL: 'nats://env:4222', NATS_USER: 'operator', NATS_PASSWORD: 'x', NATS_INBOX_PREFIX: '_INBOX_operator' };
    const fromEnv = resolveFor({}, env);
    assert.deepEqual(fromEnv.nats.servers, ['nats://env:4222']);
    assert.deepEqual([fromEnv.nats.user, fromEnv.nats.password, fromEnv.nats.inboxPrefix], ['operator', { env: 'NATS_PASSWORD' }, '_INBOX_operator']);
    const flagFirst = resolveFor({ server: 'nats://flag:4222', user: 'publisher', 'inbox-prefix': '_INBOX' }, env);
    assert.deepEqual([flagFirst.nats.servers, flagFirst.nats.user, flagFirst.nats.inboxPrefix], [['nats://flag:4222'], 'publisher', '_INBOX']);
    assert.deepEqual(resolveFor({}, { NATS_TOKEN: 't' }).nats.token, { env: 'NATS_TOKEN' });
    assert.deepEqual(resolveFor({}, { NATS_NKEY: 'keys/user.nk' }).nats.nkeySeed, { file: '/home/op/keys/user.nk' });
    assert.equal(resolveFor({}, { NATS_CREDS: 'user.creds' }).nats.credentialsFile, '/home/op/user.creds');
    assert.equal(resolveFor({}, { NATS_USER: '' }).nats.user, 'destinations', 'an empty variable is not set');
  });

  it('takes the credentials of a --server URL (user:password, or a token) and hands the client URLs without them', () => {
    const cli = resolveFor({ server: 'nats://publisher:p%40ss@127.0.0.1:4222' });
    assert.equal(cli.nats.user, undefined, "the file's user is dropped");
    assert.equal(cli.identity, 'user "publisher" (password in the URL of --server)');
    const { options, secrets } = connectOptions(cli.nats, '/srv/destinations', cli.label);
    assert.deepEqual([options.servers, options.user, options.pass, options.inboxPrefix], [['nats://127.0.0.1:4222'], 'publisher', 'p@ss', defaults.nats.inboxPrefix]);
    assert.deepEqual(secrets, ['p@ss']);
    const token = connectOptions(resolveFor({}, { NATS_URL: 's3cr3t-token@nats.internal:4222' }).nats, '/', () => 'x');
    assert.deepEqual([token.options.servers, token.options.token], [['nats.internal:4222'], 's3cr3t-token']);
  });

  it('refuses two identities at once, a password without a user, and both forms of one secret, as usage errors', () => {
    assert.throws(() => resolveFor({ user: 'a', 'password-env': 'A', 'token-env': 'T' }), (error: Error) => error instanceof UsageError && /one identity at a time: --user and --password-env A; --token-env T/.test(error.message));
    assert.throws(() => resolveFor({ server: 'nats://u:p@h:4222', user: 'u' }), /one identity at a time: --user; the credentials in the URL of --server/);
    assert.throws(() => resolveFor({ nkey: 'a.nk' }, { NATS_CREDS: 'b.creds' }), /one identity at a time: --nkey a\.nk; NATS_CREDS/);
    assert.throws(() => resolveFor({ 'password-env': 'A' }), /--password-env A gives a password without a user: add --user NAME \(or NATS_USER\)/);
    assert.throws(() => resolveFor({ user: 'a', 'password-env': 'A', 'password-file': 'f' }), /give --password-env or --password-file, not both/);
    assert.throws(() => resolveFor({ server: ' , ' }), /--server names no server/);
  });

  it("drops credentials written into the file's URLs when others are given, and refuses URLs that disagree", () => {
    const withUrlCredentials = settingsFrom({ nats: { servers: ['nats://destinations:pw@nats.internal:4222'] } }, DAEMON_FILE, '/srv');
    const cli = resolveFor({ user: 'operator', 'password-env': 'OPERATOR_PASSWORD' }, {}, withUrlCredentials);
    assert.deepEqual(cli.nats.servers, ['nats://nats.internal:4222']);
    assert.equal(resolveFor({}, {}, withUrlCredentials).identity, 'user "destinations" (password in the URL of nats.servers in /srv/destinations/.destinationsrc.json)');
    assert.throws(() => credentialsInUrls(['nats://a:1@h1', 'nats://b:2@h2']), /the URLs carry different credentials/);
  });

  it('never prints a URL with its userinfo', () => {
    assert.equal(withoutUserinfo('nats://publisher:hunter2@nats.internal:4222'), 'nats://nats.internal:4222');
    assert.equal(withoutUserinfo('tok@127.0.0.1:4222'), '127.0.0.1:4222');
    assert.equal(withoutUserinfo('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
    assert.equal(textWithoutUserinfo('cannot reach nats://u:p@h:1, tls://t@h:2'), 'cannot reach nats://h:1, tls://h:2');
  });

  it('has every default when there is no config file: no credentials', () => {
    const cli = resolveFor({}, {}, defaults);
    assert.deepEqual([cli.hasCredentials, cli.identity], [false, 'a client without credentials']);
    assert.equal(cli.label('password'), 'nats.password in the defaults (no config file)');
  });
});
