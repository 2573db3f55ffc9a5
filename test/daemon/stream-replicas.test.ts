// Stream replicas on one server: the daemon creates its streams with the configured count and
// names a difference with an existing stream instead of changing it. Creating replicated streams
// on a real cluster is in cluster.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { settingsFrom } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { testSettings } from '../helpers/daemon.js';
import { useNatsServer } from '../helpers/nats-server.js';

const nats = useNatsServer();

function collectingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('stream replicas', () => {
  it('defaults to one replica for the events and the dead-letter streams, and accepts up to five', () => {
    const settings = settingsFrom({}, undefined, '.');
    assert.equal(settings.stream.replicas, 1);
    assert.equal(settings.stream.deadLetterReplicas, 1);
    assert.equal(settingsFrom({ stream: { replicas: 5, deadLetterReplicas: 3 } }, undefined, '.').stream.replicas, 5);
    assert.throws(() => settingsFrom({ stream: { replicas: 6 } }, undefined, '.'), /\/stream\/replicas: must be <= 5/);
    assert.throws(() => settingsFrom({ stream: { deadLetterReplicas: 0 } }, undefined, '.'), /\/stream\/deadLetterReplicas: must be >= 1/);
  });

  it('creates both streams with the configured replicas and logs no difference', async () => {
    const { subject: _subject, ...stream } = nats.streams('replicasnew');
    const jsm = await jetstreamManager(nats.connection);
    const { lines, log } = collectingLogger();
    await ensureStreams(jsm, testSettings(nats.url, '.', { stream: { ...stream, replicas: 1, deadLetterReplicas: 1 } }).stream, log);
    assert.equal((await jsm.streams.info(stream.name)).config.num_replicas, 1);
    assert.equal((await jsm.streams.info(stream.deadLetterStream)).config.num_replicas, 1);
    assert.deepEqual(lines.filter((line) => line.level === 'warn'), []);
  });

  it('names the stream, the configured and the actual replicas when an existing stream differs, and leaves it as it is', async () => {
    const { subject: _subject, ...stream } = nats.streams('replicasold');
    const jsm = await jetstreamManager(nats.connection);
    // Made by hand (or by a daemon configured before), with one replica each.
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects });
    await jsm.streams.add({ name: stream.deadLetterStream, subjects: [`${stream.deadLetterSubjectPrefix}.>`] });
    const { lines, log } = collectingLogger();
    await ensureStreams(jsm, testSettings(nats.url, '.', { stream: { ...stream, replicas: 3, deadLetterReplicas: 5 } }).stream, log);
    // (The dead-letter stream's limits are brought to the config too: another warning, not about replicas.)
    const warnings = lines.filter((line) => line.level === 'warn' && String(line.msg).startsWith('stream replicas'));
    assert.deepEqual(
      warnings.map(({ msg, stream: name, configured, actual }) => ({ msg, stream: name, configured, actual })),
      [
        { msg: 'stream replicas differ from the configuration; the stream is left as it is', stream: stream.name, configured: 3, actual: 1 },
        { msg: 'stream replicas differ from the configuration; the stream is left as it is', stream: stream.deadLetterStream, configured: 5, actual: 1 },
      ],
    );
    assert.equal(warnings[0].change, `nats stream edit ${stream.name} --replicas 3`);
    assert.equal((await jsm.streams.info(stream.name)).config.num_replicas, 1, 'not changed silently');
    assert.equal((await jsm.streams.info(stream.deadLetterStream)).config.num_replicas, 1);
  });
});
