// ordering "user": one user's events reach the destination in stream order through random
// failures and retries, a user whose event waits for its retry holds only its own later events,
// users waiting out retries do not hold back the others however many events they hold (issue 28),
// and a stop hands held events back at once. Real nats-server, real node:http sink.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { renderMetrics } from '../../daemon/telemetry/daemon-metrics.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, TEST_BATCH_BODY, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink, type RecordedRequest } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();

before(() => {
  process.env.ORDERING_TOKEN = 'ordering-secret';
});

/** A seeded draw in [0, 1) (mulberry32): the same failures on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The insert_ids a request carries (one event, or a batch). */
function insertIdsOf(request: RecordedRequest): string[] {
  const body = JSON.parse(request.body) as { insert_id?: string; events?: Array<{ insert_id: string }> };
  return body.events ? body.events.map((event) => event.insert_id) : [body.insert_id!];
}

/** Each event's last successful delivery, as an index into the 2xx answers: must rise in insert order. */
function lastDeliveries(delivered: string[][], ids: string[]): number[] {
  const last = new Map<string, number>();
  delivered.forEach((request, index) => request.forEach((id) => last.set(id, index)));
  return ids.map((id) => last.get(id) ?? -1);
}

const RETRY = { maxAttempts: 9, initialDelayMs: 10, multiplier: 2, jitter: 0 };

describe('daemon per-user ordering', () => {
  for (const batched of [false, true]) {
    it(`delivers one user's 300 events in stream order through a sink failing a random fifth of its requests${batched ? ' (batches of up to 7)' : ''}`, async () => {
      const draw = seeded(batched ? 7 : 13);
      const delivered: string[][] = [];
      const sink = await startTestSink((request) => {
        if (draw() < 0.2) return answer.status(500);
        delivered.push(insertIdsOf(request));
        return answer.ok();
      });
      const folder = makeDestinationsDir();
      writeDestinationFolder(folder.dir, 'ordered', {
        definition: testDefinition({ retry: RETRY, ...(batched ? { batch: { maxEvents: 7, maxWaitMs: 5 } } : {}) }),
        ...(batched ? { body: TEST_BATCH_BODY } : {}),
        syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'ORDERING_TOKEN' } } } },
      });
      const { subject, ...stream } = nats.streams('ordering');
      const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync: 64 }));
      const runner = daemon.daemon.runners.get('ordered.main')!;
      const ids = Array.from({ length: 300 }, (_, i) => `insert-${i}`);
      try {
        for (let i = 0; i < ids.length; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { user_id: 'only-user' })));
        await waitUntil(nats.connection, () => new Set(delivered.flat()).size === ids.length, 60_000, 'every event delivered');
        assert.ok(runner.stats.deliveredAfterRetry > 0, 'some events were retried');
        const last = lastDeliveries(delivered, ids);
        const outOfOrder = last.findIndex((index, i) => i > 0 && index < last[i - 1]);
        assert.equal(outOfOrder, -1, `insert-${outOfOrder} was last delivered before insert-${outOfOrder - 1}`);
        for (const request of delivered) assert.deepEqual(request, [...request].sort((a, b) => Number(a.slice(7)) - Number(b.slice(7))), 'a batch keeps the user\'s order');
      } finally {
        await daemon.stop();
        await sink.close();
        folder.remove();
      }
    });
  }

  it('keeps users without failures flowing while failing users hold more events behind their retries than maxAckPending, then delivers every user in order', async () => {
    // The bench's ordering-failures row scaled down: 30 users, 4 of them failing until told
    // otherwise; maxAckPending 20 is far less than what the failing users hold.
    const failingUsers = new Set(['user-0', 'user-7', 'user-14', 'user-21']);
    let failing = true;
    const delivered: string[][] = [];
    const sink = await startTestSink((request) => {
      const body = JSON.parse(request.body) as { user: string; insert_id: string };
      if (failing && failingUsers.has(body.user)) return answer.status(503);
      delivered.push([body.insert_id]);
      return answer.ok();
    });
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'ordered', {
      // Every retry through JetStream (nak with 300 ms), as the default schedule's minute does.
      definition: testDefinition({ retry: { maxAttempts: 100, initialDelayMs: 300, multiplier: 1, jitter: 0 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'ORDERING_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('orderingfailing');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream: { ...stream, maxAckPending: 20 }, maxInProcessWaitMs: 0 }));
    const runner = daemon.daemon.runners.get('ordered.main')!;
    const users = 30;
    const ids = Array.from({ length: 600 }, (_, i) => `insert-${i}`);
    const userOf = (i: number) => `user-${i % users}`;
    const flowing = ids.filter((_, i) => !failingUsers.has(userOf(i)));
    const deliveredIds = () => new Set(delivered.flat());
    try {
      for (let from = 0; from < ids.length; from += 100) {
        await Promise.all(ids.slice(from, from + 100).map((_, k) => nats.js.publish(subject, JSON.stringify(testEvent(from + k, { user_id: userOf(from + k) })))));
      }
      await waitUntil(nats.connection, () => flowing.every((id) => deliveredIds().has(id)), 60_000, 'every event of the users without failures delivered while the others fail');
      assert.ok(sink.requests.some((request) => failingUsers.has(JSON.parse(request.body).user)), 'the failing users were tried');
      // The failing users hold their later events (in hand, behind their retries) and JetStream holds
      // their first ones: far more than maxAckPending, which no longer bounds them.
      assert.ok(runner.stats.heldByUserBarrier >= 60, `held ${runner.stats.heldByUserBarrier}`);
      assert.ok((await runner.consumerInfo()).num_ack_pending > 20);

      failing = false;
      await waitUntil(nats.connection, () => deliveredIds().size === ids.length, 60_000, 'every event delivered once the failing users recover');
      for (let user = 0; user < users; user++) {
        const own = ids.filter((_, i) => i % users === user);
        const last = lastDeliveries(delivered, own);
        const outOfOrder = last.findIndex((index, i) => i > 0 && index < last[i - 1]);
        assert.equal(outOfOrder, -1, `user-${user}: ${own[outOfOrder]} was last delivered before ${own[outOfOrder - 1]}`);
      }
      await waitUntil(nats.connection, () => runner.stats.heldByUserBarrier === 0, 10_000, 'nothing held');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it('stops taking at maxAckPending in hand when users wait for their own requests, handing nothing back, then delivers in order', async () => {
    // A backlog without failures: each user's later events wait for its request on the wire. Those
    // count against maxAckPending, where the sync parks: no churn through the stream.
    const sink = await startTestSink(() => 'hold');
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'ordered', { syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'ORDERING_TOKEN' } } } } });
    const { subject, ...stream } = nats.streams('orderingbacklog');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream: { ...stream, maxAckPending: 20 } }));
    const runner = daemon.daemon.runners.get('ordered.main')!;
    const ids = Array.from({ length: 90 }, (_, i) => `insert-${i}`);
    try {
      await Promise.all(ids.map((_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i, { user_id: `user-${i % 3}` })))));
      await waitUntil(nats.connection, () => runner.parkedAt === 'hand', 10_000, 'parked with its hands full');
      assert.equal(runner.pendingMessages, 21, 'twenty in hand and the one at the gate');
      assert.equal(runner.stats.heldByUserBarrier, 17, 'three on the wire, one per user');
      sink.behave(() => answer.ok());
      sink.release();
      await waitUntil(nats.connection, () => runner.stats.deliveredFirstAttempt === ids.length, 20_000, 'every event delivered');
      assert.equal(runner.stats.returnedByUserBarrier, 0, 'nothing handed back to the stream');
      for (let user = 0; user < 3; user++) {
        const sent = sink.requests.map((request) => JSON.parse(request.body) as { user: string; insert_id: string }).filter((body) => body.user === `user-${user}`);
        assert.deepEqual(sent.map((body) => body.insert_id), ids.filter((_, i) => i % 3 === user));
      }
    } finally {
      sink.behave(() => answer.ok());
      sink.release();
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  it("lets other users' events flow while one user's event waits for its retry, holding only that user's later events; a stop hands them back at once", async () => {
    const sink = await startTestSink((request) => (JSON.parse(request.body).user === 'failing' ? answer.status(503) : answer.ok()));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'ordered', {
      // The first retry is a minute away: handed back to the stream with nak(60 s).
      definition: testDefinition({ retry: { maxAttempts: 9, initialDelayMs: 60_000, jitter: 0 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { ordering: 'user', parameters: { endpoint: sink.url, token: { env: 'ORDERING_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('orderingheld', 30_000);
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    const runner = daemon.daemon.runners.get('ordered.main')!;
    try {
      await nats.js.publish(subject, JSON.stringify(testEvent(0, { user_id: 'failing' })));
      await waitUntil(nats.connection, () => runner.stats.deferred === 1, 10_000, "the failing user's first event deferred");
      for (let i = 1; i <= 5; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { user_id: 'failing' })));
      for (let i = 6; i < 56; i++) await nats.js.publish(subject, JSON.stringify(testEvent(i, { user_id: `flowing-${i % 5}` })));
      await waitUntil(nats.connection, () => runner.stats.deliveredFirstAttempt === 50 && runner.stats.heldByUserBarrier === 5, 10_000, 'the other users delivered, the failing user held');
      assert.equal(sink.requests.filter((request) => JSON.parse(request.body).user === 'failing').length, 1, "the failing user's later events were not sent");
      assert.equal(runner.stats.usersHeldByBarrier, 1);
      const metrics = renderMetrics(daemon.daemon.view(), new Map(), Date.now());
      assert.match(metrics, /^destinations_events_held_by_user_barrier\{destination="ordered",sync="ordered\.main"\} 5$/m);
      assert.match(metrics, /^destinations_users_held_by_barrier\{destination="ordered",sync="ordered\.main"\} 1$/m);

      // Every other event acked: only the deferred one and the five held are pending at the server.
      await waitUntil(nats.connection, async () => (await runner.consumerInfo()).num_ack_pending === 6, 10_000, 'the flowing events acked');
      // The stop hands the five back at once (nak, no delay): nothing is left in hand to wait for the drain.
      await runner.stopPulling();
      assert.equal(runner.stats.heldByUserBarrier, 0);
      assert.equal(runner.stats.usersHeldByBarrier, 0);
      assert.equal(runner.pendingMessages, 0, 'nothing left in hand');
      // And they are back in the stream at once: the next reader gets all five now, not after ack_wait (30 s).
      await daemon.stop();
      const consumer = await nats.js.consumers.get(stream.name, 'ordered__main');
      const back = new Set<string>();
      const deadline = Date.now() + 5_000;
      while (back.size < 5 && Date.now() < deadline) {
        for await (const msg of await consumer.fetch({ max_messages: 10, expires: 1_000 })) {
          back.add(JSON.parse(msg.string()).insert_id as string);
          msg.nak(60_000);
        }
      }
      assert.deepEqual([...back].filter((id) => Number(id.split('-')[1]) <= 5).sort(), ['insert-1', 'insert-2', 'insert-3', 'insert-4', 'insert-5']);
    } finally {
      await daemon.stop().catch(() => undefined);
      await sink.close();
      folder.remove();
    }
  });
});
