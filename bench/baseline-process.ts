// The no-frills baseline, run as its own process so its CPU is read the same way as the daemon's:
// JetStream consume → JSON.parse → a hand-built body → undici POST → ack on 200, bounded in flight.
// No template, no limiter, no machine. Its knobs are the optimisations the daemon could take:
//   consume: 'iterator' (for await + a capacity gate, as the daemon does) | 'callback' (consume({callback})
//            with a local queue behind the same gate);
//   ack:     'each' (msg.ack() in the response handler) | 'turn' (acks gathered and sent in one go per
//            event-loop turn) | 'watermark' (AckPolicy.All; the highest message below which all are done
//            is acked, once per turn);
//   mode:    'single' (an event a request) | 'batched' (batchSize events a request, batchWaitMs at most);
//   maxMessages (consume's pull size), connections (undici pool), maxAckPending, inFlight (requests).
// It runs until the parent says stop, or maxSeconds passes, then drains and exits by itself.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Pool } from 'undici';

export interface BaselineConfig {
  natsUrl: string;
  stream: string;
  consumer: string;
  sinkUrl: string;
  token: string;
  mode: 'single' | 'batched';
  batchSize: number;
  batchWaitMs: number;
  inFlight: number;
  consume: 'iterator' | 'callback';
  ack: 'each' | 'turn' | 'watermark';
  maxMessages: number;
  maxAckPending: number;
  connections: number;
  maxSeconds: number;
}

export type BaselineMessage = { type: 'ready' } | { type: 'failed'; error: string } | { type: 'stopped'; handled: number; non200: number; errors: number };

const config = JSON.parse(process.argv[2]) as BaselineConfig;
const send = (message: BaselineMessage): void => void process.send?.(message);

const nc = await connect({ servers: config.natsUrl, name: `bench-${config.consumer}` });
const jsm = await jetstreamManager(nc);
await jsm.consumers.add(config.stream, {
  durable_name: config.consumer,
  ack_policy: config.ack === 'watermark' ? AckPolicy.All : AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  ack_wait: 30_000_000_000,
  max_ack_pending: config.maxAckPending,
  max_deliver: -1,
});
const consumer = await jetstream(nc).consumers.get(config.stream, config.consumer);
const pool = new Pool(config.sinkUrl, { connections: config.connections });
const decoder = new TextDecoder();
const headers = { 'content-type': 'application/json', authorization: `Bearer ${config.token}` };

let handled = 0;
let non200 = 0;
let errors = 0;
let stopping = false;

// ---- acknowledging -------------------------------------------------------------------------
let ackQueue: JsMsg[] = [];
let ackScheduled = false;
/** Watermark (AckPolicy.All): consumer sequences done, the next one not yet done, the message to ack. */
const doneSeqs = new Set<number>();
let nextSeq = -1;
let watermarkMsg: JsMsg | undefined;
const doneMsgs = new Map<number, JsMsg>();

function flushAcks(): void {
  ackScheduled = false;
  if (config.ack === 'watermark') {
    const msg = watermarkMsg;
    watermarkMsg = undefined;
    msg?.ack();
    return;
  }
  const queue = ackQueue;
  ackQueue = [];
  for (const msg of queue) msg.ack();
}

function settle(msgs: JsMsg[], ok: boolean): void {
  if (!ok) {
    // Not measured (the sink answers 200); a batch with a failure is retried by JetStream.
    for (const msg of msgs) msg.nak();
    return;
  }
  handled += msgs.length;
  if (config.ack === 'each') {
    for (const msg of msgs) msg.ack();
    return;
  }
  if (config.ack === 'turn') {
    for (const msg of msgs) ackQueue.push(msg);
  } else {
    for (const msg of msgs) {
      const seq = msg.info.deliverySequence;
      doneSeqs.add(seq);
      doneMsgs.set(seq, msg);
    }
    if (nextSeq === -1) nextSeq = 1;
    while (doneSeqs.has(nextSeq)) {
      doneSeqs.delete(nextSeq);
      watermarkMsg = doneMsgs.get(nextSeq);
      doneMsgs.delete(nextSeq);
      nextSeq++;
    }
  }
  if (!ackScheduled) {
    ackScheduled = true;
    setImmediate(flushAcks);
  }
}

// ---- sending ------------------------------------------------------------------------------
let inFlight = 0;
let capacityWaiter: (() => void) | undefined;

function post(path: string, body: string, msgs: JsMsg[], idempotencyKey?: string): void {
  inFlight++;
  pool
    .request({ method: 'POST', path, headers: idempotencyKey ? { ...headers, 'idempotency-key': idempotencyKey } : headers, body })
    .then(async (response) => {
      await response.body.dump();
      if (response.statusCode !== 200) non200++;
      settle(msgs, response.statusCode === 200);
    })
    .catch(() => {
      errors++;
      settle(msgs, false);
    })
    .finally(() => {
      inFlight--;
      if (capacityWaiter && inFlight < config.inFlight) {
        const wake = capacityWaiter;
        capacityWaiter = undefined;
        wake();
      }
      drainQueue();
    });
}

interface BenchEvent {
  event_type: string;
  user_id?: string;
  insert_id?: string;
  event_properties?: { price?: unknown; item?: unknown; sent_at?: unknown };
}

function eventOf(msg: JsMsg): BenchEvent {
  return JSON.parse(decoder.decode(msg.data)) as BenchEvent;
}

function handleSingle(msg: JsMsg): void {
  const event = eventOf(msg);
  const properties = event.event_properties ?? {};
  const body = JSON.stringify({
    event: event.event_type,
    user: event.user_id,
    insert_id: event.insert_id,
    properties: { price: properties.price, item: properties.item, sent_at: properties.sent_at },
  });
  post('/track', body, [msg], event.insert_id);
}

let batch: JsMsg[] = [];
let batchBodies: string[] = [];
let batchTimer: NodeJS.Timeout | undefined;

function flushBatch(): void {
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.length === 0) return;
  const msgs = batch;
  const body = `{"events":[${batchBodies.join(',')}]}`;
  batch = [];
  batchBodies = [];
  post('/batch', body, msgs);
}

function handleBatched(msg: JsMsg): void {
  const event = eventOf(msg);
  batch.push(msg);
  batchBodies.push(JSON.stringify({ event: event.event_type, insert_id: event.insert_id, sent_at: event.event_properties?.sent_at }));
  if (batch.length >= config.batchSize) flushBatch();
  else batchTimer ??= setTimeout(flushBatch, config.batchWaitMs);
}

const handle = config.mode === 'single' ? handleSingle : handleBatched;

// ---- consuming ----------------------------------------------------------------------------
/** Requests in flight, or for batches the events waiting in them, at the gate. */
function full(): boolean {
  return inFlight >= config.inFlight;
}

const queued: JsMsg[] = [];
let queueHead = 0;
function drainQueue(): void {
  while (queueHead < queued.length && !full()) handle(queued[queueHead++]);
  if (queueHead === queued.length) {
    queued.length = 0;
    queueHead = 0;
  }
}

const messages = await consumer.consume(
  config.consume === 'callback'
    ? {
        max_messages: config.maxMessages,
        callback: (msg) => {
          if (full() || queueHead < queued.length) queued.push(msg);
          else handle(msg);
        },
      }
    : { max_messages: config.maxMessages },
);
send({ type: 'ready' });

async function iterate(): Promise<void> {
  for await (const msg of messages) {
    handle(msg);
    if (full() && !stopping) await new Promise<void>((resolve) => (capacityWaiter = resolve));
  }
}
const loop = config.consume === 'iterator' ? iterate() : Promise.resolve();

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(deadline);
  await messages.close().catch(() => undefined);
  capacityWaiter?.();
  await loop.catch(() => undefined);
  flushBatch();
  flushAcks();
  await pool.close().catch(() => undefined);
  await nc.drain().catch(() => undefined);
  send({ type: 'stopped', handled, non200, errors });
  process.disconnect?.();
}

const deadline = setTimeout(() => void stop(), config.maxSeconds * 1_000);
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.on('unhandledRejection', (error) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
