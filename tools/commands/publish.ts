// destinations publish [--subject SUBJECT] [connection options] FILE|- …
// Publishes events (one JSON event, a JSON array of events, or one event per line) to the events
// stream, each with its insert_id as Nats-Msg-Id so that JetStream drops a republished one within
// the stream's duplicate window, and waits for JetStream to acknowledge each. Prints one summary line.
import { readFileSync } from 'node:fs';
import { jetstream, type PubAck } from '@nats-io/jetstream';
import { NATS_HELP, NATS_OPTIONS, NATS_USAGE } from '../nats-identity.js';
import { OperatorError } from '../operator-error.js';
import { withNats } from './nats-client.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = `destinations publish [--subject events.<name>] ${NATS_USAGE} FILE|- …`;
const HELP = `usage: ${USAGE}

Publishes the events in each FILE (- for standard input): one JSON event, a JSON array of events, or
one event per line. The subject is events.cli by default (the first of the stream's subjects).
Each event's insert_id is sent as Nats-Msg-Id: JetStream stores an insert_id once within the
stream's duplicate window (two minutes by default) and drops a republished one. Prints one line:
how many were published, stored and dropped as duplicates.

${NATS_HELP}`;

export function parseEvents(text: string, source: string): unknown[] {
  const trimmed = text.trim();
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    // One event per line (NDJSON).
    return trimmed.split('\n').filter((line) => line.trim() !== '').map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (error) {
        throw new OperatorError('badFile', `${source}:${index + 1}: not JSON (${(error as Error).message}): a file holds one event, a JSON array of events, or one event per line`);
      }
    });
  }
}

/** The event's insert_id, the key JetStream deduplicates by; none for an event without one. */
function insertIdOf(event: unknown): string | undefined {
  const id = typeof event === 'object' && event !== null ? (event as { insert_id?: unknown }).insert_id : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export function summary(subject: string, acks: readonly PubAck[], withoutInsertId: number): string {
  const stored = acks.filter((ack) => !ack.duplicate);
  const duplicates = acks.length - stored.length;
  const streams = [...new Set(acks.map((ack) => ack.stream))].join(', ');
  const sequences = stored.length === 0 ? '' : stored.length === 1 ? ` at sequence ${stored[0].seq}` : ` at sequences ${stored[0].seq} to ${stored[stored.length - 1].seq}`;
  const parts = [`published ${acks.length} event${acks.length === 1 ? '' : 's'} to ${subject}: ${stored.length} stored${acks.length > 0 ? ` in stream ${streams}` : ''}${sequences}`];
  if (duplicates > 0) parts.push(`${duplicates} dropped as duplicates (their insert_id was published within the stream's duplicate window)`);
  if (withoutInsertId > 0) parts.push(`${withoutInsertId} without insert_id (not deduplicated)`);
  return parts.join(', ');
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { subject: { type: 'string' }, ...NATS_OPTIONS, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`name a file of events, or - for standard input\n\nusage: ${USAGE}`);
  // Every file is read and parsed first: a bad one stops the command before anything is published.
  const events = positionals.flatMap((file) => parseEvents(file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'), file));
  return withNats('publish', 'publisher', values, async (connection, settings) => {
    const subject = values.subject ?? `${settings.stream.subjects[0].replace(/\.>$|\.\*$/, '')}.cli`;
    const js = jetstream(connection);
    const acks: PubAck[] = [];
    let withoutInsertId = 0;
    try {
      for (const event of events) {
        const msgID = insertIdOf(event);
        if (msgID === undefined) withoutInsertId += 1;
        acks.push(await js.publish(subject, JSON.stringify(event), msgID === undefined ? undefined : { msgID }));
      }
    } catch (error) {
      // Nothing answered the publish: no stream captures the subject (nats.js reports it as JetStreamNotEnabled).
      if (error instanceof Error && error.name === 'JetStreamNotEnabled') {
        throw new OperatorError('failed', `no stream takes ${subject} (nothing acknowledged the publish): start the daemon once, which creates the events stream, or give --subject one of the stream's subjects`, { cause: error });
      }
      throw error;
    } finally {
      // Also after a failure: what was stored before it.
      if (acks.length > 0 || events.length === 0) console.log(summary(subject, acks, withoutInsertId));
    }
    return 0;
  });
}
