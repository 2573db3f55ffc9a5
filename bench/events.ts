// The events the benchmark publishes, the streams it keeps them in, and publishing: as fast as the
// server takes them (bounded windows of outstanding js.publish promises), or at a fixed rate.
import { RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { testEvent } from '../test/helpers/destination-folder.js';
import { monotonicMs } from './sink.js';

/** About 600 bytes of JSON: the test helper's event with the standard fields a real SDK sends. */
export function benchEvent(index: number, sentAtMs?: number, users?: number): Record<string, unknown> {
  return testEvent(index, {
    ...(users === undefined ? {} : { user_id: `user-${index % users}` }),
    device_id: `device-${(index * 7919) % 100_003}`,
    session_id: 1_700_000_000_000 + Math.floor(index / 50),
    platform: 'Web',
    os_name: 'Chrome',
    os_version: '120.0',
    country: 'Germany',
    city: 'Berlin',
    language: 'de-DE',
    ip: '203.0.113.7',
    app_version: '4.12.0',
    library: 'amplitude-ts/2.5.0',
    event_properties: {
      price: 10 + (index % 90),
      item: `item ${index % 1_000}`,
      currency: 'EUR',
      quantity: 1 + (index % 3),
      category: 'books',
      campaign: 'winter-sale',
      referrer: 'https://www.example.com/landing?utm_source=newsletter',
      ...(sentAtMs === undefined ? {} : { sent_at: sentAtMs }),
    },
    user_properties: { plan: 'pro', signup_week: '2025-W48', cohort: 'b', seats: 12 },
  });
}

/** The properties every bench sync forwards; the baseline loops build the same body by hand. */
export const SELECTED_PROPERTIES = ['price', 'item', 'sent_at'];

export interface StreamSpec {
  name: string;
  subjects: string[];
}

/** Creates the stream, deleting an old one of that name first: every run starts empty. */
export async function freshStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  await jsm.streams.delete(spec.name).catch(() => undefined);
  await jsm.streams.add({ name: spec.name, subjects: spec.subjects, retention: RetentionPolicy.Limits, storage: StorageType.File });
}

export async function deleteStream(jsm: JetStreamManager, name: string): Promise<void> {
  await jsm.streams.delete(name).catch(() => undefined);
}

/**
 * Publishes `count` events as fast as the server stores them, and checks the stream holds them all.
 * Core publishes in chunks, each chunk closed by a flush round trip (bounded: at most one chunk in the
 * client's buffer), then the stream's count is checked and anything missing is topped up with
 * js.publish in bounded windows of outstanding acks. Why not js.publish for everything: in nats.js
 * 3.3 each one is a request with its own reply and timer, ~140 µs of client CPU here against ~16 µs.
 * Returns events/s.
 */
export async function publishBacklog(
  nc: NatsConnection,
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  count: number,
  onProgress?: (done: number) => void,
): Promise<number> {
  const started = performance.now();
  const encoder = new TextEncoder();
  const chunk = 5_000;
  const before = (await jsm.streams.info(stream)).state.messages;
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    for (let i = from; i < to; i++) nc.publish(subject, encoder.encode(JSON.stringify(benchEvent(i))));
    await nc.flush();
    onProgress?.(to);
  }
  // The server has read every message once the last flush returned; the stream may still be storing.
  let stored = 0;
  for (let check = 0; check < 50; check++) {
    stored = (await jsm.streams.info(stream)).state.messages - before;
    if (stored >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const window = 1_000;
  for (let from = stored; from < count; from += window) {
    const acks: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + window); i++) acks.push(js.publish(subject, encoder.encode(JSON.stringify(benchEvent(i)))));
    await Promise.all(acks);
  }
  return count / ((performance.now() - started) / 1_000);
}

/**
 * Publishes at `perSecond` for `seconds`, each event stamped with its publish time (sent_at, CLOCK_MONOTONIC
 * ms). A 5 ms tick publishes whatever is due, so a late tick catches up instead of lowering the rate.
 * Core publishes (the stream stores them; the latency run checks every one arrived): a js.publish
 * per event would cost the publishing process ~0.3 of a core at 2,000/s. Returns how many were published.
 * `users`: event i belongs to user-(i mod users) (default: the test helper's 97 users).
 */
export async function publishAtRate(nc: NatsConnection, subject: string, perSecond: number, seconds: number, users?: number): Promise<number> {
  const encoder = new TextEncoder();
  const started = performance.now();
  const total = Math.round(perSecond * seconds);
  let published = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * perSecond));
      while (published < due) {
        nc.publish(subject, encoder.encode(JSON.stringify(benchEvent(published, monotonicMs(), users))));
        published++;
      }
      if (published >= total || performance.now() - started > seconds * 1_000 + 5_000) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await nc.flush();
  return published;
}
