import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
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

  it('leaves an existing event stream as the operator configured it, and names the guards it lacks', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings();
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects, max_age: DAY_NS });
    const { lines, log } = logged();
    await ensureStreams(jsm, stream, log);
    const { config } = await jsm.streams.info(stream.name);
    assert.equal(config.max_age, DAY_NS);
    assert.equal(config.deny_purge, false, 'a guard cannot be taken back, so it is not added unasked');
    assert.equal(config.deny_delete, false);
    const warnings = lines.filter((line) => line.level === 'warn' && String(line.msg).startsWith('stream allows'));
    assert.deepEqual(
      warnings.map(({ stream: name, missing, change }) => ({ stream: name, missing, change })),
      [{ stream: stream.name, missing: ['deny_purge', 'deny_delete'], change: `nats stream edit ${stream.name} --deny-purge --deny-delete` }],
    );
  });

  it('creates the event stream refusing purges and message deletes, and the dead-letter stream refusing purges only', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings();
    const { lines, log } = logged();
    await ensureStreams(jsm, stream, log);
    const events = (await jsm.streams.info(stream.name)).config;
    const dead = (await jsm.streams.info(stream.deadLetterStream)).config;
    assert.deepEqual([events.deny_purge, events.deny_delete], [true, true]);
    assert.deepEqual([dead.deny_purge, dead.deny_delete], [true, false]);
    const eventSeq = (await nats.js.publish(stream.subjects[0].replace('>', 'x'), '{}')).seq;
    const letterSeq = (await nats.js.publish(`${stream.deadLetterSubjectPrefix}.hook.ok`, '{}')).seq;
    // Refused by JetStream to a user allowed every API (this test's server has no authorization).
    await assert.rejects(jsm.streams.purge(stream.name), /stream purge not permitted/);
    await assert.rejects(jsm.streams.deleteMessage(stream.name, eventSeq), /message delete not permitted/);
    await assert.rejects(jsm.streams.purge(stream.deadLetterStream), /stream purge not permitted/);
    const rollup = headers();
    rollup.set('Nats-Rollup', 'all');
    await assert.rejects(nats.js.publish(stream.subjects[0].replace('>', 'x'), '{}', { headers: rollup }), /rollup not permitted/);
    // What dead replay does after publishing the replay.
    assert.equal(await jsm.streams.deleteMessage(stream.deadLetterStream, letterSeq), true);
    assert.deepEqual(lines.filter((line) => line.level === 'warn'), []);
    // Started again: the streams it made have their guards, nothing to say.
    const again = logged();
    await ensureStreams(jsm, stream, again.log);
    assert.deepEqual(again.lines.filter((line) => line.level === 'warn'), []);
  });

  it('keeps the guards when it adds the replay subjects to an existing event stream', async () => {
    const jsm = await jetstreamManager(nats.connection);
    const stream = streamSettings();
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects, deny_purge: true, deny_delete: true });
    await ensureStreams(jsm, stream, logged().log);
    const { config } = await jsm.streams.info(stream.name);
    assert.equal(config.subjects?.length, 2, 'the replay subjects were added');
    assert.deepEqual([config.deny_purge, config.deny_delete], [true, true]);
  });
});
