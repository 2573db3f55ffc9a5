// A destination down for longer than its whole retry schedule, then back: the circuit breaker keeps
// the events in the stream instead of spending their attempts, probes at growing intervals, and
// delivers everything once the destination answers. Real nats-server, real node:http sink.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { installTracing, type TracingHandle } from '../../daemon/telemetry/index.js';
import { SpanRecorder } from '../telemetry/span-recorder.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { adminReport } from '../../daemon/admin/index.js';
import { renderMetrics } from '../../daemon/telemetry/daemon-metrics.js';
import { formatStatus } from '../../tools/commands/status.js';
import { startTestDaemon, testSettings } from '../helpers/daemon.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { answer, startTestSink } from '../helpers/http-sink.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const recorder = new SpanRecorder();
let tracing: TracingHandle;

before(async () => {
  process.env.BREAKER_TOKEN = 'breaker-secret';
  tracing = await installTracing([new SimpleSpanProcessor(recorder)]);
});

after(async () => {
  await tracing.shutdown();
});

describe('daemon circuit breaker', () => {
  it('holds a sync off while its destination is down longer than the retry schedule, probes, and delivers every event once it is back, none dead-lettered', async () => {
    let down = true;
    const deliveredIds = new Set<string>();
    const sink = await startTestSink((request) => {
      if (down) return answer.status(503);
      deliveredIds.add(JSON.parse(request.body).insert_id as string);
      return answer.ok();
    });
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'flaky', {
      definition: testDefinition({
        // The whole schedule: 3 attempts within about 300 ms.
        retry: { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, jitter: 0 },
        circuitBreaker: { minimumRequests: 5, failureRate: 0.7, windowSeconds: 10, probeIntervalMs: 200, maxProbeIntervalMs: 800 },
      }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'BREAKER_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('breaker');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync: 8 }));
    const runner = () => daemon.daemon.runners.get('flaky.main')!;
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i)))));
      await waitUntil(nats.connection, () => runner().circuit.state !== 'closed', 10_000, 'the circuit opened');
      assert.ok(daemon.logs.some((line) => line.msg === 'circuit open: the destination keeps failing, so the sync takes no messages and its events wait in the stream'));
      const view = daemon.daemon.view();
      assert.match(formatStatus(adminReport(view)), /circuit (open|half-open) since .*holding the sync off since/);
      assert.match(renderMetrics(view, new Map(), Date.now()), /^destinations_circuit_state\{destination="flaky",sync="flaky\.main",state="(open|half_open)"\} 1$/m);
      // The traces say why those attempts ended released: held by the breaker.
      const held = await recorder.waitFor((span) => span.events.some((event) => event.name === 'held' && event.attributes?.['destinations.held.by'] === 'circuit_breaker'), 1, 10_000);
      assert.ok(held.length >= 1);

      // Down for several probes: far longer than the 300 ms the retry schedule lasts.
      const openedAt = Date.now();
      await waitUntil(nats.connection, () => daemon.logs.filter((line) => line.msg === 'circuit open again: the probe failed').length >= 3, 15_000, 'three failed probes');
      assert.ok(Date.now() - openedAt > 1_000, 'down for over a second');
      const duringOutage = sink.requests.length;
      // Without the breaker: 50 events × 3 attempts. With it: what was in flight when it opened, and the probes.
      assert.ok(duringOutage <= 8 + 8 + 4, `${duringOutage} requests while the destination was down`);

      down = false;
      await waitUntil(nats.connection, () => runner().stats.deliveredFirstAttempt + runner().stats.deliveredAfterRetry === 50, 20_000, 'every event delivered');
      assert.equal(runner().circuit.state, 'closed');
      assert.ok(daemon.logs.some((line) => String(line.msg).startsWith('circuit closed')));
      assert.equal(runner().stats.expired, 0, 'none ran out of attempts');
      assert.equal(runner().stats.discarded.size, 0, 'none discarded');
      const jsm = await jetstreamManager(nats.connection);
      assert.equal((await jsm.streams.info(stream.deadLetterStream)).state.messages, 0, 'no dead letter');
      assert.equal(deliveredIds.size, 50, 'each of the 50 events reached the destination');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });

  // Issue 24, finding 7: with the window full of earlier successes, the failure rate alone opened the
  // breaker only after events had used up their schedules. Scaled down: a 300 ms schedule (3
  // attempts, 100 ms doubling) instead of 3 s, 200 successes, then 60 events into a destination
  // answering 503 until the breaker has failed two probes.
  for (const [rule, circuitBreaker, maxInFlightPerSync] of [
    // 60 first attempts at once: the 20th failure in a row opens it.
    ['consecutive_failures', {}, 64],
    // 8 at a time, and 60 events × 3 attempts can neither fill the window past 70 % nor reach 1,000 in
    // a row: only a run as long as the schedule opens it, on the first failed third attempt.
    ['retry_schedule', { consecutiveFailures: 1_000 }, 8],
  ] as const) {
    it(`after a backlog of successes, opens (${rule}) before any event of an outage uses up its retries: none dead-lettered, every event delivered once the destination is back`, async () => {
      let down = false;
      const deliveredIds = new Set<string>();
      const sink = await startTestSink((request) => {
        if (down) return answer.status(503);
        deliveredIds.add(JSON.parse(request.body).insert_id as string);
        return answer.ok();
      });
      const folder = makeDestinationsDir();
      writeDestinationFolder(folder.dir, 'outage', {
        definition: testDefinition({
          retry: { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, jitter: 0.2 },
          // The default window, rate and minimum; probes sooner, to keep the test short.
          circuitBreaker: { ...circuitBreaker, probeIntervalMs: 200, maxProbeIntervalMs: 400 },
        }),
        syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'BREAKER_TOKEN' } } } },
      });
      const { subject, ...stream } = nats.streams(`outage${rule === 'retry_schedule' ? 'schedule' : 'row'}`);
      const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInFlightPerSync }));
      const runner = () => daemon.daemon.runners.get('outage.main')!;
      const delivered = () => runner().stats.deliveredFirstAttempt + runner().stats.deliveredAfterRetry;
      try {
        await Promise.all(Array.from({ length: 200 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i)))));
        await waitUntil(nats.connection, () => delivered() === 200, 20_000, 'the backlog delivered');

        down = true;
        await Promise.all(Array.from({ length: 60 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(200 + i)))));
        await waitUntil(nats.connection, () => daemon.logs.filter((line) => line.msg === 'circuit open again: the probe failed').length >= 2, 15_000, 'two failed probes');
        const opened = daemon.logs.filter((line) => String(line.msg).startsWith('circuit open: '));
        assert.deepEqual(opened.map((line) => line.openedBy), [rule]);
        assert.equal(runner().stats.expired, 0, 'no event ran out of attempts during the outage');

        down = false;
        await waitUntil(nats.connection, () => delivered() === 260, 20_000, 'every event delivered');
        assert.equal(runner().circuit.state, 'closed');
        assert.equal(runner().stats.expired, 0);
        assert.equal(runner().stats.discarded.size, 0);
        const jsm = await jetstreamManager(nats.connection);
        assert.equal((await jsm.streams.info(stream.deadLetterStream)).state.messages, 0, 'no dead letter');
        assert.equal(deliveredIds.size, 260);
      } finally {
        await daemon.stop();
        await sink.close();
        folder.remove();
      }
    });
  }

  it('does not open on permanent failures: a 400 is the event\'s fault, not the destination\'s', async () => {
    const sink = await startTestSink(() => answer.status(400));
    const folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'strict', {
      definition: testDefinition({ circuitBreaker: { minimumRequests: 5, failureRate: 0.5, windowSeconds: 10, probeIntervalMs: 200 } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'BREAKER_TOKEN' } } } },
    });
    const { subject, ...stream } = nats.streams('breaker4xx');
    const daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream }));
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => nats.js.publish(subject, JSON.stringify(testEvent(i)))));
      const runner = daemon.daemon.runners.get('strict.main')!;
      await waitUntil(nats.connection, () => runner.stats.discarded.get('http_4xx') === 20, 10_000, 'every event dead-lettered as http_4xx');
      assert.equal(runner.circuit.state, 'closed');
    } finally {
      await daemon.stop();
      await sink.close();
      folder.remove();
    }
  });
});
