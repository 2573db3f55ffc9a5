// An operator's mistakes, run into by every command that meets them: an unset secret, an
// unreachable server, credentials refused, a permission refused, a bad file. Each is one line on
// stderr naming the fix, with its own exit status (tools/exit-codes.ts), no stack trace unless
// --debug, and none of the distinctive secrets planted here in any output. Plus: the exit-code table
// of docs/cli.md is the code's, and --help works on every command.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { settingsFrom } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { secretForms } from '../../daemon/secrets/index.js';
import { EXIT, EXIT_MEANINGS, type ExitName } from '../../tools/exit-codes.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { testEvent } from '../helpers/destination-folder.js';
import { tempDir } from '../helpers/folders.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const SHIPPED_CONFIG = join(PACKAGE_ROOT, 'deploy', 'nats', 'nats-server.conf');
/** Distinctive values that must never be printed, in any form. */
const PLANTED = {
  DESTINATIONS_PUBLISHER_PASSWORD: 'planted-publisher-pw-0c7e',
  DESTINATIONS_DAEMON_PASSWORD: 'planted-daemon-pw-51b2',
  DESTINATIONS_OPERATOR_PASSWORD: 'planted-operator-pw-d93a',
  WRONG_PASSWORD: 'planted-wrong-pw-6f18',
  ADMIN_TOKEN: 'planted-admin-token-27ce',
};
const URL_USER = 'planted-url-user-8a41';
const URL_PASSWORD = 'planted-url-pw-3be9';
const SECRETS = [...Object.values(PLANTED), URL_USER, URL_PASSWORD];

interface Case {
  command: string;
  mistake: ExitName;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** What the one line says (the fix included). */
  says: RegExp;
}

function assertNoSecret(result: CliResult, what: string): void {
  const output = result.stdout + result.stderr;
  for (const secret of SECRETS) for (const form of secretForms(secret)) assert.ok(!output.includes(form), `${what} printed a secret (${form}):\n${output}`);
}

/** Runs `tasks` a few at a time (each is a node process; the machine has two cores). */
async function inBatches<T>(tasks: Array<() => Promise<T>>, size = 4): Promise<T[]> {
  const results: T[] = [];
  for (let at = 0; at < tasks.length; at += size) results.push(...(await Promise.all(tasks.slice(at, at + size).map((task) => task()))));
  return results;
}

describe('tools cli failures - one line, its own exit status, no secret', () => {
  const temp = tempDir('destinations-cli-failures-');
  const file = (name: string) => join(temp.dir, name);
  let server: NatsServerHandle;
  let unauthorised: TestSink;
  let nobody: string;

  before(async () => {
    server = await startNatsServer({ config: SHIPPED_CONFIG, env: PLANTED });
    const daemonUser = await connect({ servers: server.url, user: 'destinations', pass: PLANTED.DESTINATIONS_DAEMON_PASSWORD, inboxPrefix: '_INBOX_destinations' });
    await ensureStreams(await jetstreamManager(daemonUser), settingsFrom({}, undefined, '.').stream, createLogger({ level: 'error', write: () => undefined }));
    await daemonUser.close();
    // An admin port that refuses the token (a real HTTP server answering 401).
    unauthorised = await startTestSink(() => answer.status(401));
    nobody = `127.0.0.1:${await freePort()}`;
    writeFileSync(file('events.json'), JSON.stringify(testEvent(1)));
    writeFileSync(file('not-json.json'), `${JSON.stringify(testEvent(2))}\nnot json\n`);
    writeFileSync(file('broken.json'), '{"nats": ');
    const config = (name: string, nats: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      writeFileSync(file(name), JSON.stringify({ nats, destinationsDir: '.', admin: { enabled: false }, ...extra }));
    config('daemon-unset.json', { servers: [server.url], user: 'destinations', password: { env: 'UNSET_PASSWORD_VARIABLE' }, inboxPrefix: '_INBOX_destinations' });
    config('daemon-nobody.json', { servers: [`nats://${URL_USER}:${URL_PASSWORD}@${nobody}`] });
    config('daemon-wrong.json', { servers: [server.url], user: 'destinations', password: { env: 'WRONG_PASSWORD' }, inboxPrefix: '_INBOX_destinations' });
    config('daemon-as-publisher.json', { servers: [server.url], user: 'publisher', password: { env: 'DESTINATIONS_PUBLISHER_PASSWORD' } });
    writeFileSync(file('status-unset.json'), JSON.stringify({ admin: { token: { env: 'UNSET_TOKEN_VARIABLE' } } }));
    writeFileSync(file('status-token.json'), JSON.stringify({ admin: { token: { env: 'ADMIN_TOKEN' } } }));
  });
  after(async () => {
    await unauthorised?.close();
    await server?.stop();
    temp.remove();
  });

  const operator = (password = 'DESTINATIONS_OPERATOR_PASSWORD') => ['--server', server.url, '--user', 'operator', '--password-env', password, '--inbox-prefix', '_INBOX_operator'];
  const publisher = () => ['--server', server.url, '--user', 'publisher', '--password-env', 'DESTINATIONS_PUBLISHER_PASSWORD'];
  const unreachable = () => ['--server', `nats://${URL_USER}:${URL_PASSWORD}@${nobody}`];
  const NATS_MISTAKES = {
    secretUnset: /--password-env UNSET_PASSWORD_VARIABLE: environment variable UNSET_PASSWORD_VARIABLE is not set: set it, or give the secret by another reference$/,
    unreachable: /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(connection refused\): start the server, or give its address with --server URL or NATS_URL$/,
    authRefused: /NATS at nats:\/\/127\.0\.0\.1:\d+ refused user "operator" \(--user, password from --password-env WRONG_PASSWORD\): Authorization Violation; check them, or give them with --user NAME/,
    permissionRefused: /refused user "publisher" .* permission to publish to ".*" \(Permissions Violation\): .* needs the operator role/,
    badFile: /broken\.json: not valid JSON: /,
  };

  const cases = (): Case[] => [
    // publish
    { command: 'publish', mistake: 'secretUnset', args: ['publish', file('events.json'), '--server', server.url, '--user', 'publisher', '--password-env', 'UNSET_PASSWORD_VARIABLE'], says: NATS_MISTAKES.secretUnset },
    { command: 'publish', mistake: 'unreachable', args: ['publish', file('events.json'), ...unreachable()], says: NATS_MISTAKES.unreachable },
    { command: 'publish', mistake: 'authRefused', args: ['publish', file('events.json'), '--server', server.url.replace('nats://', `nats://publisher:${PLANTED.WRONG_PASSWORD}@`)], says: /refused user "publisher" \(password in the URL of --server\): Authorization Violation; check them/ },
    { command: 'publish', mistake: 'permissionRefused', args: ['publish', file('events.json'), ...operator()], says: /refused user "operator" .* permission to publish to "events\.cli" \(Permissions Violation\): publish needs the publisher role: with deploy\/nats, --user publisher --password-env DESTINATIONS_PUBLISHER_PASSWORD/ },
    { command: 'publish', mistake: 'badFile', args: ['publish', file('missing.json'), ...publisher()], says: /missing\.json: no such file$/ },
    { command: 'publish', mistake: 'badFile', args: ['publish', file('not-json.json'), ...publisher()], says: /not-json\.json:2: not JSON \(.*\): a file holds one event, a JSON array of events, or one event per line$/ },
    { command: 'publish', mistake: 'badFile', args: ['publish', file('events.json'), '--config', file('broken.json')], says: NATS_MISTAKES.badFile },
    // dead list, show, replay
    ...[['list'], ['show', '1'], ['replay', '1']].flatMap(([action, ...rest]): Case[] => [
      { command: `dead ${action}`, mistake: 'secretUnset', args: ['dead', action, ...rest, ...operator('UNSET_PASSWORD_VARIABLE')], says: NATS_MISTAKES.secretUnset },
      { command: `dead ${action}`, mistake: 'unreachable', args: ['dead', action, ...rest, ...unreachable()], says: NATS_MISTAKES.unreachable },
      { command: `dead ${action}`, mistake: 'authRefused', args: ['dead', action, ...rest, ...operator('WRONG_PASSWORD')], says: NATS_MISTAKES.authRefused },
      { command: `dead ${action}`, mistake: 'permissionRefused', args: ['dead', action, ...rest, ...publisher()], says: NATS_MISTAKES.permissionRefused },
      { command: `dead ${action}`, mistake: 'badFile', args: ['dead', action, ...rest, '--config', file('broken.json')], says: NATS_MISTAKES.badFile },
    ]),
    // status (the admin port: no NATS permissions)
    { command: 'status', mistake: 'secretUnset', args: ['status', '--config', file('status-unset.json')], says: /admin\.token in .*status-unset\.json: environment variable UNSET_TOKEN_VARIABLE is not set: set it/ },
    { command: 'status', mistake: 'unreachable', args: ['status', '--url', `http://${URL_USER}:${URL_PASSWORD}@${nobody}`], says: /cannot reach the daemon's admin port at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the daemon running\?/ },
    { command: 'status', mistake: 'authRefused', args: ['status', '--config', file('status-token.json'), '--url', unauthorised.url], says: /requires the admin token: set admin\.token in the config .* as the daemon has it$/ },
    { command: 'status', mistake: 'badFile', args: ['status', '--config', file('broken.json')], says: NATS_MISTAKES.badFile },
    // daemon
    { command: 'daemon', mistake: 'secretUnset', args: ['daemon', '--config', file('daemon-unset.json')], says: /nats\.password in .*daemon-unset\.json: environment variable UNSET_PASSWORD_VARIABLE is not set: set it/ },
    { command: 'daemon', mistake: 'unreachable', args: ['daemon', '--config', file('daemon-nobody.json')], says: /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(connection refused\); start a server there/ },
    { command: 'daemon', mistake: 'authRefused', args: ['daemon', '--config', file('daemon-wrong.json')], says: /NATS at nats:\/\/127\.0\.0\.1:\d+ refused the daemon's credentials \(Authorization Violation\): check nats\.user/ },
    { command: 'daemon', mistake: 'permissionRefused', args: ['daemon', '--config', file('daemon-as-publisher.json')], says: /refused the daemon's user "publisher" permission to publish to ".*" \(Permissions Violation\): the daemon needs the permissions of the user destinations/ },
    { command: 'daemon', mistake: 'badFile', args: ['daemon', '--config', file('broken.json')], says: NATS_MISTAKES.badFile },
    // send (an author's tool that meets one of them)
    { command: 'send', mistake: 'secretUnset', args: ['send', 'destinations/webhook', '--event', file('events.json')], env: { WEBHOOK_SIGNING_SECRET: '' }, says: /refusing to send: secret parameter signing_secret is not resolved: environment variable WEBHOOK_SIGNING_SECRET is not set \(set it/ },
  ];

  it('answers each mistake of each command with one line naming the fix, its exit status, no stack trace and no secret', async () => {
    const all = cases();
    const results = await inBatches(all.map((each) => () => runCli(each.args, { env: { ...PLANTED, ...each.env } })));
    const problems: string[] = [];
    for (const [index, each] of all.entries()) {
      const result = results[index];
      const what = `${each.command} into ${each.mistake}`;
      assertNoSecret(result, what);
      const lines = result.stderr.trimEnd().split('\n').filter((line) => !line.startsWith('{'));
      if (result.code !== EXIT[each.mistake]) problems.push(`${what}: exit ${result.code}, not ${EXIT[each.mistake]}: ${result.stderr}`);
      else if (lines.length !== 1) problems.push(`${what}: ${lines.length} lines on stderr:\n${result.stderr}`);
      else if (!each.says.test(lines[0])) problems.push(`${what}: ${lines[0]}\n  does not match ${each.says}`);
      if (/\n\s+at /.test(result.stderr)) problems.push(`${what}: a stack trace without --debug`);
    }
    assert.deepEqual(problems, []);
    // Every mistake of the table is met by some command.
    assert.deepEqual(new Set(all.map((each) => each.mistake)), new Set(Object.keys(EXIT).filter((name) => EXIT[name as ExitName] > EXIT.usage)));
  });

  it('prints the stack trace with --debug, still without secrets; an unexpected error is one line and exit 1 without it', async () => {
    const [debug, unexpected, unexpectedDebug] = await Promise.all([
      runCli(['publish', file('events.json'), '--server', server.url.replace('nats://', `nats://publisher:${PLANTED.WRONG_PASSWORD}@`), '--debug'], { env: PLANTED }),
      runCli(['publish', file('events.json'), ...publisher(), '--subject', 'events.with space'], { env: PLANTED }),
      runCli(['publish', file('events.json'), ...publisher(), '--subject', 'events.with space', '--debug'], { env: PLANTED }),
    ]);
    assert.equal(debug.code, EXIT.authRefused);
    assert.match(debug.stderr, /\n\s+at .*\n/);
    assert.match(debug.stderr, /caused by: AuthorizationError: Authorization Violation/);
    assert.equal(unexpected.code, EXIT.failed);
    assert.match(unexpected.stderr, /^destinations publish: .*subject.* \(run it again with --debug for the stack trace\)\n$/);
    assert.equal(unexpectedDebug.code, EXIT.failed);
    assert.match(unexpectedDebug.stderr, /\n\s+at /);
    for (const result of [debug, unexpected, unexpectedDebug]) assertNoSecret(result, '--debug');
  });
});

describe('tools cli - exit statuses and --help', () => {
  it("documents every exit status of tools/exit-codes.ts in docs/cli.md's table, as the code says it", () => {
    const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'cli.md'), 'utf8');
    const table = docs.slice(docs.indexOf('## Exit codes'));
    const rows = [...table.matchAll(/^\| (\d+) \| `(\w+)` \| (.+) \|$/gm)].map(([, code, name, meaning]) => [Number(code), name, meaning]);
    assert.deepEqual(rows, Object.entries(EXIT).map(([name, code]) => [code, name, EXIT_MEANINGS[name as ExitName]]));
  });

  it('answers --help on every command, and on each dead action, with its usage and exit 0', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map(([, name]) => name);
    assert.ok(commands.length >= 10, top.stdout);
    const asked = [...commands.map((name) => [name, '--help']), ['dead', 'list', '--help'], ['dead', 'replay', '-h'], ['sink', '-h']];
    const results = await inBatches(asked.map((args) => () => runCli(args)));
    for (const [index, args] of asked.entries()) {
      assert.equal(results[index].code, 0, `${args.join(' ')}: ${results[index].stderr}`);
      assert.match(results[index].stdout, new RegExp(`^usage: destinations ${args[0]}`), args.join(' '));
      assert.equal(results[index].stderr, '', args.join(' '));
    }
  });
});
