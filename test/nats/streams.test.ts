import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { settingsFrom } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { useNatsServer } from '../helpers/nats-server.js';

const DAY_NS = 86_400 * 1e9;

describe('nats streams', () => {
  const nats = useNatsServer();
  const logged = () => {
    const lines: Array<Record<string, unknown>> = [];
    return { lines, log: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) }) };
  };
  const streamSettings = (overrides: Record<string, unknown> = {}) => {
    const { name, subjects, deadLetterStream, deadLetterSubjectPrefix } = nats.streams('lim');
    return settingsFrom({ stream: { name, subjects, deadLetterStream, deadLetterSubjectPrefix, ...overrides } }, undefined, '/').stream;
  };

  it('creates the dead-letter stream with the default limits: 30 days, 1 GiB, oldest dropped first', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings();
    await ensureStreams(jsm, stream, logged().log);
    const { config } = await jsm.streams.info(stream.deadLetterStream);
    assert.equal(config.max_age, 30 * DAY_NS);
    assert.equal(config.max_bytes, 1_073_741_824);
    assert.equal(config.discard, DiscardPolicy.Old);
  });

  it('takes the limits from the config, 0 meaning none', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings({ deadLetterMaxAgeDays: 0, deadLetterMaxBytes: 0 });
    await ensureStreams(jsm, stream, logged().log);
    const { config } = await jsm.streams.info(stream.deadLetterStream);
    assert.equal(config.max_age, 0);
    assert.equal(config.max_bytes, -1);
  });

  it('brings an existing unlimited dead-letter stream to the configured limits and says so', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings({ deadLetterMaxAgeDays: 7, deadLetterMaxBytes: 10_000_000 });
    await jsm.streams.add({ name: stream.deadLetterStream, subjects: [`${stream.deadLetterSubjectPrefix}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: 0 });
    const { lines, log } = logged();
    await ensureStreams(jsm, stream, log);
    const { config } = await jsm.streams.info(stream.deadLetterStream);
    assert.equal(config.max_age, 7 * DAY_NS);
    assert.equal(config.max_bytes, 10_000_000);
    assert.deepEqual(config.subjects, [`${stream.deadLetterSubjectPrefix}.>`]);
    assert.ok(lines.some((line) => line.level === 'warn' && /limits updated/.test(String(line.msg))));
  });

  it('leaves an existing event stream as the operator configured it', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings();
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects, max_age: DAY_NS });
    await ensureStreams(jsm, stream, logged().log);
    assert.equal((await jsm.streams.info(stream.name)).config.max_age, DAY_NS);
  });
});
