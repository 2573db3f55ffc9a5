// A real node:http destination on 127.0.0.1 whose answers a test scripts: a status (200, 400,
// 429 with Retry-After, 500 …), a hang, a hold (answered when the test says), or a reset connection. It records every request and lets
// a test await the n-th one instead of sleeping.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string };
export type SinkAnswer = Reply | 'hang' | 'hold' | 'reset';
export type SinkBehaviour = (request: RecordedRequest, index: number) => SinkAnswer;

export interface TestSink {
  url: string;
  port: number;
  requests: RecordedRequest[];
  behave(behaviour: SinkBehaviour): void;
  /** Requests answered 'hold' and not released yet. */
  readonly held: number;
  /** Answers every held request (200 by default, or what `reply` says for each). */
  release(reply?: Reply | ((request: RecordedRequest) => Reply)): void;
  /** Resolves when at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export const answer = {
  ok: (): SinkAnswer => ({ status: 200, body: '{"ok":true}' }),
  status: (status: number, headers?: Record<string, string>): SinkAnswer => ({ status, headers, body: `{"status":${status}}` }),
};

export async function startTestSink(behaviour: SinkBehaviour = () => answer.ok()): Promise<TestSink> {
  let current = behaviour;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let held: Array<{ request: RecordedRequest; send: (reply: Reply) => void }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      const reply = current(recorded, requests.length - 1);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      if (reply === 'hang') return;
      if (reply === 'reset') return request.socket.destroy();
      const send = (answered: Reply) => {
        response.writeHead(answered.status, { 'content-type': 'application/json', ...answered.headers });
        response.end(answered.body ?? '');
      };
      if (reply === 'hold') held.push({ request: recorded, send });
      else send(reply);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    behave: (next) => (current = next),
    get held() {
      return held.length;
    },
    release(reply = { status: 200, body: '{"ok":true}' }) {
      const answering = held;
      held = [];
      for (const { request, send } of answering) send(typeof reply === 'function' ? reply(request) : reply);
    },
    waitForRequests(count, timeoutMs = 20_000) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sink got ${requests.length} of ${count} requests within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests);
          },
        });
      });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The insert_ids of the one-event requests a sink has seen, each body read once however often it is asked. */
const insertIdsSeen = new WeakMap<TestSink, { read: number; ids: Set<string> }>();

export function distinctInsertIds(sink: TestSink): Set<string> {
  let seen = insertIdsSeen.get(sink);
  if (seen === undefined) insertIdsSeen.set(sink, (seen = { read: 0, ids: new Set() }));
  for (; seen.read < sink.requests.length; seen.read++) seen.ids.add(JSON.parse(sink.requests[seen.read].body).insert_id as string);
  return seen.ids;
}

/** Waits until the sink has seen `count` distinct insert_ids (redeliveries count once). */
export async function waitForDistinctInsertIds(sink: TestSink, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (distinctInsertIds(sink).size < count) {
    if (Date.now() > deadline) throw new Error(`only ${distinctInsertIds(sink).size} of ${count} distinct events arrived (${sink.requests.length} requests)`);
    await sink.waitForRequests(sink.requests.length + 1, deadline - Date.now());
  }
}
