// What the quick start made on a NATS server it did not start (`--nats URL`), so that stopping it
// removes exactly that: the daemon's streams that did not exist before, and on those that did, the
// consumers of the syncs it ran that were not there before. Nothing anyone else made is touched.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { DaemonSettings } from '../daemon/config/index.js';
import { connectOptions } from '../daemon/nats/index.js';

export interface Leftovers {
  /** Removes what was made since `before`; `consumers` are the names the daemon's syncs used. Returns what it removed. */
  remove(consumers: readonly string[]): Promise<string[]>;
}

/** The streams the daemon makes: events, dead letters, and the KV bucket of identify changes. */
function streamsOf(settings: DaemonSettings): string[] {
  return [settings.stream.name, settings.stream.deadLetterStream, `KV_${settings.stream.identifyMemoryBucket}`];
}

async function snapshot(jsm: JetStreamManager, streams: readonly string[]): Promise<Map<string, Set<string>>> {
  const existing = new Map<string, Set<string>>();
  const names = new Set<string>();
  for await (const name of jsm.streams.names()) names.add(name);
  for (const stream of streams.filter((name) => names.has(name))) {
    const consumers = new Set<string>();
    for await (const info of jsm.consumers.list(stream)) consumers.add(info.name);
    existing.set(stream, consumers);
  }
  return existing;
}

/** Notes what exists now on the configured server; `remove` later takes away what was added. */
export async function noteLeftovers(settings: DaemonSettings): Promise<Leftovers> {
  const streams = streamsOf(settings);
  const open = async (): Promise<{ connection: NatsConnection; jsm: JetStreamManager }> => {
    const connection = await connect({ ...connectOptions(settings.nats, settings.baseDir).options, name: 'destinations-quickstart', maxReconnectAttempts: 0 });
    return { connection, jsm: await jetstreamManager(connection) };
  };
  const first = await open();
  const before = await snapshot(first.jsm, streams).finally(() => first.connection.close());
  return {
    async remove(consumers) {
      const { connection, jsm } = await open();
      const removed: string[] = [];
      try {
        const after = await snapshot(jsm, streams);
        for (const [stream, names] of after) {
          const earlier = before.get(stream);
          if (!earlier) {
            await jsm.streams.delete(stream);
            removed.push(`stream ${stream}`);
            continue;
          }
          for (const name of names) {
            if (earlier.has(name) || !consumers.includes(name)) continue;
            await jsm.consumers.delete(stream, name);
            removed.push(`consumer ${stream}/${name}`);
          }
        }
      } finally {
        await connection.close();
      }
      return removed;
    },
  };
}
