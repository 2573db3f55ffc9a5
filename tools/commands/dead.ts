// destinations dead list|show|replay — reading and replaying dead letters from the DEAD stream.
import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { REPLAY_SYNC_HEADER } from '../../daemon/consumer/index.js';
import { deadLetterSubject, replaySubject, syncOfDeadLetterSubject, utf8OrUndefined, type DeadLetter } from '../../daemon/dead-letter/index.js';
import type { DaemonSettings } from '../../daemon/config/index.js';
import { subjectMatches } from '../../daemon/nats/index.js';
import { terminalLine, terminalText } from '../terminal-text.js';
import { NATS_HELP, NATS_OPTIONS, NATS_USAGE } from '../nats-identity.js';
import { OperatorError } from '../operator-error.js';
import { withNats } from './nats-client.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = `destinations dead list [--sync ID] [--reason CODE] [--after SEQ] [--limit N] [--json]
       destinations dead show SEQ
       destinations dead replay SEQ … | --sync ID --all
  common: ${NATS_USAGE}`;
const HELP = `usage: ${USAGE}

Lists, shows and replays the dead letters of the dead-letter stream (docs/cli.md, "dead"). Behind
the NATS authorization of deploy/nats, connect as the operator.

${NATS_HELP}`;

export interface StoredDeadLetter {
  seq: number;
  letter: DeadLetter;
}

/**
 * The dead letters in the DEAD stream, oldest first (or from the one after `after`), one at a
 * time (a stream of millions is read, not held). With a sync id, the server sends only that
 * sync's subject.
 */
export async function* deadLetters(connection: NatsConnection, settings: DaemonSettings, sync?: string, after?: number): AsyncGenerator<StoredDeadLetter> {
  const js = jetstream(connection);
  const jsm = await jetstreamManager(connection);
  const info = await jsm.streams.info(settings.stream.deadLetterStream);
  if (info.state.messages === 0 || (after !== undefined && after >= info.state.last_seq)) return;
  const consumer = await js.consumers.get(settings.stream.deadLetterStream, {
    ...(after === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
    filter_subjects: sync === undefined ? undefined : deadLetterSubjectOf(settings, sync),
  });
  // Nothing to read: an ordered consumer would wait for the first message forever.
  if ((sync !== undefined || after !== undefined) && (await consumer.info(true)).num_pending === 0) return;
  const messages = await consumer.consume();
  try {
    for await (const msg of messages) {
      yield { seq: msg.seq, letter: msg.json<DeadLetter>() };
      if (msg.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
}

/** The subject a sync's dead letters are written to; the sync id is `<destination>.<sync>`. */
function deadLetterSubjectOf(settings: DaemonSettings, syncId: string): string {
  const dot = syncId.indexOf('.');
  if (dot < 1 || dot === syncId.length - 1) throw new UsageError(`a sync id is <destination>.<sync>, not ${syncId}`);
  return deadLetterSubject(settings.stream.deadLetterSubjectPrefix, syncId.slice(0, dot), syncId.slice(dot + 1));
}

/**
 * Lists dead letters as they are read. With `after`, a page: the first `limit` after that
 * sequence, and the command for the next page on stderr when there is more. Without it, `limit`
 * keeps only the last `limit` (the old form).
 */
async function listDeadLetters(letters: AsyncIterable<StoredDeadLetter>, options: { reason?: string; after?: number; limit?: number; json: boolean }): Promise<void> {
  // With a limit and no --after, a ring of the last `limit` read: memory stays at the limit whatever the stream holds.
  const ring: StoredDeadLetter[] = [];
  const paging = options.after !== undefined;
  let matched = 0;
  let shown = 0;
  let lastSeq: number | undefined;
  let more = false;
  const show = (stored: StoredDeadLetter) => {
    if (options.json) process.stdout.write(`${shown === 0 ? '[\n' : ',\n'}${terminalText(JSON.stringify(stored, null, 2))}`);
    else console.log(oneLine(stored));
    shown += 1;
  };
  for await (const stored of letters) {
    if (paging && options.limit !== undefined && matched === options.limit) {
      more = true;
      break;
    }
    lastSeq = stored.seq;
    if (options.reason !== undefined && stored.letter.reason !== options.reason) continue;
    if (paging || options.limit === undefined) show(stored);
    else ring[matched % options.limit] = stored;
    matched += 1;
  }
  if (!paging && options.limit !== undefined) {
    const oldest = matched > options.limit ? matched % options.limit : 0;
    for (let i = 0; i < ring.length; i++) show(ring[(oldest + i) % ring.length]);
  }
  if (options.json) process.stdout.write(shown === 0 ? '[]\n' : '\n]\n');
  else if (shown === 0) console.log('no dead letters');
  if (more) console.error(`more: destinations dead list --after ${lastSeq} --limit ${options.limit}`);
}

async function getDeadLetter(jsm: JetStreamManager, settings: DaemonSettings, seq: number): Promise<DeadLetter> {
  return (await getStoredDeadLetter(jsm, settings, seq)).letter;
}

async function getStoredDeadLetter(jsm: JetStreamManager, settings: DaemonSettings, seq: number): Promise<{ letter: DeadLetter; subject: string }> {
  const stored = await jsm.streams.getMessage(settings.stream.deadLetterStream, { seq });
  if (!stored) throw new OperatorError('failed', `no dead letter with sequence ${seq} in stream ${settings.stream.deadLetterStream}: destinations dead list shows the ones there are`);
  return { letter: stored.json<DeadLetter>(), subject: stored.subject };
}

/** A dead letter that cannot be replayed as it is: it does not agree with where it is stored, or names a subject outside the events stream. */
export class ReplayRefusedError extends Error {
  override name = 'ReplayRefusedError';
}

/** The event's bytes as published: from the letter, or (when the letter kept an excerpt) from the event stream. */
export type OriginalEvent = { ok: true; data: Uint8Array; restored: boolean } | { ok: false; why: string };

export async function originalEvent(jsm: JetStreamManager, letter: DeadLetter): Promise<OriginalEvent> {
  if (!letter.truncated) {
    const data = letter.event !== undefined ? JSON.stringify(letter.event) : letter.eventText ?? Buffer.from(letter.rawEvent ?? '', 'base64');
    return { ok: true, data: typeof data === 'string' ? Buffer.from(data) : data, restored: false };
  }
  const { stream, sequence } = letter.source;
  const stored = await jsm.streams.getMessage(stream, { seq: sequence }).catch(() => null);
  if (!stored) return { ok: false, why: `stream ${stream} no longer holds sequence ${sequence}` };
  if (createHash('sha256').update(stored.data).digest('hex') !== letter.truncated.sha256) {
    return { ok: false, why: `sequence ${sequence} of stream ${stream} is not the event that died (its SHA-256 differs)` };
  }
  return { ok: true, data: stored.data, restored: true };
}

/** Prints a dead letter; an event the letter had to cut is shown whole, fetched from the event stream while it holds it. */
async function showDeadLetter(jsm: JetStreamManager, settings: DaemonSettings, seq: number): Promise<void> {
  const letter = await getDeadLetter(jsm, settings, seq);
  const shown: DeadLetter = { ...letter };
  if (letter.truncated) {
    const original = await originalEvent(jsm, letter);
    const cut = `the letter kept ${letter.truncated.keptBytes} of the event's ${letter.truncated.eventBytes} bytes`;
    if (original.ok) {
      const text = utf8OrUndefined(original.data);
      shown.eventText = text;
      shown.rawEvent = text === undefined ? Buffer.from(original.data).toString('base64') : undefined;
      console.error(`dead letter ${seq}: ${cut}; the whole event below is from stream ${letter.source.stream} sequence ${letter.source.sequence} (SHA-256 matches)`);
    } else {
      console.error(`dead letter ${seq}: ${cut}, and ${original.why}: only the excerpt is shown`);
    }
  }
  console.log(terminalText(JSON.stringify(shown, null, 2)));
}


/**
 * Publishes the dead letter's event again, for its own sync only, then removes the dead letter.
 * The sync is the one the letter is stored under (`dead.<destination>.<sync>`), never what the
 * letter says: whoever could write into the DEAD stream must not choose where a replay goes. The
 * event goes out on that sync's replay subject, which only that sync takes (replay-subject.ts).
 */
export async function replayDeadLetter(connection: NatsConnection, settings: DaemonSettings, seq: number): Promise<{ letter: DeadLetter; syncId: string }> {
  const js = jetstream(connection);
  const jsm = await jetstreamManager(connection);
  const { letter, subject } = await getStoredDeadLetter(jsm, settings, seq);
  const syncId = syncOfDeadLetterSubject(settings.stream.deadLetterSubjectPrefix, subject);
  if (syncId === undefined) throw new ReplayRefusedError(`dead letter ${seq} is stored under ${subject}, not under ${settings.stream.deadLetterSubjectPrefix}.<destination>.<sync>: refused`);
  if (letter.sync !== syncId) throw new ReplayRefusedError(`dead letter ${seq} is stored under ${subject} but names sync ${String(letter.sync)}: refused (a letter replays to the sync it is stored under only)`);
  const original = letter.source?.subject;
  const eventSubjects = (await jsm.streams.info(settings.stream.name)).config.subjects ?? [];
  if (typeof original !== 'string' || !eventSubjects.some((pattern) => subjectMatches(pattern, original))) {
    throw new ReplayRefusedError(`dead letter ${seq} names the subject ${String(original)}, which is not one of stream ${settings.stream.name}'s (${eventSubjects.join(', ')}): refused`);
  }
  const headers = natsHeaders();
  // Daemons from before replay subjects deliver by this header; the others go by the subject alone.
  headers.set(REPLAY_SYNC_HEADER, syncId);
  const event = await originalEvent(jsm, letter);
  if (!event.ok) throw new Error(`cannot replay dead letter ${seq}: the letter kept only an excerpt of the event, and ${event.why}`);
  await js.publish(replaySubject(settings.stream.name, syncId), event.data, { headers });
  await jsm.streams.deleteMessage(settings.stream.deadLetterStream, seq);
  return { letter, syncId };
}

function oneLine(stored: StoredDeadLetter): string {
  const { letter } = stored;
  const status = letter.lastStatus === undefined ? '' : ` status ${letter.lastStatus}`;
  const cut = letter.truncated ? ' (event cut)' : '';
  // Publisher text (message, insert_id) is escaped: no terminal control sequence gets through.
  return terminalLine(`${String(stored.seq).padStart(6)}  ${letter.deadAt}  ${letter.sync}  ${letter.reason}${status}  attempts ${letter.attempts}  ${letter.insertId ?? '-'}${cut}  ${letter.message ?? ''}`);
}

export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h') {
    console.log(HELP);
    return 0;
  }
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      sync: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      after: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      ...NATS_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!action || !['list', 'show', 'replay'].includes(action)) throw new UsageError(`say list, show or replay\n\nusage: ${USAGE}`);
  const seqs = positionals.map((text) => {
    const seq = Number(text);
    if (!Number.isInteger(seq) || seq < 1) throw new UsageError(`not a sequence number: ${text}`);
    return seq;
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--limit takes a whole number of at least 1, not ${values.limit}`);
  const after = values.after === undefined ? undefined : Number(values.after);
  if (after !== undefined && !(Number.isInteger(after) && after >= 0)) throw new UsageError(`--after takes a sequence number (0 for the start), not ${values.after}`);
  if (action === 'show' && seqs.length !== 1) throw new UsageError(`show takes one sequence number\n\nusage: ${USAGE}`);
  if (action === 'replay' && seqs.length === 0 && !(values.sync && values.all)) throw new UsageError(`replay takes sequence numbers, or --sync ID --all\n\nusage: ${USAGE}`);
  return withNats(`dead ${action}`, 'operator', values, (connection, settings) =>
    deadAction(action, connection, settings, { ...values, seqs, limit, after }).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        throw new OperatorError('failed', `NATS has no stream ${settings.stream.deadLetterStream} (or no ${settings.stream.name}) (${error.message}): the daemon creates them when it starts; with other stream names in the daemon's config, give that config (or a role file with the same "stream" settings) with --config`, { cause: error });
      }
      throw error;
    }),
  );
}

async function deadAction(
  action: string,
  connection: NatsConnection,
  settings: DaemonSettings,
  { seqs, limit, after, ...values }: { sync?: string; reason?: string; json?: boolean; seqs: number[]; limit?: number; after?: number },
): Promise<number> {
  if (action === 'list') {
    await listDeadLetters(deadLetters(connection, settings, values.sync, after), { reason: values.reason, after, limit, json: values.json === true });
    return 0;
  }
  if (action === 'show') {
    await showDeadLetter(await jetstreamManager(connection), settings, seqs[0]);
    return 0;
  }
  const targets: number[] = seqs;
  // --sync ID --all: every sequence first, then replay (replaying deletes from the stream being read).
  if (targets.length === 0) for await (const stored of deadLetters(connection, settings, values.sync)) targets.push(stored.seq);
  // A refused letter is reported and kept; the others are still replayed.
  let refused = 0;
  for (const seq of targets) {
    try {
      const { letter, syncId } = await replayDeadLetter(connection, settings, seq);
      console.log(`replayed ${seq} to ${syncId} (${letter.insertId ?? 'no insert_id'})`);
    } catch (error) {
      if (!(error instanceof ReplayRefusedError)) throw error;
      console.error(error.message);
      refused += 1;
    }
  }
  return refused === 0 ? 0 : 1;
}
