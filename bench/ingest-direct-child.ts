// The ingest row's reference: one NATS client publishing the same events straight to JetStream,
// each with its insert_id as Nats-Msg-Id and its acknowledgement awaited, `inFlight` outstanding at
// once (as many as the ingest has with its requests in flight). Prints one JSON line with the CPU
// it used (process.cpuUsage, the publishing window only) and the wall time.
// argv: NATS_URL SUBJECT COUNT IN_FLIGHT
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { benchEvent } from './events.js';

const [url, subject, countText, inFlightText] = process.argv.slice(2);
const count = Number(countText);
const inFlight = Number(inFlightText);
const events = Array.from({ length: count }, (_, index) => ({ ...benchEvent(index), insert_id: `direct-${index}` }));
const nc = await connect({ servers: url });
const js = jetstream(nc);
const started = performance.now();
const cpu = process.cpuUsage();
let next = 0;
async function lane(): Promise<void> {
  while (next < count) {
    const event = events[next++];
    await js.publish(subject, JSON.stringify(event), { msgID: event.insert_id as string });
  }
}
await Promise.all(Array.from({ length: inFlight }, lane));
const used = process.cpuUsage(cpu);
const seconds = (performance.now() - started) / 1_000;
console.log(JSON.stringify({ seconds, cpuSeconds: (used.user + used.system) / 1e6 }));
await nc.drain();
