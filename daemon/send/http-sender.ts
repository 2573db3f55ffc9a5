// Sends one rendered request with undici: one keep-alive Pool per origin (and CA bundle), bounded in time (connect
// timeout, then a deadline counted from when the request is on a socket) and in memory (a capped
// body excerpt). Requests go through `pool.dispatch` with our own handler (`Exchange`): the answer
// is read straight from undici's callbacks, without a response stream per request.
// It never retries and never follows redirects: the delivery machine is the one retry owner, and a
// 3xx is an answer classify() turns into a permanent failure. Errors are thrown as undici raised them,
// but for a header value undici would refuse, which is thrown as InvalidHeaderError naming the header.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { Pool, type Dispatcher } from 'undici';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_CONNECTIONS,
  DEFAULT_POOL_IDLE_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESPONSE_DRAIN_BYTES,
  DEFAULT_RESPONSE_EXCERPT_BYTES,
  DEFAULT_SENDER_CLOSE_GRACE_MS,
} from '../defaults.js';
import { unsendableHeader, type RenderedRequest } from '../render/index.js';
import { EgressDeniedError, egressAllowList, type EgressPolicy } from './egress-allow-list.js';
import { InvalidHeaderError } from './invalid-header-error.js';


/** What a caller cancels a request with: an EventEmitter with `aborted` and `reason` that emits
 *  'abort' (the delivery machine's DeliveryCancel, ~0.2 µs to make and listen to), or an
 *  AbortSignal (~7 µs to make and ~4 µs to listen to on Node 20: fine for a one-off send). */
export type CancelSignal = CancelEmitter | AbortSignal;

export interface CancelEmitter {
  readonly aborted: boolean;
  readonly reason?: unknown;
  on(event: 'abort', listener: () => void): unknown;
  removeListener(event: 'abort', listener: () => void): unknown;
}

export interface SendOptions {
  /** Cancels the request, which then rejects with the signal's reason (at once if already aborted). */
  signal?: CancelSignal;
  /**
   * Deadline for the answer, counted from when the request is on a socket: waiting in the pool's
   * queue behind other requests to a slow origin does not count. 0 or Infinity for none (the
   * pool's headers and body timeouts still apply).
   */
  timeoutMs?: number;
  /** How much of the response body to keep (default: the sender's excerptBytes); a multi-status body needs it whole. */
  excerptBytes?: number;
  /**
   * PEM CA bundle the server's certificate must chain to, instead of Node's default roots (a sync's
   * tls.ca, for a private endpoint). Requests with another bundle, or none, never share its pool:
   * neither connections nor TLS sessions. Pass the same string each time: it is the pool's key.
   */
  ca?: string;
}

export interface SendResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The first `excerptBytes` of the body, as UTF-8 text (a cut character is left out). */
  bodyExcerpt: string;
  durationMs: number;
}

export interface HttpSenderOptions {
  /** Connections per origin. */
  connections?: number;
  connectTimeoutMs?: number;
  /** Default timeoutMs when send() gets none: undici's headers and body timeouts. */
  requestTimeoutMs?: number;
  excerptBytes?: number;
  /** Past the excerpt, this much more body is read and dropped to keep the connection; beyond it the connection is closed. */
  drainBytes?: number;
  /** A pool that took no request for this long, and has none in hand, is closed. */
  poolIdleMs?: number;
  /** Host patterns requests may go to (`api.braze.com`, `*.customer.io`, `host:port`); absent: any host. */
  allowedHosts?: readonly string[];
}

export interface OriginStats {
  /** Open sockets. */
  connected: number;
  /** Open sockets with no request on them. */
  free: number;
  /** Requests waiting for a socket. */
  pending: number;
  /** Requests waiting to be written on a socket. */
  queued: number;
  /** Requests on the wire. */
  running: number;
}

export class HttpSender {
  /** By origin as written in URLs (cheap lookup) and as normalised; several keys may share a pool. */
  readonly #pools = new Map<string, Pool>();
  /** The same for requests with a CA bundle, by bundle first: a string key's hash is computed once. */
  readonly #poolsByCa = new Map<string, Map<string, Pool>>();
  /** Every pool, by normalised origin (and `ca sha256:…` when it has a bundle): stats and the sweep. */
  readonly #byOrigin = new Map<string, Pool>();
  readonly #connections: number;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #excerptBytes: number;
  readonly #drainBytes: number;
  readonly #poolIdleMs: number;
  readonly #egress: EgressPolicy | undefined;
  /** When each pool last took a request (Date.now()): idle pools are closed by #sweep. */
  readonly #lastUsed = new Map<Pool, number>();
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: HttpSenderOptions = {}) {
    this.#connections = options.connections ?? DEFAULT_POOL_CONNECTIONS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#excerptBytes = options.excerptBytes ?? DEFAULT_RESPONSE_EXCERPT_BYTES;
    this.#drainBytes = options.drainBytes ?? DEFAULT_RESPONSE_DRAIN_BYTES;
    this.#poolIdleMs = options.poolIdleMs ?? DEFAULT_POOL_IDLE_MS;
    this.#egress = options.allowedHosts && egressAllowList(options.allowedHosts);
  }

  async send(request: RenderedRequest, options: SendOptions = {}): Promise<SendResponse> {
    const started = performance.now();
    const url = request.url;
    // Split origin and path by hand: `new URL()` per request costs more than the rest of this function.
    const authority = url.indexOf('://') + 3;
    let pathStart = authority;
    while (pathStart < url.length) {
      const c = url.charCodeAt(pathStart);
      if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
      pathStart++;
    }
    if (authority < 3 || pathStart === authority) throw invalidUrl(url);
    // undici would refuse it with "invalid <name> header": say which header, why, and the fix instead.
    const unsendable = unsendableHeader(request.headers);
    if (unsendable !== undefined) throw new InvalidHeaderError(unsendable);
    const ca = options.ca;
    const keyed = ca === undefined ? this.#pools : this.#poolsByCa.get(ca);
    const pool = keyed?.get(url.slice(0, pathStart)) ?? this.#poolFor(url.slice(0, pathStart), ca);
    let path = url.slice(pathStart);
    const hash = path.indexOf('#');
    if (hash !== -1) path = path.slice(0, hash);
    if (path.length === 0 || path.charCodeAt(0) !== 47) path = `/${path}`;
    this.#lastUsed.set(pool, Date.now());

    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
    const excerptBytes = options.excerptBytes ?? this.#excerptBytes;
    return new Promise<SendResponse>((resolve, reject) => {
      const exchange = new Exchange(resolve, reject, started, timeoutMs > 0 && timeoutMs !== Infinity ? timeoutMs : 0, excerptBytes, Math.max(this.#drainBytes, excerptBytes), signal);
      pool.dispatch({ method: request.method, path, headers: request.headers, body: request.body }, exchange);
    });
  }

  /** Per-origin pool figures for the admin page. */
  stats(): Record<string, OriginStats> {
    const result: Record<string, OriginStats> = {};
    for (const [origin, pool] of this.#byOrigin) {
      const { connected, free, pending, queued, running } = pool.stats;
      result[origin] = { connected, free, pending, queued, running };
    }
    return result;
  }

  /** Closes every pool: requests still running get `graceMs` to finish, then they are destroyed,
   *  so a stop is bounded even with thousands of requests queued on a slow origin. The daemon
   *  calls it after every delivery was settled or released, so nothing destroyed is lost. */
  async close(graceMs = DEFAULT_SENDER_CLOSE_GRACE_MS): Promise<void> {
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    const pools = [...this.#byOrigin.values()];
    this.#pools.clear();
    this.#poolsByCa.clear();
    this.#byOrigin.clear();
    this.#lastUsed.clear();
    await Promise.all(
      pools.map(async (pool) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, graceMs, 'late')));
        const outcome = await Promise.race([pool.close().then(() => 'closed' as const), late]);
        clearTimeout(timer);
        if (outcome === 'late') await pool.destroy();
      }),
    );
  }

  #poolFor(originText: string, ca: string | undefined): Pool {
    if (this.#closed) throw Object.assign(new Error('HttpSender is closed'), { code: 'UND_ERR_CLOSED' });
    let parsed: URL;
    try {
      parsed = new URL(originText);
    } catch {
      throw invalidUrl(originText);
    }
    if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '') {
      throw invalidUrl(originText, 'only http(s) URLs without credentials can be sent');
    }
    // The origin is split from the URL by hand (in send): that split is only the parser's own reading
    // when the URL is the parser's serialisation (renderRequest sends URL.href), so anything else
    // (`http://a\@b/x`, `HTTP://Host:80`) is refused rather than read a second way.
    if (parsed.origin !== originText) throw invalidUrl(originText, `not a serialised URL (new URL(url).href): its origin reads as ${parsed.origin}`);
    // Checked once per origin: only allowed origins get a pool, and #pools is the fast path.
    if (this.#egress && !this.#egress(parsed)) throw new EgressDeniedError(parsed.host);
    const key = ca === undefined ? parsed.origin : `${parsed.origin} ca sha256:${createHash('sha256').update(ca).digest('hex').slice(0, 16)}`;
    let pool = this.#byOrigin.get(key);
    if (pool === undefined) {
      pool = new Pool(parsed.origin, {
        connections: this.#connections,
        connectTimeout: this.#connectTimeoutMs,
        headersTimeout: this.#requestTimeoutMs,
        bodyTimeout: this.#requestTimeoutMs,
        // Passed to tls.connect: it replaces the default roots; verification stays on.
        ...(ca === undefined ? {} : { connect: { ca } }),
      });
      this.#byOrigin.set(key, pool);
      if (this.#sweeper === undefined) {
        this.#sweeper = setInterval(this.#sweep, Math.max(1_000, this.#poolIdleMs / 2));
        this.#sweeper.unref();
      }
    }
    if (ca === undefined) this.#pools.set(originText, pool);
    else {
      let keyed = this.#poolsByCa.get(ca);
      if (keyed === undefined) this.#poolsByCa.set(ca, (keyed = new Map()));
      keyed.set(originText, pool);
    }
    return pool;
  }

  /**
   * Closes the pools that took no request for poolIdleMs and have none in hand. A URL template can
   * put a different host in every request (a per-customer subdomain): without this, a pool per host
   * would stay for the life of the process. A later request to the origin makes a new pool.
   */
  readonly #sweep = (): void => {
    const idleSince = Date.now() - this.#poolIdleMs;
    for (const [origin, pool] of this.#byOrigin) {
      const { pending, queued, running } = pool.stats;
      if ((this.#lastUsed.get(pool) ?? 0) > idleSince || pending + queued + running > 0) continue;
      this.#byOrigin.delete(origin);
      this.#lastUsed.delete(pool);
      for (const [key, keyed] of this.#pools) if (keyed === pool) this.#pools.delete(key);
      for (const [ca, pools] of this.#poolsByCa) {
        for (const [key, keyed] of pools) if (keyed === pool) pools.delete(key);
        if (pools.size === 0) this.#poolsByCa.delete(ca);
      }
      pool.close().catch(() => undefined);
    }
    if (this.#byOrigin.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  };
}

function invalidUrl(url: string, why = 'not an absolute http(s) URL'): TypeError {
  return Object.assign(new TypeError(`${why}: ${url.slice(0, 200)}`), { code: 'ERR_INVALID_URL' });
}

function onDeadline(exchange: Exchange, timeoutMs: number): void {
  // Same shape as AbortSignal.timeout's reason, so classify() reads it as a timeout.
  exchange.cancel(new DOMException(`request timed out after ${timeoutMs} ms`, 'TimeoutError'));
}

/**
 * One request's answer, read from undici's dispatch callbacks: the status and headers, and the first
 * `limit` bytes of the body as text. Up to `drainLimit` more is read and dropped so the connection
 * can be reused; past that (or as soon as Content-Length says so) the request is aborted, closing
 * the connection: a huge response never grows memory beyond one chunk. An error after the status
 * line (reset, deadline, abort) ends the excerpt where it stopped: the status is the answer, the
 * body only evidence. The deadline starts when undici puts the request on a socket.
 */
class Exchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #parts: Buffer[] | undefined;
  #kept = 0;
  #seen = 0;
  #budget = 0;
  #done = false;
  /** Why the request was cancelled before undici started it: it is aborted as soon as it starts. */
  #cancelled: unknown = undefined;

  constructor(
    private readonly resolve: (response: SendResponse) => void,
    private readonly reject: (error: unknown) => void,
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly limit: number,
    private readonly drainLimit: number,
    private readonly signal: CancelSignal | undefined,
  ) {
    if (signal === undefined) return;
    if ('addEventListener' in signal) signal.addEventListener('abort', this.onAbort);
    else signal.on('abort', this.onAbort);
  }

  private readonly onAbort = (): void => this.cancel(this.signal!.reason ?? new DOMException('This operation was aborted', 'AbortError'));

  /** The deadline or the caller: fail with `reason`, and stop the request wherever it is. */
  cancel(reason: unknown): void {
    if (this.#done) return;
    if (this.#controller !== undefined) return this.#controller.abort(reason as Error);
    // Still queued in the pool: answer now; undici aborts it as soon as it would start.
    this.#cancelled = reason;
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#done) return controller.abort((this.#cancelled ?? new Error('request already settled')) as Error);
    // Called again when undici retries a request whose pipeline head failed: one deadline only.
    if (this.timeoutMs > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(onDeadline, this.timeoutMs, this, this.timeoutMs);
      this.#timer.unref();
    }
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the answer is still to come
    this.#status = statusCode;
    this.#headers = headers;
    const contentLength = headers['content-length'];
    const declared = typeof contentLength === 'string' ? Number(contentLength) : NaN;
    // Known to be too big to drain: close as soon as the excerpt is taken.
    this.#budget = declared > this.limit + this.drainLimit ? this.limit : this.limit + this.drainLimit;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    this.#seen += chunk.length;
    if (this.#kept < this.limit) {
      const part = chunk.length <= this.limit - this.#kept ? chunk : chunk.subarray(0, this.limit - this.#kept);
      (this.#parts ??= []).push(part);
      this.#kept += part.length;
    }
    if (this.#seen >= this.#budget && this.#seen > this.#kept) {
      this.#finish();
      controller.abort(new Error('response body over the drain limit; connection closed'));
    }
  }

  onResponseEnd(): void {
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#status !== 0) this.#finish();
    else this.#fail(error);
  }

  #settle(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const signal = this.signal;
    if (signal === undefined) return;
    if ('removeEventListener' in signal) signal.removeEventListener('abort', this.onAbort);
    else signal.removeListener('abort', this.onAbort);
  }

  #finish(): void {
    if (this.#done) return;
    this.#settle();
    const parts = this.#parts;
    let bodyExcerpt = '';
    if (parts !== undefined) {
      const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.#kept);
      // When cut, StringDecoder.write() holds back a trailing partial character instead of emitting U+FFFD.
      bodyExcerpt = this.#seen > this.#kept ? new StringDecoder('utf8').write(bytes) : bytes.toString('utf8');
    }
    this.resolve({ status: this.#status, headers: this.#headers, bodyExcerpt, durationMs: performance.now() - this.started });
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#settle();
    this.reject(error);
  }
}
