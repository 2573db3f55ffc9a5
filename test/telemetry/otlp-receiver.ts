// A local OTLP/HTTP trace receiver: a node:http server on 127.0.0.1 that takes what an exporter
// posts to /v1/traces, decodes OTLP JSON (http/json) into flat spans, keeps protobuf bodies
// (http/protobuf) as bytes, and lets a test await what it is looking for.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
  resource: Record<string, unknown>;
  scope: string;
}

export interface ReceivedBody {
  contentType: string;
  body: Buffer;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  bodies: ReceivedBody[];
  /** Resolves once `count` spans match. */
  waitForSpans(match: (span: ReceivedSpan) => boolean, count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Resolves once a body matches. */
  waitForBody(match: (body: ReceivedBody) => boolean, timeoutMs?: number): Promise<ReceivedBody>;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}

type KeyValue = { key: string; value: AnyValue };

function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: KeyValue[];
        events?: Array<{ name: string; attributes?: KeyValue[] }>;
        links?: Array<{ traceId: string; spanId: string; attributes?: KeyValue[] }>;
      }>;
    }>;
  }>;
}

function flatten(request: JsonRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) =>
    (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        kind: span.kind,
        attributes: attributesOf(span.attributes),
        events: (span.events ?? []).map((event) => ({ name: event.name, attributes: attributesOf(event.attributes) })),
        links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: attributesOf(link.attributes) })),
        resource: attributesOf(resourceSpans.resource?.attributes),
        scope: scopeSpans.scope?.name ?? '',
      })),
    ),
  );
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: ReceivedBody[] = [];
  const listeners = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const contentType = request.headers['content-type'] ?? '';
      const body = Buffer.concat(chunks);
      bodies.push({ contentType, body });
      if (contentType.startsWith('application/json')) spans.push(...flatten(JSON.parse(body.toString('utf8')) as JsonRequest));
      response.writeHead(200, { 'content-type': contentType.startsWith('application/json') ? 'application/json' : 'application/x-protobuf' });
      response.end(contentType.startsWith('application/json') ? '{}' : '');
      for (const listener of [...listeners]) listener();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  function waitFor<T>(check: () => T | undefined, what: () => string, timeoutMs: number): Promise<T> {
    const found = check();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`OTLP receiver: ${what()} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = () => {
        const result = check();
        if (result === undefined) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(result);
      };
      listeners.add(listener);
    });
  }

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    waitForSpans(match, count, timeoutMs = 20_000) {
      return waitFor(
        () => {
          const matching = spans.filter(match);
          return matching.length >= count ? matching : undefined;
        },
        () => `${spans.filter(match).length} of ${count} spans (got ${spans.map((span) => span.name).join(', ') || 'none'})`,
        timeoutMs,
      );
    },
    waitForBody(match, timeoutMs = 20_000) {
      return waitFor(() => bodies.find(match), () => `no matching body among ${bodies.length}`, timeoutMs);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
