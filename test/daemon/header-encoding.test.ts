// Event data in headers end to end (issue 20, finding 4): a real nats-server, the daemon, and
// node:http receivers. The shipped webhook destination puts an event's insert_id in Idempotency-Key
// and webhook-id; an id undici refuses (`x-😀`) was dead-lettered as invalid_request on its first
// attempt. Every id here must arrive, signed so that the standardwebhooks package verifies it, with
// the same key on a retry (re-rendered after a nak); an author's header template that reads event
// data arrives percent-encoded; a parameter HTTP cannot carry is dead-lettered as invalid_header
// naming the header and the fix, and nothing is sent.
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Webhook } from 'standardwebhooks';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { encodeHeaderText, headerId } from '../../daemon/render/index.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { answer, startTestSink, type RecordedRequest } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { HOSTILE_IDS, PLAIN_IDS } from '../helpers/hostile-ids.js';
import { waitForStreamCount } from '../helpers/wait.js';

const SIGNING_KEY = `whsec_${Buffer.from('header encoding test signing key').toString('base64')}`;
const IDS = [...HOSTILE_IDS.map(([, id]) => id), ...PLAIN_IDS];

const nats = useNatsServer();

before(() => {
  process.env.HEADER_ENCODING_SIGNING_KEY = SIGNING_KEY;
  process.env.HEADER_ENCODING_TOKEN = 'header-encoding-token';
});

function insertIdOf(request: RecordedRequest): string {
  return JSON.parse(request.body).insert_id as string;
}

describe('daemon header encoding', () => {
  it('delivers an event whatever the characters of its ids, with the same Idempotency-Key and webhook-id on a retry, and refuses a parameter HTTP cannot carry as invalid_header', async () => {
    // The shipped webhook: the first attempt of every other event answers 500 with Retry-After 1 ms,
    // which (maxInProcessWaitMs 0) goes back to the stream and is rendered again when redelivered.
    // Thirteen failures at most: the circuit breaker needs twenty requests in its window to open.
    const firstSeen = new Set<string>();
    const webhook = await startTestSink((request) => {
      const id = insertIdOf(request);
      const retried = IDS.indexOf(id) % 2 === 0 && !firstSeen.has(id);
      firstSeen.add(id);
      return retried ? answer.status(500, { 'retry-after': '0.001' }) : answer.ok();
    });
    const custom = await startTestSink();
    const refused = await startTestSink();
    const folder = makeDestinationsDir();
    const dir = join(folder.dir, 'webhook');
    cpSync(join(PACKAGE_ROOT, 'destinations', 'webhook'), dir, { recursive: true });
    rmSync(join(dir, 'examples'), { recursive: true });
    writeFileSync(join(dir, 'syncs', 'default.json'), JSON.stringify({ parameters: { url: `${webhook.url}/hook`, signing_secret: { env: 'HEADER_ENCODING_SIGNING_KEY' } } }));
    // An author's headers: one reads event data, one a parameter.
    const base = testDefinition();
    writeDestinationFolder(folder.dir, 'custom', {
      definition: {
        ...base,
        parameters: [...(base.parameters as object[]), { name: 'tenant', displayName: 'Tenant' }],
        request: { ...(base.request as object), headers: { Authorization: 'Bearer {{ parameters.token }}', 'X-User': '{{ input.user_id }}', 'X-Tenant': '{{ parameters.tenant }}' } },
      },
      syncs: {
        good: { parameters: { endpoint: custom.url, token: { env: 'HEADER_ENCODING_TOKEN' }, tenant: 'acme' } },
        bad: { parameters: { endpoint: refused.url, token: { env: 'HEADER_ENCODING_TOKEN' }, tenant: 'acme\r\nX-Injected: 1' } },
      },
    });
    const { subject, ...stream } = nats.streams('hdr');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInProcessWaitMs: 0 }));
    try {
      // user_id carries the id too (but a 10 KB one: percent-encoded in X-User it would pass a server's 16 KB header limit).
      for (const [index, id] of IDS.entries()) {
        await nats.js.publish(subject, JSON.stringify(testEvent(index, { insert_id: id, user_id: id.length > 1_000 ? `long-${index}` : id })));
      }
      const retries = IDS.filter((_, index) => index % 2 === 0).length;
      await webhook.waitForRequests(IDS.length + retries, 30_000);
      await custom.waitForRequests(IDS.length, 30_000);
      await waitForStreamCount(nats.connection, stream.deadLetterStream, IDS.length, 30_000);

      const byId = new Map<string, RecordedRequest[]>();
      for (const request of webhook.requests) byId.set(insertIdOf(request), [...(byId.get(insertIdOf(request)) ?? []), request]);
      assert.equal(byId.size, IDS.length, 'every event reached the webhook, its insert_id intact in the body');
      for (const [index, id] of IDS.entries()) {
        const requests = byId.get(id)!;
        assert.equal(requests.length, index % 2 === 0 ? 2 : 1, `${JSON.stringify(id.slice(0, 40))}: attempts`);
        for (const request of requests) {
          const key = request.headers['idempotency-key'];
          assert.equal(key, headerId(id), JSON.stringify(id.slice(0, 40)));
          assert.equal(request.headers['webhook-id'], key, 'the id signed is the id sent');
          assert.ok(typeof key === 'string' && key.length <= 255 && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(key), `visible ASCII: ${key}`);
          assert.equal(request.headers['x-injected'], undefined);
          assert.doesNotThrow(() => new Webhook(SIGNING_KEY).verify(request.body, request.headers as Record<string, string>), 'the standardwebhooks package verifies it');
        }
        if (requests.length === 2) assert.equal(requests[1].headers['idempotency-key'], requests[0].headers['idempotency-key'], 'a retry sends the same key');
      }
      // A plain id is sent as it is; the id as a hash.
      assert.equal(byId.get('insert-1')![0].headers['idempotency-key'], 'insert-1');
      assert.match(String(byId.get('x-😀')![0].headers['idempotency-key']), /^sha256:[0-9a-f]{32}$/);

      // The author's header that reads event data arrives percent-encoded, never split.
      for (const request of custom.requests) {
        const event = JSON.parse(request.body) as { user: string };
        assert.equal(request.headers['x-user'], encodeHeaderText(event.user.trim()));
        assert.equal(request.headers['x-tenant'], 'acme');
        assert.equal(request.headers['x-injected'], undefined);
      }

      // The sync whose parameter holds a line break: every event dead-lettered, nothing sent, the header and the fix named.
      assert.equal(refused.requests.length, 0);
      const jsm = await jetstreamManager(nats.connection);
      const letters: DeadLetter[] = [];
      for (let seq = 1; seq <= IDS.length; seq++) letters.push((await jsm.streams.getMessage(stream.deadLetterStream, { seq }))!.json<DeadLetter>());
      for (const letter of letters) {
        assert.equal(letter.sync, 'custom.bad');
        assert.equal(letter.reason, 'invalid_header');
        assert.equal(letter.attempts, 1, 'permanent: not retried');
        assert.match(letter.message ?? '', /^header x-tenant holds a line break, which an HTTP header cannot carry: .*fix the parameter's value, or encode it in the template/);
        assert.doesNotMatch(letter.message ?? '', /UND_ERR|acme/);
      }
    } finally {
      await daemon.stop();
      await webhook.close();
      await custom.close();
      await refused.close();
      folder.remove();
    }
  });
});
