// /metrics after a real scenario (real nats-server, real HTTP sink, in-process daemon): an event of
// each kind — delivered, retried, filtered, discarded, expired — and each counter checked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../daemon/admin/index.js';
import { useNatsServer, type TestStreams } from '../helpers/nats-server.js';
import { answer, startTestSink, type TestSink } from '../helpers/http-sink.js';
import { makeDestinationsDir, testDefinition, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestDaemon, testSettings, type TestDaemon } from '../helpers/daemon.js';
import { parsePrometheus, type Scrape } from './prometheus-text.js';

const nats = useNatsServer();

before(() => {
  process.env.METRICS_TEST_TOKEN = 'metrics-secret';
});

/** Each test gets its own streams, so consumers never see another test's events. */
/** Re-checks a condition each time the event loop has run other work; bounded by a deadline. */
async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await nats.connection.flush();
  }
}

async function scrape(admin: AdminServer): Promise<{ text: string; metrics: Scrape; contentType: string | null }> {
  const response = await fetch(`http://127.0.0.1:${admin.port}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  return { text, metrics: parsePrometheus(text), contentType: response.headers.get('content-type') };
}

describe('admin metrics', () => {
  let sink: TestSink;
  let daemon: TestDaemon;
  let admin: AdminServer;
  let folder: { dir: string; remove(): void };
  let subject: string;
  let stream: Omit<TestStreams, 'subject'>;

  before(async () => {
    sink = await startTestSink();
    folder = makeDestinationsDir();
    writeDestinationFolder(folder.dir, 'testsink', {
      // Breaker off: the event failing both attempts may be the only request answered in its 20 ms schedule,
      // which to the breaker is a destination that is down (it would wait in the stream, never expired).
      definition: testDefinition({ retry: { initialDelayMs: 20, multiplier: 1, jitter: 0, maxAttempts: 2 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'METRICS_TEST_TOKEN' } }, filter: { eventTypes: ['purchase'] } } },
    });
    ({ subject, ...stream } = nats.streams('metrics', 2_000));
    // Every retry goes through JetStream (nak with delay): the attempts are counted by the server.
    daemon = await startTestDaemon(testSettings(nats.url, folder.dir, { stream, maxInProcessWaitMs: 0 }));
    admin = await startAdminServer(daemon.daemon);
  });

  after(async () => {
    await daemon.stop();
    await admin.close();
    await sink.close();
    folder.remove();
  });

  it('counts delivered, retried, filtered, discarded and expired events per destination and sync', async () => {
    const seen = new Map<string, number>();
    sink.behave((request) => {
      const id = JSON.parse(request.body).insert_id as string;
      const times = (seen.get(id) ?? 0) + 1;
      seen.set(id, times);
      if (id === 'retry') return times === 1 ? answer.status(500) : answer.ok();
      if (id === 'bad') return { status: 400, body: '{"error":"no"}' };
      if (id === 'expire') return answer.status(503);
      return answer.ok();
    });
    await nats.js.publish(subject, JSON.stringify(testEvent(1, { insert_id: 'ok' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(2, { insert_id: 'retry' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(3, { insert_id: 'view', event_type: 'view' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(4, { insert_id: 'bad' })));
    await nats.js.publish(subject, JSON.stringify(testEvent(5, { insert_id: 'expire' })));
    await nats.js.publish(subject, '{"event_type": "purchase", "user_id": ');
    const stats = daemon.daemon.syncStats.get('testsink.main')!;
    await waitUntil(() => stats.deliveredFirstAttempt + stats.deliveredAfterRetry === 2 && stats.expired === 1 && stats.discarded.size === 2 && stats.inFlight === 0);
    // Every message settled on the server: acked, or terminated once its dead letter was written.
    const runner = daemon.daemon.runners.get('testsink.main')!;
    await waitUntil(async () => (await runner.consumerInfo()).num_ack_pending === 0);

    const { metrics, contentType } = await scrape(admin);
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const sync = { destination: 'testsink', sync: 'testsink.main' };
    const expected: Array<[string, Record<string, string>, number]> = [
      ['destinations_events_received_total', sync, 8], // six events, two of them redelivered once
      ['destinations_events_delivered_total', { ...sync, attempt: 'first' }, 1],
      ['destinations_events_delivered_total', { ...sync, attempt: 'retry' }, 1],
      ['destinations_events_filtered_total', sync, 1],
      ['destinations_events_discarded_total', { ...sync, reason: 'http_4xx' }, 1],
      ['destinations_events_discarded_total', { ...sync, reason: 'invalid_event' }, 1],
      ['destinations_events_expired_total', sync, 1],
      ['destinations_events_retried_in_process_total', sync, 0],
      ['destinations_events_deferred_total', sync, 2],
      ['destinations_requests_total', sync, 6],
      ['destinations_http_responses_total', { ...sync, status_class: '2xx' }, 2],
      ['destinations_http_responses_total', { ...sync, status_class: '4xx' }, 1],
      ['destinations_http_responses_total', { ...sync, status_class: '5xx' }, 3],
      ['destinations_request_failures_total', { ...sync, reason: 'http_4xx' }, 1],
      ['destinations_request_failures_total', { ...sync, reason: 'http_5xx' }, 3],
      ['destinations_requests_in_flight', sync, 0],
      ['destinations_requests_waiting_for_retry', sync, 0],
      ['destinations_dead_letter_failures_total', sync, 0],
      ['destinations_delivery_latency_seconds_count', sync, 2],
      ['destinations_delivery_latency_seconds_bucket', { ...sync, le: '+Inf' }, 2],
      ['destinations_limiter_wait_seconds_count', sync, 6],
      ['destinations_limiter_queued_requests', sync, 0],
      ['destinations_limiter_running_requests', sync, 0],
      ['destinations_limiter_paused', sync, 0],
      ['destinations_consumer_pending_messages', sync, 0],
      ['destinations_nats_connected', {}, 1],
      ['destinations_reloads_total', { result: 'ok' }, 0],
    ];
    for (const [name, labels, value] of expected) assert.equal(metrics.value(name, labels), value, `${name} ${JSON.stringify(labels)}`);
    assert.equal(metrics.types.get('destinations_delivery_latency_seconds'), 'histogram');
    assert.equal(metrics.types.get('destinations_events_delivered_total'), 'counter');
    assert.equal(metrics.types.get('destinations_requests_in_flight'), 'gauge');
    const latencySum = metrics.value('destinations_delivery_latency_seconds_sum', sync)!;
    assert.ok(latencySum > 0 && latencySum < 60, `publish → delivered took ${latencySum} s in all`);
    const version = daemon.daemon.loadedDestinations[0].version;
    assert.equal(metrics.value('destinations_sync_info', { ...sync, version, enabled: 'true', running: 'true' }), 1);
  });

  it('reports the consumer lag from the server, and counts reloads by result', async () => {
    const runner = daemon.daemon.runners.get('testsink.main')!;
    await runner.stopPulling();
    for (let i = 0; i < 3; i++) await nats.js.publish(subject, JSON.stringify(testEvent(10 + i)));
    let { metrics } = await scrape(admin);
    const labels = { destination: 'testsink', sync: 'testsink.main' };
    const info = await runner.consumerInfo();
    // A pull the client had already asked for may have taken some of them: not acked either way.
    assert.equal(metrics.value('destinations_consumer_pending_messages', labels), info.num_pending);
    assert.equal(metrics.value('destinations_consumer_ack_pending_messages', labels), info.num_ack_pending);
    assert.equal(info.num_pending + info.num_ack_pending, 3, 'the three events not yet delivered');

    // A reload that changes the sync replaces its runner: the counters carry on.
    writeDestinationFolder(folder.dir, 'testsink', {
      definition: testDefinition({ retry: { initialDelayMs: 20, multiplier: 1, jitter: 0, maxAttempts: 2 }, circuitBreaker: { enabled: false } }),
      syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'METRICS_TEST_TOKEN' } } } },
    });
    assert.equal((await daemon.daemon.reload()).ok, true);
    // The new runner gets the three; any the stopped pull had taken come back after ack_wait (and
    // count as delivered after a retry: that was their second delivery).
    const stats = daemon.daemon.syncStats.get('testsink.main')!;
    await waitUntil(() => stats.deliveredFirstAttempt + stats.deliveredAfterRetry === 5, 30_000);
    ({ metrics } = await scrape(admin));
    assert.equal(metrics.value('destinations_reloads_total', { result: 'ok' }), 1);
    assert.equal(metrics.value('destinations_reloads_total', { result: 'rejected' }), 0);
    assert.equal(metrics.value('destinations_last_reload_success', {}), 1);
    const delivered = (attempt: string) => metrics.value('destinations_events_delivered_total', { ...labels, attempt })!;
    assert.equal(delivered('first') + delivered('retry'), 5, 'two before the reload, three after: the counters carry on');

    writeDestinationFolder(folder.dir, 'testsink', { definition: { ...testDefinition(), request: 'not an object' }, syncs: {} });
    assert.equal((await daemon.daemon.reload()).ok, false);
    ({ metrics } = await scrape(admin));
    assert.equal(metrics.value('destinations_reloads_total', { result: 'rejected' }), 1);
    assert.equal(metrics.value('destinations_last_reload_success', {}), 0);
  });
});
