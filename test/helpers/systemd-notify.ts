// A stand-in for systemd-notify on the PATH, for tests of what a process tells systemd (Type=notify):
// each run reports its arguments and NOTIFY_SOCKET to a TCP listener of the test's, and exits 0.
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A stand-in for systemd-notify: reports its arguments and NOTIFY_SOCKET to a TCP listener, exits 0. */
export async function fakeSystemdNotify(): Promise<{ bin: string; env: NodeJS.ProcessEnv; next(match: RegExp): Promise<string[]>; close(): Promise<void> }> {
  const bin = mkdtempSync(join(tmpdir(), 'fake-systemd-notify-'));
  const received: Array<{ argv: string[]; socket: string }> = [];
  const waiters: Array<{ match: RegExp; resolve: (argv: string[]) => void }> = [];
  const server = createTcpServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => {
      const message = JSON.parse(text) as { argv: string[]; socket: string };
      received.push(message);
      for (const waiter of [...waiters]) {
        if (message.argv.some((arg) => waiter.match.test(arg))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(message.argv);
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const script = join(bin, 'systemd-notify');
  writeFileSync(
    script,
    `#!${process.execPath}\nconst s = require('node:net').connect(${port}, '127.0.0.1', () => s.end(JSON.stringify({ argv: process.argv.slice(2), socket: process.env.NOTIFY_SOCKET })));\n`,
  );
  chmodSync(script, 0o755);
  return {
    bin,
    env: { PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/systemd/notify-test' },
    next(match) {
      const found = received.find((message) => message.argv.some((arg) => match.test(arg)));
      if (found) return Promise.resolve(found.argv);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(bin, { recursive: true, force: true });
    },
  };
}
