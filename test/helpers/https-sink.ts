// A real node:https destination on 127.0.0.1 that answers 200 with the certificate a test gives it,
// records the requests that got through, and counts handshakes its clients refused. `restart` puts
// a new certificate on the same port, as an operator renewing it would.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { KeyPair } from './tls-certificates.js';

export interface HttpsSink {
  /** https://127.0.0.1:<port> */
  origin: string;
  port: number;
  /** Bodies of the requests that arrived. */
  bodies: string[];
  /** Handshakes that failed on the server's side (the client refused the certificate). */
  readonly refusedHandshakes: number;
  /** Resolves when at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves when at least `count` handshakes were refused; rejects after `timeoutMs`. */
  waitForRefusals(count: number, timeoutMs?: number): Promise<void>;
  /** Closes and listens again on the same port with another certificate. */
  restart(certificate: KeyPair): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpsSink(certificate: KeyPair): Promise<HttpsSink> {
  const bodies: string[] = [];
  let refused = 0;
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const listen = async (pair: KeyPair, port: number): Promise<Server> => {
    const server = createServer({ cert: pair.cert, key: pair.key }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        notify();
      });
    });
    server.on('tlsClientError', () => {
      refused += 1;
      notify();
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return server;
  };
  const stop = (server: Server) => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const waitFor = (done: () => boolean, what: () => string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(what()));
      }, timeoutMs);
      waiters.add(check);
    });

  let server = await listen(certificate, 0);
  const port = (server.address() as { port: number }).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    bodies,
    get refusedHandshakes() {
      return refused;
    },
    waitForRequests: (count, timeoutMs = 20_000) =>
      waitFor(() => bodies.length >= count, () => `https sink got ${bodies.length} of ${count} requests within ${timeoutMs} ms`, timeoutMs).then(() => bodies),
    waitForRefusals: (count, timeoutMs = 20_000) =>
      waitFor(() => refused >= count, () => `https sink saw ${refused} of ${count} refused handshakes within ${timeoutMs} ms`, timeoutMs),
    async restart(next) {
      await stop(server);
      server = await listen(next, port);
    },
    close: () => stop(server),
  };
}
