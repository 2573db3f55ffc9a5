// The auth seam's promise: a scheme is a folder and one registration. A toy scheme from a test
// fixture, registered and nothing else changed, is counted by the loader, stamped by the daemon on
// every attempt, shown by preview, and its secret header is redacted in the dead letter.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { authSettingsProblems, registerAuthScheme } from '../../daemon/auth/index.js';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { loadDestination } from '../../daemon/registry/index.js';
import { run as preview } from '../../tools/commands/preview.js';
import { TOY_HEADERS, toyScheme, toySignature } from '../fixtures/toy-auth-scheme.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type RecordedRequest } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitForStreamCount } from '../helpers/wait.js';

const TOY_SECRET = 'toy-secret-of-the-test-sync';
const nats = useNatsServer();

let unregister: () => void;
before(() => {
  process.env.TEST_TOY_TOKEN = 'tok-toy-test';
  process.env.TEST_TOY_SECRET = TOY_SECRET;
  unregister = registerAuthScheme(toyScheme);
});
after(() => unregister());

/** A destination folder that uses the toy scheme (it declares toy_secret), its sync aimed at `endpoint`. */
function toyFolder(root: string, endpoint: string, secret = { env: 'TEST_TOY_SECRET' }): string {
  const base = testDefinition();
  return writeDestinationFolder(root, 'toy', {
    definition: { ...base, parameters: [...(base.parameters as object[]), { name: 'toy_secret', displayName: 'Toy secret', secret: true }] },
    syncs: { main: { parameters: { endpoint, token: { env: 'TEST_TOY_TOKEN' }, toy_secret: secret } } },
  });
}

/** The receiver's check of one request. */
function verified(request: RecordedRequest): boolean {
  const time = String(request.headers[TOY_HEADERS.time]);
  return request.headers[TOY_HEADERS.signature] === toySignature(TOY_SECRET, time, request.body);
}

describe('auth - a scheme registered from outside the daemon', () => {
  it('is counted by the loader (its parameter used) and checks the sync settings it is prepared with', async () => {
    const folder = makeDestinationsDir();
    try {
      const load = await loadDestination(toyFolder(folder.dir, 'http://127.0.0.1:9'), { env: process.env });
      assert.deepEqual(load.problems.filter((problem) => problem.severity === 'error'), []);
      assert.deepEqual(load.parameterUsage!.find((row) => row.name === 'toy_secret')?.usedIn, ['toy signing']);
      const [sync] = load.destination!.syncs;
      assert.deepEqual(authSettingsProblems(sync), []);
      const short = await loadDestination(toyFolder(folder.dir, 'http://127.0.0.1:9', { env: 'TEST_TOY_TOKEN' }), { env: { ...process.env, TEST_TOY_TOKEN: 'short' } });
      assert.deepEqual(authSettingsProblems(short.destination!.syncs[0]).map((problem) => [problem.pointer, problem.message]), [['/parameters/toy_secret', 'parameter toy_secret is shorter than 8 characters']]);
    } finally {
      folder.remove();
    }
  });

  it('is stamped by the daemon on every attempt, and its secret header is redacted in the dead letter', async () => {
    // The first attempt is answered 503 (retried in process), the second 400 echoing the signature: dead-lettered.
    const sink = await startTestSink((request, index) => (index === 0 ? answer.status(503, { 'retry-after': '1' }) : { status: 400, body: `bad signature ${request.headers[TOY_HEADERS.signature]}` }));
    const folder = makeDestinationsDir();
    toyFolder(folder.dir, sink.url);
    const { subject, ...stream } = nats.streams('toy');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(3)));
      const [first, retry] = await sink.waitForRequests(2);
      assert.ok(verified(first) && verified(retry), 'the receiver verifies both attempts');
      assert.notEqual(retry.headers[TOY_HEADERS.time], first.headers[TOY_HEADERS.time], 'stamped anew for the retry');
      await waitForStreamCount(nats.connection, stream.deadLetterStream, 1);
      const jsm = await jetstreamManager(nats.connection);
      const letter = (await jsm.streams.getMessage(stream.deadLetterStream, { seq: 1 }))!.json<DeadLetter>();
      assert.equal(letter.request?.headers[TOY_HEADERS.signature], '[redacted]');
      assert.match(letter.request?.headers[TOY_HEADERS.time] ?? '', /^\d+$/, 'a header the scheme does not hold secret is kept');
      const text = JSON.stringify(letter) + JSON.stringify(daemon.logs);
      for (const request of [first, retry]) assert.ok(!text.includes(String(request.headers[TOY_HEADERS.signature])), 'no signature in the dead letter or the logs');
      assert.ok(!text.includes(TOY_SECRET));
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('is shown by preview: a placeholder for a masked secret, the real signature with --show-secrets', async (t: TestContext) => {
    const folder = makeDestinationsDir();
    try {
      const dir = toyFolder(folder.dir, 'http://127.0.0.1:9');
      const event = join(folder.dir, 'event.json');
      writeFileSync(event, JSON.stringify(testEvent(5)));
      const printed = async (...flags: string[]) => {
        const log = t.mock.method(console, 'log', () => undefined);
        t.mock.method(console, 'error', () => undefined);
        assert.equal(await preview([dir, '--event', event, '--format', 'json', ...flags]), 0);
        const output = JSON.parse(String(log.mock.calls.at(-1)!.arguments[0])) as { headers: Record<string, string>; body: unknown };
        t.mock.restoreAll();
        return output;
      };
      const masked = await printed();
      assert.equal(masked.headers[TOY_HEADERS.signature], '<toy:toy_secret>');
      assert.match(masked.headers[TOY_HEADERS.time], /^\d{10}$/);
      const shown = await printed('--show-secrets');
      assert.match(shown.headers[TOY_HEADERS.signature], /^[0-9a-f]{64}$/, 'a real signature, made from the secret shown');
    } finally {
      folder.remove();
    }
  });
});
