// The CLI's identity per role, against real servers: the shipped authorization of deploy/nats (run
// as shipped, so this also holds for whatever that file becomes), an NKey user, and the JWT users of
// an operator-mode server (.creds). Each role works with the commands docs/cli.md shows.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { credsAuthenticator, nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { settingsFrom } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { testEvent } from '../helpers/destination-folder.js';
import { tempDir } from '../helpers/folders.js';
import { nkeyUser, writeNkeyServerConfig, writeOperatorModeConfig } from '../helpers/nats-identities.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const SHIPPED_CONFIG = join(PACKAGE_ROOT, 'deploy', 'nats', 'nats-server.conf');
const PASSWORDS = {
  DESTINATIONS_PUBLISHER_PASSWORD: 'publisher-pw-5e1b9',
  DESTINATIONS_DAEMON_PASSWORD: 'daemon-pw-7c20d',
  DESTINATIONS_OPERATOR_PASSWORD: 'operator-pw-93fa4',
};
const DEFAULTS = settingsFrom({}, undefined, '.');

/** Exactly one line on stderr, and no stack trace. */
function oneLine(result: CliResult): string {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr:\n${result.stderr}`);
  return lines[0];
}

const temp = tempDir('destinations-cli-roles-');
after(() => temp.remove());

/** A file of `count` events with insert_ids of their own (`prefix-<n>`). */
function eventsFile(name: string, count: number): string {
  const file = join(temp.dir, name);
  writeFileSync(file, Array.from({ length: count }, (_, index) => JSON.stringify(testEvent(index, { insert_id: `${name}-${index}` }))).join('\n'));
  return file;
}

describe('tools cli roles - deploy/nats as shipped', () => {
  let server: NatsServerHandle;
  let daemonUser: NatsConnection;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) => runCli(args, { env: { ...PASSWORDS, ...env }, cwd });
  const publisherFlags = () => ['--server', server.url, '--user', 'publisher', '--password-env', 'DESTINATIONS_PUBLISHER_PASSWORD'];
  const operatorFlags = () => ['--server', server.url, '--user', 'operator', '--password-env', 'DESTINATIONS_OPERATOR_PASSWORD', '--inbox-prefix', '_INBOX_operator'];
  /** A dead letter as the daemon writes one (its user may publish dead letters); its sequence. */
  const plantDeadLetter = async (insertId: string) => {
    const letter = {
      format: 1,
      deadAt: new Date().toISOString(),
      destination: 'hook',
      sync: 'hook.ok',
      definitionVersion: 'abc123',
      reason: 'http_4xx',
      lastStatus: 400,
      attempts: 1,
      insertId,
      event: testEvent(1, { insert_id: insertId }),
      source: { stream: 'EVENTS', subject: 'events.web', sequence: 1 },
    };
    return String((await daemonUser.request('dead.hook.ok', JSON.stringify(letter))).json<{ seq: number }>().seq);
  };
  const eventsStored = async () => (await (await jetstreamManager(daemonUser)).streams.info(DEFAULTS.stream.name)).state.messages;

  before(async () => {
    server = await startNatsServer({ config: SHIPPED_CONFIG, env: PASSWORDS });
    // The streams as the daemon creates them, under its own user.
    daemonUser = await connect({ servers: server.url, user: 'destinations', pass: PASSWORDS.DESTINATIONS_DAEMON_PASSWORD, inboxPrefix: '_INBOX_destinations' });
    await ensureStreams(await jetstreamManager(daemonUser), DEFAULTS.stream, createLogger({ level: 'error', write: () => undefined }));
  });
  after(async () => {
    await daemonUser?.close();
    await server?.stop();
  });

  it('publishes as the publisher with flags, the password named by its variable; republishing stores nothing, as each Nats-Msg-Id is the insert_id', async () => {
    const file = eventsFile('forty', 40);
    const before = await eventsStored();
    const first = await cli(['publish', file, ...publisherFlags()]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^published 40 events to events\.cli: 40 stored in stream EVENTS at sequences \d+ to \d+\n$/);
    assert.equal(first.stderr, '');
    assert.equal(await eventsStored(), before + 40);
    const again = await cli(['publish', file, ...publisherFlags()]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "published 40 events to events.cli: 0 stored in stream EVENTS, 40 dropped as duplicates (their insert_id was published within the stream's duplicate window)\n");
    assert.equal(await eventsStored(), before + 40, 'no duplicate stored');
  });

  it('publishes with the credentials written into a --server URL', async () => {
    const before = await eventsStored();
    const url = server.url.replace('nats://', `nats://publisher:${PASSWORDS.DESTINATIONS_PUBLISHER_PASSWORD}@`);
    const fromUrl = await cli(['publish', eventsFile('url', 3), '--server', url]);
    assert.equal(fromUrl.code, 0, fromUrl.stderr);
    assert.match(fromUrl.stdout, /^published 3 events to events\.cli: 3 stored/);
    assert.equal(await eventsStored(), before + 3);
  });

  it("refuses to publish as the daemon's user found in .destinationsrc.json, naming the publisher role; flags in that folder replace its identity and inbox", async () => {
    const folder = join(temp.dir, 'daemon-folder');
    mkdirSync(folder);
    writeFileSync(
      join(folder, '.destinationsrc.json'),
      JSON.stringify({ nats: { servers: [server.url], user: 'destinations', password: { env: 'DESTINATIONS_DAEMON_PASSWORD' }, inboxPrefix: '_INBOX_destinations' } }),
    );
    const file = eventsFile('from-daemon-folder', 1);
    const refused = await cli(['publish', file], {}, folder);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(
      oneLine(refused),
      /^destinations publish: NATS at nats:\/\/127\.0\.0\.1:\d+ refused user "destinations" \(nats\.user in .*\.destinationsrc\.json, password from nats\.password in .*\) permission to publish to "events\.cli" \(Permissions Violation\): publish needs the publisher role: with deploy\/nats, --user publisher --password-env DESTINATIONS_PUBLISHER_PASSWORD, or --config ROLE_FILE/,
    );
    const asPublisher = await cli(['publish', file, '--user', 'publisher', '--password-env', 'DESTINATIONS_PUBLISHER_PASSWORD'], {}, folder);
    assert.equal(asPublisher.code, 0, asPublisher.stderr);
  });

  it('lists, shows and replays dead letters as the operator with a role file, and with NATS_* variables', async () => {
    const seq = await plantDeadLetter('insert-dead');
    const roleFile = join(temp.dir, 'operator.json');
    writeFileSync(roleFile, JSON.stringify({ nats: { servers: [server.url], user: 'operator', password: { env: 'DESTINATIONS_OPERATOR_PASSWORD' }, inboxPrefix: '_INBOX_operator' } }));
    const [listed, fromEnv] = await Promise.all([
      cli(['dead', 'list', '--config', roleFile]),
      cli(['dead', 'list'], { NATS_URL: server.url, NATS_USER: 'operator', NATS_PASSWORD: PASSWORDS.DESTINATIONS_OPERATOR_PASSWORD, NATS_INBOX_PREFIX: '_INBOX_operator' }),
    ]);
    for (const result of [listed, fromEnv]) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^\\s+${seq}\\s+\\S+\\s+hook\\.ok\\s+http_4xx status 400\\s+attempts 1\\s+insert-dead`, 'm'));
    }
    const shown = await cli(['dead', 'show', seq, '--config', roleFile]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).insertId, 'insert-dead');
    const before = await eventsStored();
    const replayed = await cli(['dead', 'replay', seq, '--config', roleFile]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(replayed.stdout, `replayed ${seq} to hook.ok (insert-dead)\n`);
    assert.equal(await eventsStored(), before + 1, 'the event is back in the events stream, on its sync\'s replay subject');
  });

  it('runs the commands docs/cli.md shows for the publisher and the operator, as written there', async () => {
    const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'cli.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(docs.slice(docs.indexOf('## Identity')))![1];
    const roleFile = join(temp.dir, 'documented-operator.json');
    const placed = (text: string) => text.replaceAll('nats://nats.internal:4222', server.url).replaceAll('~/.config/destinations/operator.json', roleFile);
    writeFileSync(roleFile, placed(/<<'JSON'\n([\s\S]*?)\nJSON\n/.exec(block)![1]));
    const events = eventsFile('documented', 2);
    const seq = await plantDeadLetter('insert-documented');
    const commands = block
      .replace(/<<'JSON'\n[\s\S]*?\nJSON\n/, '\n')
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => /^(\w+=\S+ )*destinations /.test(line));
    assert.equal(commands.length, 5, commands.join('\n'));
    for (const line of commands) {
      const words = placed(line).replace('events.json', events).replace('replay 42', `replay ${seq}`).split(/\s+/);
      const at = words.indexOf('destinations');
      // `NATS_PASSWORD=…` is the publisher's (the only variable the block leaves to the reader).
      const env = Object.fromEntries(words.slice(0, at).map((word) => word.split('=')).map(([name, value]) => [name, value === '…' ? PASSWORDS.DESTINATIONS_PUBLISHER_PASSWORD : value]));
      const result = await cli(words.slice(at + 1), env);
      assert.equal(result.code, 0, `${line}\n${result.stderr}`);
    }
  });

  it("names the inbox prefix when the operator's replies would go to _INBOX", async () => {
    const result = await cli(['dead', 'list', '--server', server.url, '--user', 'operator', '--password-env', 'DESTINATIONS_OPERATOR_PASSWORD']);
    assert.equal(result.code, 7, result.stderr);
    assert.match(oneLine(result), /permission to subscribe to its replies on "_INBOX\.>" \(Permissions Violation\): give the inbox prefix this user may read with --inbox-prefix or NATS_INBOX_PREFIX \(_INBOX_operator for the operator of deploy\/nats\)/);
  });

  it('refuses the publisher the dead letters and the operator publishing, each naming the role its command needs', async () => {
    const [publisher, operator] = await Promise.all([cli(['dead', 'list', ...publisherFlags()]), cli(['publish', eventsFile('operator', 1), ...operatorFlags()])]);
    assert.equal(publisher.code, 7, publisher.stderr);
    assert.match(oneLine(publisher), /refused user "publisher" .* permission to publish to "\$JS\.API\.INFO" .*: dead list needs the operator role: with deploy\/nats, --user operator --password-env DESTINATIONS_OPERATOR_PASSWORD --inbox-prefix _INBOX_operator/);
    assert.equal(operator.code, 7, operator.stderr);
    assert.match(oneLine(operator), /refused user "operator" .* permission to publish to "events\.cli" .*: publish needs the publisher role/);
  });
});

describe('tools cli roles - NKey and .creds identities', () => {
  it('publishes as an NKey user (--nkey, NATS_NKEY) with Nats-Msg-Id set to the insert_id; another key is refused, a file that is no seed is a bad file', async () => {
    const dir = join(temp.dir, 'nkey');
    mkdirSync(dir);
    const user = nkeyUser();
    const server = await startNatsServer({ config: writeNkeyServerConfig(dir, user) });
    const connection = await connect({ servers: server.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(user.seed)) });
    try {
      const jsm = await jetstreamManager(connection);
      await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
      const seedFile = join(dir, 'user.nk');
      writeFileSync(seedFile, `${user.seed}\n`);
      const stranger = join(dir, 'stranger.nk');
      writeFileSync(stranger, nkeyUser().seed);
      const notSeed = join(dir, 'not-a-seed.nk');
      writeFileSync(notSeed, 'planted-not-a-seed-4471');
      const [byFlag, byEnv, refused, bad] = await Promise.all([
        runCli(['publish', eventsFile('nkey-flag', 2), '--server', server.url, '--nkey', seedFile]),
        runCli(['publish', eventsFile('nkey-env', 1), '--server', server.url], { env: { NATS_NKEY: seedFile } }),
        runCli(['publish', eventsFile('nkey-stranger', 1), '--server', server.url, '--nkey', stranger]),
        runCli(['publish', eventsFile('nkey-bad', 1), '--server', server.url, '--nkey', notSeed]),
      ]);
      assert.equal(byFlag.code, 0, byFlag.stderr);
      assert.equal(byEnv.code, 0, byEnv.stderr);
      const stored = await Promise.all([1, 2, 3].map((seq) => jsm.streams.getMessage('EVENTS', { seq })));
      assert.deepEqual(
        stored.map((message) => message!.header?.get('Nats-Msg-Id')).sort(),
        ['nkey-env-0', 'nkey-flag-0', 'nkey-flag-1'],
        'each message carries its insert_id as Nats-Msg-Id',
      );
      assert.equal(refused.code, 6, refused.stderr);
      assert.match(oneLine(refused), new RegExp(`refused the NKey of the seed from --nkey ${stranger.replace(/[.]/g, '\\.')}: Authorization Violation`));
      assert.equal(bad.code, 3, bad.stderr);
      assert.match(oneLine(bad), /--nkey .*not-a-seed\.nk: not an NKey seed/);
      assert.doesNotMatch(bad.stderr, /planted-not-a-seed/);
    } finally {
      await connection.close();
      await server.stop();
    }
  });

  it("publishes with a .creds file of an operator-mode server (--creds, NATS_CREDS); a stranger's is refused, a missing one is unresolved, a broken one is a bad file", async () => {
    const dir = join(temp.dir, 'operator-mode');
    mkdirSync(dir);
    const mode = writeOperatorModeConfig(dir);
    const server = await startNatsServer({ config: mode.config });
    const own = join(dir, 'cli.creds');
    writeFileSync(own, mode.userCreds());
    const connection = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(mode.userCreds())) });
    try {
      await (await jetstreamManager(connection)).streams.add({ name: 'EVENTS', subjects: ['events.>'] });
      const stranger = join(dir, 'stranger.creds');
      writeFileSync(stranger, mode.strangerCreds());
      const broken = join(dir, 'broken.creds');
      writeFileSync(broken, 'planted-creds-garbage-9921');
      const [byFlag, byEnv, refused, missing, bad] = await Promise.all([
        runCli(['publish', eventsFile('creds-flag', 1), '--server', server.url, '--creds', own]),
        runCli(['publish', eventsFile('creds-env', 1), '--server', server.url], { env: { NATS_CREDS: own } }),
        runCli(['publish', eventsFile('creds-stranger', 1), '--server', server.url, '--creds', stranger]),
        runCli(['publish', eventsFile('creds-missing', 1), '--server', server.url, '--creds', join(dir, 'none.creds')]),
        runCli(['publish', eventsFile('creds-broken', 1), '--server', server.url, '--creds', broken]),
      ]);
      assert.equal(byFlag.code, 0, byFlag.stderr);
      assert.match(byFlag.stdout, /^published 1 event to events\.cli: 1 stored in stream EVENTS at sequence \d+\n$/);
      assert.equal(byEnv.code, 0, byEnv.stderr);
      assert.equal(refused.code, 6, refused.stderr);
      assert.match(oneLine(refused), /refused the credentials in .*stranger\.creds \(--creds .*\): Authorization Violation/);
      assert.equal(missing.code, 4, missing.stderr);
      assert.match(oneLine(missing), /--creds .*none\.creds: cannot read the credentials file .*none\.creds: ENOENT/);
      assert.equal(bad.code, 3, bad.stderr);
      assert.match(oneLine(bad), /broken\.creds is not a NATS \.creds file/);
      assert.doesNotMatch(bad.stderr, /planted-creds-garbage/);
    } finally {
      await connection.close();
      await server.stop();
    }
  });
});
