// destinations dead list|show|replay — reading and replaying dead letters from the DEAD stream.
import { jetstream, jetstreamManager, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { REPLAY_SYNC_HEADER } from '../../daemon/consumer/index.js';
import type { DeadLetter } from '../../daemon/dead-letter/index.js';
import type { DaemonSettings } from '../../daemon/config/index.js';
import { connectForCli } from './nats-client.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = `destinations dead list [--sync ID] [--reason CODE] [--limit N] [--json]
       destinations dead show SEQ
       destinations dead replay SEQ … | --sync ID --all
  common: [--config FILE] [--server URL]`;

export interface StoredDeadLetter {
  seq: number;
  letter: DeadLetter;
}

/** Every dead letter in the DEAD stream, oldest first (optionally of one sync). */
export async function readDeadLetters(connection: NatsConnection, settings: DaemonSettings, sync?: string): Promise<StoredDeadLetter[]> {
  const js = jetstream(connection);
  const jsm = await jetstreamManager(connection);
  const info = await jsm.streams.info(settings.stream.deadLetterStream);
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(settings.stream.deadLetterStream, { deliver_policy: DeliverPolicy.All });
  const letters: StoredDeadLetter[] = [];
  const messages = await consumer.consume();
  for await (const msg of messages) {
    const letter = msg.json<DeadLetter>();
    if (!sync || letter.sync === sync) letters.push({ seq: msg.seq, letter });
    if (msg.info.pending === 0) break;
  }
  await messages.close();
  return letters;
}

async function getDeadLetter(jsm: JetStreamManager, settings: DaemonSettings, seq: number): Promise<DeadLetter> {
  const stored = await jsm.streams.getMessage(settings.stream.deadLetterStream, { seq });
  if (!stored) throw new Error(`no dead letter with sequence ${seq}`);
  return stored.json<DeadLetter>();
}

/** Publishes the dead letter's event again, for its own sync only, then removes the dead letter. */
export async function replayDeadLetter(connection: NatsConnection, settings: DaemonSettings, seq: number): Promise<DeadLetter> {
  const js = jetstream(connection);
  const jsm = await jetstreamManager(connection);
  const letter = await getDeadLetter(jsm, settings, seq);
  const headers = natsHeaders();
  headers.set(REPLAY_SYNC_HEADER, letter.sync);
  const data = letter.event !== undefined ? JSON.stringify(letter.event) : Buffer.from(letter.rawEvent ?? '', 'base64');
  await js.publish(letter.source.subject, data, { headers });
  await jsm.streams.deleteMessage(settings.stream.deadLetterStream, seq);
  return letter;
}

function oneLine(stored: StoredDeadLetter): string {
  const { letter } = stored;
  const status = letter.lastStatus === undefined ? '' : ` status ${letter.lastStatus}`;
  return `${String(stored.seq).padStart(6)}  ${letter.deadAt}  ${letter.sync}  ${letter.reason}${status}  attempts ${letter.attempts}  ${letter.insertId ?? '-'}  ${letter.message ?? ''}`;
}

export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      sync: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string' },
      server: { type: 'string' },
    },
    USAGE,
  );
  if (!action || !['list', 'show', 'replay'].includes(action)) throw new UsageError(`say list, show or replay\n\nusage: ${USAGE}`);
  const seqs = positionals.map((text) => {
    const seq = Number(text);
    if (!Number.isInteger(seq) || seq < 1) throw new UsageError(`not a sequence number: ${text}`);
    return seq;
  });
  if (action === 'show' && seqs.length !== 1) throw new UsageError(`show takes one sequence number\n\nusage: ${USAGE}`);
  if (action === 'replay' && seqs.length === 0 && !(values.sync && values.all)) throw new UsageError(`replay takes sequence numbers, or --sync ID --all\n\nusage: ${USAGE}`);
  const { connection, settings } = await connectForCli(values);
  try {
    if (action === 'list') {
      let letters = await readDeadLetters(connection, settings, values.sync);
      if (values.reason) letters = letters.filter((stored) => stored.letter.reason === values.reason);
      if (values.limit) letters = letters.slice(-Number(values.limit));
      if (values.json) console.log(JSON.stringify(letters, null, 2));
      else if (letters.length === 0) console.log('no dead letters');
      else for (const stored of letters) console.log(oneLine(stored));
      return 0;
    }
    if (action === 'show') {
      console.log(JSON.stringify(await getDeadLetter(await jetstreamManager(connection), settings, seqs[0]), null, 2));
      return 0;
    }
    const targets = seqs.length > 0 ? seqs : (await readDeadLetters(connection, settings, values.sync)).map((stored) => stored.seq);
    for (const seq of targets) {
      const letter = await replayDeadLetter(connection, settings, seq);
      console.log(`replayed ${seq} to ${letter.sync} (${letter.insertId ?? 'no insert_id'})`);
    }
    return 0;
  } finally {
    await connection.drain();
  }
}
