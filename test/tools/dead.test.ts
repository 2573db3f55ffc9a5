import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { settingsFrom } from '../../daemon/config/index.js';
import { buildDeadLetter, deadLetterSubject, type DeadLetter } from '../../daemon/dead-letter/index.js';
import { createLogger } from '../../daemon/log.js';
import { ensureStreams } from '../../daemon/nats/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { useNatsServer } from '../helpers/nats-server.js';

const ESC = '\u001b';

describe('tools dead', () => {
  const nats = useNatsServer();
  const temp = tempDir();
  after(() => temp.remove());
  const config = join(temp.dir, '.destinationsrc.json');
  let stream: ReturnType<typeof nats.streams>;
  const hostileInsertId = `${ESC}[2J${ESC}]0;pwned\u0007\u009b31m`;
  const bigEvent = Buffer.from(JSON.stringify({ event_type: 'x', user_id: 'u', insert_id: 'big-1', p: 'y'.repeat(60_000) }));
  let truncatedSeq = 0;
  let eventSeq = 0;

  /** Writes a letter into the DEAD stream as the daemon does; returns its sequence there. */
  async function writeLetter(data: Uint8Array, extra: { message?: string; maxPayload?: number; sequence?: number } = {}): Promise<number> {
    const letter: DeadLetter = buildDeadLetter({
      destination: 'hook',
      sync: 'hook.default',
      definitionVersion: 'v1',
      reason: 'invalid_event',
      message: extra.message ?? 'event needs a user_id or a device_id',
      attempts: 1,
      data,
      source: { stream: stream.name, sequence: extra.sequence ?? 1, subject: stream.subject, publishedAt: new Date(0).toISOString() },
      secrets: [],
      maxPayload: extra.maxPayload,
    });
    const ack = await nats.js.publish(deadLetterSubject(stream.deadLetterSubjectPrefix, 'hook', 'default'), JSON.stringify(letter));
    return ack.seq;
  }

  before(async () => {
    stream = nats.streams('deadcli');
    writeFiles(temp.dir, { '.destinationsrc.json': { nats: { servers: [nats.url] }, stream: { name: stream.name, subjects: stream.subjects, deadLetterStream: stream.deadLetterStream, deadLetterSubjectPrefix: stream.deadLetterSubjectPrefix } } });
    const settings = settingsFrom({ stream: { name: stream.name, subjects: stream.subjects, deadLetterStream: stream.deadLetterStream, deadLetterSubjectPrefix: stream.deadLetterSubjectPrefix } }, undefined, temp.dir);
    const jsm = await jetstreamManager(nats.connection);
    // Made by hand without deny_delete (ensureStreams leaves it so), so that a test can take an event
    // away as max_age would.
    await jsm.streams.add({ name: stream.name, subjects: stream.subjects });
    await ensureStreams(jsm, settings.stream, createLogger({ write: () => undefined }));
    await writeLetter(Buffer.from(JSON.stringify({ event_type: 'x', insert_id: hostileInsertId })), { message: `not JSON: ${ESC}[31mred` });
    for (let i = 2; i <= 4; i++) await writeLetter(Buffer.from(JSON.stringify({ event_type: 'x', insert_id: `ins-${i}` })));
    eventSeq = (await nats.js.publish(stream.subject, bigEvent)).seq;
    // A server with a 16 KB max_payload: the letter keeps an excerpt of the 60 KB event.
    truncatedSeq = await writeLetter(bigEvent, { maxPayload: 16_384, sequence: eventSeq });
  });

  const dead = (...args: string[]) => runCli(['dead', ...args, '--config', config]);

  it('list escapes terminal control sequences from event data', async () => {
    const result = await dead('list');
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /[\u001b\u0007\u009b]/);
    assert.match(result.stdout, /\\u001b\[2J\\u001b\]0;pwned\\u0007\\u009b31m/);
    assert.match(result.stdout, /not JSON: \\u001b\[31mred/);
  });

  it('list --json escapes them too and stays JSON', async () => {
    const result = await dead('list', '--json');
    assert.doesNotMatch(result.stdout, /[\u001b\u0007\u009b]/);
    const letters = JSON.parse(result.stdout) as Array<{ letter: DeadLetter }>;
    assert.equal(letters[0].letter.insertId, hostileInsertId);
  });

  it('list pages with --after SEQ --limit N and says how to get the next page', async () => {
    const first = await dead('list', '--after', '0', '--limit', '2');
    assert.deepEqual(first.stdout.trim().split('\n').map((line) => Number(line.trim().split(/\s+/)[0])), [1, 2]);
    assert.match(first.stderr, /more: destinations dead list --after 2 --limit 2/);
    const last = await dead('list', '--after', '4', '--limit', '2');
    assert.deepEqual(last.stdout.trim().split('\n').map((line) => Number(line.trim().split(/\s+/)[0])), [truncatedSeq]);
    assert.equal(last.stderr, '');
    const none = await dead('list', '--after', String(truncatedSeq), '--limit', '2');
    assert.equal(none.stdout.trim(), 'no dead letters');
  });

  it('list refuses a bad --after', async () => {
    const result = await dead('list', '--after', 'x');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--after takes a sequence number/);
  });

  it('show fetches a truncated event whole from the event stream, checking its hash', async () => {
    const result = await dead('show', String(truncatedSeq));
    assert.equal(result.code, 0, result.stderr);
    const shown = JSON.parse(result.stdout) as DeadLetter;
    assert.equal(shown.eventText, bigEvent.toString());
    assert.equal(shown.truncated?.eventBytes, bigEvent.byteLength);
    assert.match(result.stderr, new RegExp(`the whole event below is from stream ${stream.name} sequence ${eventSeq} \\(SHA-256 matches\\)`));
  });

  it('show says when the event stream no longer holds it, and replay refuses it', async () => {
    await (await jetstreamManager(nats.connection)).streams.deleteMessage(stream.name, eventSeq);
    const shown = await dead('show', String(truncatedSeq));
    assert.equal(shown.code, 0);
    assert.match(shown.stderr, new RegExp(`no longer holds sequence ${eventSeq}: only the excerpt is shown`));
    assert.ok(bigEvent.toString().startsWith((JSON.parse(shown.stdout) as DeadLetter).eventText!));
    const replay = await dead('replay', String(truncatedSeq));
    assert.equal(replay.code, 1);
    assert.match(replay.stderr, /cannot replay dead letter \d+: the letter kept only an excerpt/);
  });
});
