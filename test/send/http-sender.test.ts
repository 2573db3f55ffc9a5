import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { classify } from '../../daemon/delivery/classify.js';
import { DeliveryCancel } from '../../daemon/delivery/delivery-machine.js';
import { RetryableDeliveryError, ShutdownError } from '../../daemon/delivery/errors.js';
import { DEFAULT_RESPONSE_EXCERPT_BYTES } from '../../daemon/defaults.js';
import type { RenderedRequest } from '../../daemon/render/index.js';
import { HttpSender } from '../../daemon/send/index.js';

const TEN_MB = 10 * 1_048_576;

interface Destination {
  server: Server;
  origin: string;
  /** TCP connections the server accepted. */
  connections: number;
  /** Requests that reached /hang, resolved as they arrive. */
  hung: Array<() => void>;
  /** Bytes /huge-chunked managed to write before the client went away. */
  hugeWritten: Promise<number>;
  echoes: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }>;
}

async function startDestination(): Promise<Destination> {
  let reportHuge: (bytes: number) => void = () => undefined;
  const destination: Destination = {
    server: undefined as unknown as Server,
    origin: '',
    connections: 0,
    hung: [],
    hugeWritten: new Promise((resolve) => (reportHuge = resolve)),
    echoes: [],
  };
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
    '/ok': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('accepted'),
    '/created-empty': (_req, res) => res.writeHead(201).end(),
    '/fail': (_req, res) => res.writeHead(500).end('{"error":"boom"}'),
    '/slow-down': (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end('rate limited'),
    '/moved': (_req, res) => res.writeHead(302, { location: '/ok' }).end(),
    '/echo': (req, res, body) => {
      destination.echoes.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200).end();
    },
    '/hang': () => destination.hung.shift()?.(),
    '/reset': (req) => req.socket.destroy(),
    '/utf8': (_req, res) => res.writeHead(200).end(`a${'é'.repeat(1_000)}`),
    '/medium': (_req, res) => res.writeHead(200).end('x'.repeat(8_000)),
    '/huge': (_req, res) => res.writeHead(200, { 'content-length': TEN_MB }).end(Buffer.alloc(TEN_MB, 'y')),
    '/huge-chunked': (_req, res) => {
      // No content-length: the client only learns the size by reading.
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1_024, 'z');
      let written = 0;
      const pump = () => {
        while (written < TEN_MB) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => reportHuge(written));
      pump();
    },
  };
  destination.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const route = routes[(req.url ?? '').split('?')[0]];
      if (route) route(req, res, Buffer.concat(chunks).toString('utf8'));
      else res.writeHead(404).end();
    });
  });
  destination.server.on('connection', () => destination.connections++);
  destination.server.listen(0, '127.0.0.1');
  await once(destination.server, 'listening');
  destination.origin = `http://127.0.0.1:${(destination.server.address() as AddressInfo).port}`;
  return destination;
}

function post(url: string, body = '{}'): RenderedRequest {
  return { method: 'POST', url, headers: { 'content-type': 'application/json' }, body };
}

/** A port nobody listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('send http-sender', () => {
  let destination: Destination;
  let sender: HttpSender;

  before(async () => {
    destination = await startDestination();
    sender = new HttpSender({ connections: 4 });
  });

  after(async () => {
    destination.server.closeAllConnections();
    destination.server.close();
    await sender.close();
  });

  it('returns status, headers, the body as excerpt and a duration for a 200', async () => {
    const response = await sender.send(post(`${destination.origin}/ok`), {});
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.equal(response.bodyExcerpt, 'accepted');
    assert.ok(response.durationMs > 0 && response.durationMs < 5_000);
    assert.equal(classify(response).kind, 'delivered');
  });

  it('sends method, path with query, headers and body as given, without the fragment', async () => {
    await sender.send(
      { method: 'PATCH', url: `${destination.origin}/echo?api_key=k&x=1#ignored`, headers: { 'content-type': 'application/json', 'x-insert-id': 'abc' }, body: '{"a":1}' },
      {},
    );
    const echo = destination.echoes.at(-1)!;
    assert.equal(echo.method, 'PATCH');
    assert.equal(echo.url, '/echo?api_key=k&x=1');
    assert.equal(echo.headers['x-insert-id'], 'abc');
    assert.equal(echo.body, '{"a":1}');
  });

  it('answers an empty 201 with an empty excerpt', async () => {
    const response = await sender.send(post(`${destination.origin}/created-empty`));
    assert.equal(response.status, 201);
    assert.equal(response.bodyExcerpt, '');
  });

  it('returns a 500 as a response, which classify calls retryable http_5xx', async () => {
    const response = await sender.send(post(`${destination.origin}/fail`));
    assert.equal(response.status, 500);
    assert.equal(response.bodyExcerpt, '{"error":"boom"}');
    const result = classify(response);
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'http_5xx');
  });

  it('passes a 429 Retry-After header through to classify', async () => {
    const response = await sender.send(post(`${destination.origin}/slow-down`));
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '7');
    const result = classify(response);
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'http_429');
    assert.equal(result.retryAfterMs, 7_000);
  });

  it('does not follow a redirect', async () => {
    const response = await sender.send(post(`${destination.origin}/moved`));
    assert.equal(response.status, 302);
    assert.equal(classify(response).kind, 'permanent');
  });

  it('reuses keep-alive connections, also after a body it had to drain', async () => {
    const local = await startDestination();
    const own = new HttpSender({ connections: 1 });
    try {
      for (const path of ['/ok', '/medium', '/ok', '/fail', '/ok']) await own.send(post(`${local.origin}${path}`));
      assert.equal(local.connections, 1);
      const stats = own.stats()[local.origin];
      assert.equal(stats.connected, 1);
      assert.equal(stats.running, 0);
      assert.equal(stats.pending, 0);
    } finally {
      await own.close();
      local.server.closeAllConnections();
      local.server.close();
    }
  });

  it('times out a hanging server with an error classify calls retryable timeout', async (t) => {
    // The deadline is a plain setTimeout, armed when the request is on a socket: mocked, so the test ticks it instead of waiting.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const arrived = new Promise<void>((resolve) => destination.hung.push(resolve));
    const sending = sender.send(post(`${destination.origin}/hang`), { timeoutMs: 2_000 });
    await arrived;
    t.mock.timers.tick(1_999);
    assert.equal(await Promise.race([sending.then(() => 'settled', () => 'settled'), new Promise((resolve) => setImmediate(resolve, 'pending'))]), 'pending');
    t.mock.timers.tick(1);
    const error = await sending.then(
      () => assert.fail('a hanging request must not resolve'),
      (caught: unknown) => caught,
    );
    assert.equal((error as Error).name, 'TimeoutError');
    const result = classify({ error });
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'timeout');
  });

  it('counts the deadline from when the request is on a socket, not while it waits in the pool', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const own = new HttpSender({ connections: 1 });
    try {
      const first = new DeliveryCancel();
      const firstArrived = new Promise<void>((resolve) => destination.hung.push(resolve));
      const blocking = own.send(post(`${destination.origin}/hang`), { signal: first, timeoutMs: 2_000 }).catch((error: unknown) => error);
      await firstArrived;
      // The pool's one connection is busy: this one waits in the queue for 1.5 s.
      const secondArrived = new Promise<void>((resolve) => destination.hung.push(resolve));
      const queued = own.send(post(`${destination.origin}/hang`), { timeoutMs: 2_000 });
      const outcome = queued.then(() => 'answered', (error: unknown) => (error as Error).name);
      t.mock.timers.tick(1_500);
      first.abort(new ShutdownError());
      assert.ok((await blocking) instanceof ShutdownError, 'an emitter signal cancels its request');
      await secondArrived;
      t.mock.timers.tick(1_999);
      assert.equal(await Promise.race([outcome, new Promise((resolve) => setImmediate(resolve, 'pending'))]), 'pending', '3.5 s after send, 2 s less 1 ms on the socket');
      t.mock.timers.tick(1);
      assert.equal(await outcome, 'TimeoutError');
    } finally {
      await own.close(0);
    }
  });

  it('cancels a request still queued in the pool at once, and never sends it', async () => {
    const own = new HttpSender({ connections: 1 });
    const other = await startDestination();
    try {
      const first = new DeliveryCancel();
      const firstArrived = new Promise<void>((resolve) => other.hung.push(resolve));
      const blocking = own.send(post(`${other.origin}/hang`), { signal: first }).catch((error: unknown) => error);
      await firstArrived;
      const queued = new DeliveryCancel();
      const sending = own.send(post(`${other.origin}/echo`), { signal: queued });
      const reason = new ShutdownError();
      queued.abort(reason);
      assert.equal(await sending.catch((error: unknown) => error), reason, 'rejected while still queued');
      first.abort(new ShutdownError());
      await blocking;
      const after = await own.send(post(`${other.origin}/echo`));
      assert.equal(after.status, 200);
      assert.equal(other.echoes.length, 1, 'only the request sent after the cancel reached the server');
    } finally {
      await own.close(0);
      other.server.closeAllConnections();
      other.server.close();
    }
  });

  it('cancels a request when the caller aborts, and classify tells shutdown from other aborts', async () => {
    for (const [reason, code] of [
      [new ShutdownError(), 'shutdown'],
      [new Error('delivery released'), 'aborted'],
    ] as const) {
      const controller = new AbortController();
      const arrived = new Promise<void>((resolve) => destination.hung.push(resolve));
      const sending = sender.send(post(`${destination.origin}/hang`), { signal: controller.signal });
      await arrived;
      controller.abort(reason);
      const error = await sending.then(
        () => assert.fail('an aborted request must not resolve'),
        (caught: unknown) => caught,
      );
      assert.equal(error, reason);
      const result = classify({ error, signal: controller.signal });
      assert.ok(result instanceof RetryableDeliveryError);
      assert.equal(result.code, code);
    }
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const reason = new ShutdownError();
    await assert.rejects(sender.send(post(`${destination.origin}/ok`), { signal: AbortSignal.abort(reason) }), (error) => error === reason);
  });

  it('reports a server that resets the connection as retryable network', async () => {
    const error = await sender.send(post(`${destination.origin}/reset`)).then(
      () => assert.fail('a reset must not resolve'),
      (caught: unknown) => caught,
    );
    const result = classify({ error });
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'network', String(error));
  });

  it('reports a refused connection as retryable network', async () => {
    const port = await closedPort();
    const error = await sender.send(post(`http://127.0.0.1:${port}/ok`)).then(
      () => assert.fail('nobody listens there'),
      (caught: unknown) => caught,
    );
    const result = classify({ error });
    assert.ok(result instanceof RetryableDeliveryError);
    assert.equal(result.code, 'network', String(error));
  });

  it('caps the excerpt of a 10 MB response and closes the connection instead of reading it all', async () => {
    const local = await startDestination();
    const own = new HttpSender({ connections: 1 });
    try {
      const response = await own.send(post(`${local.origin}/huge`));
      assert.equal(response.status, 200);
      assert.equal(response.bodyExcerpt, 'y'.repeat(DEFAULT_RESPONSE_EXCERPT_BYTES));
      // Content-length known too big: the connection was closed, so the next request opens another.
      await own.send(post(`${local.origin}/ok`));
      assert.equal(local.connections, 2);
      const chunked = await own.send(post(`${local.origin}/huge-chunked`));
      assert.equal(chunked.bodyExcerpt, 'z'.repeat(DEFAULT_RESPONSE_EXCERPT_BYTES));
      // No content-length: read up to excerpt + drain budget, then closed; the server could not write it all.
      assert.ok((await local.hugeWritten) < TEN_MB);
    } finally {
      await own.close();
      local.server.closeAllConnections();
      local.server.close();
    }
  });

  it('cuts the excerpt on a character boundary', async () => {
    const response = await sender.send(post(`${destination.origin}/utf8`));
    assert.equal(response.bodyExcerpt, `a${'é'.repeat(511)}`);
  });

  it('throws an invalid_request error for a URL it cannot send', async () => {
    for (const url of ['not a url', 'ftp://example.com/x', 'https://user:secret@example.com/x', 'http:///path']) {
      const error = await sender.send(post(url)).then(
        () => assert.fail(`${url} must not be sent`),
        (caught: unknown) => caught,
      );
      assert.equal(classify({ error }).kind, 'permanent', url);
      assert.equal((classify({ error }) as { code: string }).code, 'invalid_request', url);
    }
  });

  it('refuses a URL that is not the parser\'s serialisation rather than read it a second way', async () => {
    const port = new URL(destination.origin).port;
    const echoed = destination.echoes.length;
    for (const url of [`http://127.0.0.1:${port}\\@evil.example/x`, `HTTP://127.0.0.1:${port}/echo`, `http://0x7f.0.0.1:${port}/echo`]) {
      const error = await sender.send(post(url)).then(
        () => assert.fail(`${url} must not be sent`),
        (caught: unknown) => caught,
      );
      assert.equal((classify({ error }) as { code: string }).code, 'invalid_request', url);
      assert.match((error as Error).message, /not a serialised URL/, url);
    }
    assert.equal(destination.echoes.length, echoed, 'nothing was sent');
  });

  it('refuses a header value undici would refuse, as invalid_header naming the header, without connecting and without quoting the value', async () => {
    const before = destination.connections;
    const echoed = destination.echoes.length;
    const cases: Array<[value: string, holds: string]> = [
      ['Bearer s3cret\r\nX-Injected: 1', 'a line break'],
      ['Bearer s3cret\u0000', 'a control character'],
      ['Bearer s3cret\u007f', 'a control character'],
      ['Bearer s3cret-😀', 'a character beyond U+00FF'],
    ];
    for (const [value, holds] of cases) {
      const request = post(`${destination.origin}/echo`);
      request.headers.authorization = value;
      const error = await sender.send(request).then(
        () => assert.fail(`${JSON.stringify(value)} must not be sent`),
        (caught: unknown) => caught,
      );
      const result = classify({ error }) as { kind: string; code: string; message: string };
      assert.deepEqual([result.kind, result.code], ['permanent', 'invalid_header']);
      assert.match(result.message, new RegExp(`^header authorization holds ${holds.replace('+', '\\+')}, `));
      assert.ok(!result.message.includes('s3cret'), 'the value is not quoted');
    }
    assert.equal(destination.connections, before, 'no connection was made');
    assert.equal(destination.echoes.length, echoed, 'nothing was sent');
    // What undici accepts is sent: a tab, and Latin-1 as single bytes.
    const request = post(`${destination.origin}/echo`);
    request.headers['x-latin'] = 'a\tcafé';
    assert.equal((await sender.send(request)).status, 200);
  });

  it('sends to a host in its egress allow-list and refuses any other as permanent egress_denied without connecting', async () => {
    const port = Number(new URL(destination.origin).port);
    const own = new HttpSender({ allowedHosts: ['*.customer.io', `127.0.0.1:${port}`] });
    const other = new HttpSender({ allowedHosts: [`127.0.0.1:${port + 1}`, 'api.braze.com'] });
    try {
      const before = destination.connections;
      const error = await other.send(post(`${destination.origin}/echo`)).then(
        () => assert.fail('must not be sent'),
        (caught: unknown) => caught,
      );
      assert.equal((classify({ error }) as { code: string }).code, 'egress_denied');
      assert.equal(classify({ error }).kind, 'permanent');
      assert.match((error as Error).message, new RegExp(`^127\\.0\\.0\\.1:${port} is not in the egress allow-list`));
      assert.equal(destination.connections, before, 'no connection was made');
      const response = await own.send(post(`${destination.origin}/echo`));
      assert.equal(response.status, 200);
    } finally {
      await own.close();
      await other.close();
    }
  });

  it('closes a pool that took no request for poolIdleMs, and not one with a request in hand', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
    const own = new HttpSender({ poolIdleMs: 60_000 });
    const other = await startDestination();
    try {
      await own.send(post(`${destination.origin}/ok`));
      const arrived = new Promise<void>((resolve) => other.hung.push(resolve));
      const hanging = own.send(post(`${other.origin}/hang`), { timeoutMs: 0 }).catch((error: unknown) => error);
      await arrived;
      t.mock.timers.tick(30_000);
      assert.deepEqual(Object.keys(own.stats()).sort(), [destination.origin, other.origin].sort(), 'not idle long enough yet');
      t.mock.timers.tick(60_000);
      assert.deepEqual(Object.keys(own.stats()), [other.origin], 'the idle pool is closed; the one with a request running stays');
      const again = await own.send(post(`${destination.origin}/ok`));
      assert.equal(again.status, 200, 'a later request to the origin gets a new pool');
      await own.close(0);
      await hanging;
    } finally {
      await own.close(0);
      other.server.closeAllConnections();
      other.server.close();
    }
  });

  it('fails sends after close()', async () => {
    const own = new HttpSender();
    await own.send(post(`${destination.origin}/ok`));
    await own.close();
    await assert.rejects(own.send(post(`${destination.origin}/ok`)));
    assert.deepEqual(own.stats(), {});
  });

  it('bounds close(): a request still hanging after the grace is destroyed instead of awaited', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const own = new HttpSender();
    const arrived = new Promise<void>((resolve) => destination.hung.push(resolve));
    const hanging = own.send(post(`${destination.origin}/hang`), { timeoutMs: 0 });
    await arrived;
    const closing = own.close(500);
    t.mock.timers.tick(500);
    await closing;
    await assert.rejects(hanging, 'the hanging request ended with its pool');
  });
});
