// Waiting for a condition without sleeping: each check yields to the event loop through a NATS
// round trip (which the daemon under test needs anyway), bounded by a deadline.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';

export async function waitUntil(connection: NatsConnection, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await connection.flush();
  }
}

/** Resolves when the stream holds at least `count` messages (dead letters are written asynchronously). */
export async function waitForStreamCount(connection: NatsConnection, streamName: string, count: number, timeoutMs = 10_000): Promise<void> {
  const jsm = await jetstreamManager(connection);
  await waitUntil(
    connection,
    async () => ((await jsm.streams.info(streamName).catch(() => undefined))?.state.messages ?? 0) >= count,
    timeoutMs,
    `${count} messages in ${streamName}`,
  );
}
