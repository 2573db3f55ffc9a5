// A reload rejects exactly the folder that has the problem, even when another destination's slug is
// a prefix of its own (`hook` and `hook-eu`): the rejected folder keeps its last good version running.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { startTestSink, type TestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();

describe('daemon - reload of sibling folders', () => {
  const { subject, ...stream } = nats.streams('siblings');
  let folder: ReturnType<typeof makeDestinationsDir>;
  let sink: TestSink;
  let daemon: TestDaemon;

  before(async () => {
    folder = makeDestinationsDir();
    sink = await startTestSink();
    const tokenFile = (name: string) => {
      const file = join(folder.dir, `${name}.token`);
      writeFileSync(file, `${name}-token\n`);
      return file;
    };
    for (const slug of ['hook', 'hook-eu']) {
      writeDestinationFolder(folder.dir, slug, { syncs: { default: { parameters: { endpoint: `${sink.url}/${slug}`, token: { file: tokenFile(slug) } } } } });
    }
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
  });

  after(async () => {
    await daemon?.stop();
    await sink?.close();
    folder?.remove();
  });

    it('rejects hook-eu (not hook) when hook-eu loses its secret, and keeps hook-eu running on its last good version', async () => {
      rmSync(join(folder.dir, 'hook-eu.token'));
      const result = await daemon.daemon.reload();
      assert.deepEqual(result.rejected, ['hook-eu']);
      assert.ok(result.problems.some((problem) => problem.file === join(folder.dir, 'hook-eu', 'syncs', 'default.json')));
      assert.deepEqual(result.started, [], 'nothing restarted with the unresolved secret');
      assert.deepEqual(result.kept.sort(), ['hook-eu.default', 'hook.default']);

      await nats.js.publish(subject, JSON.stringify(testEvent(1)));
      const requests = await sink.waitForRequests(2);
      const euRequest = requests.find((request) => request.url.startsWith('/hook-eu/'));
      assert.equal(euRequest?.headers.authorization, 'Bearer hook-eu-token', 'the last good secret is still used');
    });
});
