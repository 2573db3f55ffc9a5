// A local HTTP sink for trying destinations: prints every request it receives and answers 200.
// `destinations sink [--port 3000]`, also started by the quick start. It is a token endpoint too, for
// destinations with OAuth2: a POST to a path ending in /token is answered with a demo bearer token.
import { createServer, type Server } from 'node:http';
import { DEFAULT_SINK_PORT } from '../daemon/defaults.js';

/** The variable of destinations/variables.json the shipped syncs build their URLs on: the quick start sets it to its sink. */
export const SINK_VARIABLE = 'quickstart_sink';

export interface SinkOptions {
  port?: number;
  host?: string;
  write?: (text: string) => void;
}

export async function startSink(options: SinkOptions = {}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let count = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      count += 1;
      const body = Buffer.concat(chunks).toString('utf8');
      let shown = body;
      try {
        shown = JSON.stringify(JSON.parse(body), null, 2);
      } catch {
        // not JSON: print as it came
      }
      const headers = Object.entries(request.headers)
        .filter(([name]) => !['host', 'connection', 'content-length'].includes(name))
        .map(([name, value]) => `  ${name}: ${Array.isArray(value) ? value.join(', ') : value}`)
        .join('\n');
      write(`\n── sink: request #${count} ${request.method} ${request.url}\n${headers}\n${shown}\n`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(isTokenRequest(request.method, request.url) ? demoToken(count) : '{"ok":true}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_SINK_PORT, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** RFC 6749's token endpoints (/oauth/token, /oauth2/token) and Salesforce Marketing Cloud's /v2/token. */
function isTokenRequest(method: string | undefined, url: string | undefined): boolean {
  return method === 'POST' && /\/token$/.test((url ?? '').split('?')[0]);
}

/** A token as a client-credentials endpoint answers it (RFC 6749 section 5.1; SFMC's lifetime, ~18 minutes). */
function demoToken(count: number): string {
  return JSON.stringify({ access_token: `demo-token-${count}`, token_type: 'Bearer', expires_in: 1079 });
}
