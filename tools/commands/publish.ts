// destinations publish [--subject SUBJECT] FILE|- …
// Publishes events (one JSON event, a JSON array of events, or one event per line) to the events
// stream and waits for JetStream to acknowledge each.
import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { connectForCli } from './nats-client.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations publish [--subject events.<name>] [--config FILE] [--server URL] FILE|- …';

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
        throw new UsageError(`${source}:${index + 1}: not JSON: ${(error as Error).message}`);
      }
    });
  }
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { subject: { type: 'string' }, config: { type: 'string' }, server: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (values.help) {
    console.log(`usage: ${USAGE}`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`name a file of events, or - for standard input\n\nusage: ${USAGE}`);
  const { connection, settings } = await connectForCli(values);
  const subject = values.subject ?? `${settings.stream.subjects[0].replace(/\.>$|\.\*$/, '')}.cli`;
  const js = jetstream(connection);
  let count = 0;
  try {
    for (const file of positionals) {
      const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
      for (const event of parseEvents(text, file)) {
        const ack = await js.publish(subject, JSON.stringify(event));
        count += 1;
        console.log(`published to ${subject}: stream ${ack.stream} sequence ${ack.seq}`);
      }
    }
  } finally {
    await connection.drain();
  }
  console.error(`${count} event(s) published`);
  return 0;
}
