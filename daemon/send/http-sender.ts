// Sends one rendered request with undici: one keep-alive Pool per origin, bounded in time (connect
// timeout, headers/body timeouts, a whole-request deadline) and in memory (a capped body excerpt).
// It never retries and never follows redirects: the delivery machine is the one retry owner, and a
// 3xx is an answer classify() turns into a permanent failure. Errors are thrown as undici raised them.
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { Pool, type Dispatcher } from 'undici';
import {
  DEFAULT_ABORT_CHECK_INTERVAL_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESPONSE_DRAIN_BYTES,
  DEFAULT_RESPONSE_EXCERPT_BYTES,
  DEFAULT_SENDER_CLOSE_GRACE_MS,
} from '../defaults.js';

export type SendMethod = 'PUT' | 'POST' | 'PATCH';

export interface SendRequest {
  method: SendMethod;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What a caller cancels a request with: an AbortSignal will do, and so will any object with
 *  `aborted` and `reason` (the delivery machine uses a plain one; an AbortSignal costs ~7 µs). */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface SendOptions {
  /**
   * Cancels the request, which then rejects with the signal's reason. An already aborted signal
   * rejects at once; a later abort is noticed within abortCheckIntervalMs (see RequestCancel).
   */
  signal?: CancelSignal;
  /** Whole-request deadline (pool queue, connect, headers and body); 0 or Infinity for none (the pool's own headers and body timeouts still apply). */
  timeoutMs?: number;
  /** How much of the response body to keep (default: the sender's excerptBytes); a multi-status body needs it whole. */
  excerptBytes?: number;
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
  /** Default whole-request deadline when send() gets no timeoutMs; also undici's headers and body timeouts. */
  requestTimeoutMs?: number;
  excerptBytes?: number;
  /** Past the excerpt, this much more body is read and dropped to keep the connection; beyond it the connection is closed. */
  drainBytes?: number;
  /** How often callers' AbortSignals are checked while their requests are in flight. */
  abortCheckIntervalMs?: number;
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

/**
 * Cancels one request: its deadline timer and its caller's signal both end here.
 *
 * Measured on Node 20 (see docs/decisions.md): creating an AbortSignal (`new AbortController().signal`)
 * costs ~7 µs and its first 'abort' listener ~4 µs more; AbortSignal.timeout() ~16 µs; AbortSignal.any()
 * ~57 µs (and any() keeps every combined signal reachable from a long-lived source). At 20k requests/s
 * each of those is a fifth of a core or more. So no AbortSignal is created or listened to per request:
 * - undici's `signal` option also takes an EventEmitter with `aborted` and `reason`: that is this
 *   class (~0.2 µs with its one listener);
 * - the caller's signal is not listened to but checked: while requests with a caller signal are in
 *   flight, one interval looks at their signals every abortCheckIntervalMs and cancels the aborted
 *   ones. A cancellation (shutdown, a released delivery) lands that much later at most.
 */
class RequestCancel extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  constructor(readonly callerSignal: CancelSignal | undefined) {
    super();
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

function abortOnDeadline(cancel: RequestCancel, timeoutMs: number): void {
  // Same shape as AbortSignal.timeout's reason, so classify() reads it as a timeout.
  cancel.abort(new DOMException(`request timed out after ${timeoutMs} ms`, 'TimeoutError'));
}

export class HttpSender {
  /** By origin as written in URLs (cheap lookup) and as normalised; several keys may share a pool. */
  readonly #pools = new Map<string, Pool>();
  readonly #byOrigin = new Map<string, Pool>();
  readonly #connections: number;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #excerptBytes: number;
  readonly #drainBytes: number;
  readonly #abortCheckIntervalMs: number;
  /** In-flight requests whose caller gave a signal, checked by #checkAborts. */
  readonly #watched = new Set<RequestCancel>();
  #abortCheck: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: HttpSenderOptions = {}) {
    this.#connections = options.connections ?? DEFAULT_POOL_CONNECTIONS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#excerptBytes = options.excerptBytes ?? DEFAULT_RESPONSE_EXCERPT_BYTES;
    this.#drainBytes = options.drainBytes ?? DEFAULT_RESPONSE_DRAIN_BYTES;
    this.#abortCheckIntervalMs = options.abortCheckIntervalMs ?? DEFAULT_ABORT_CHECK_INTERVAL_MS;
  }

  async send(request: SendRequest, options: SendOptions = {}): Promise<SendResponse> {
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
    const pool = this.#pools.get(url.slice(0, pathStart)) ?? this.#poolFor(url.slice(0, pathStart));
    let path = url.slice(pathStart);
    const hash = path.indexOf('#');
    if (hash !== -1) path = path.slice(0, hash);
    if (path.length === 0 || path.charCodeAt(0) !== 47) path = `/${path}`;

    // The deadline and the caller's signal both cancel the request through undici's `signal`, by
    // way of one RequestCancel (see there for why not AbortController, AbortSignal.timeout/any).
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    const callerSignal = options.signal;
    if (callerSignal?.aborted) throw callerSignal.reason ?? new DOMException('This operation was aborted', 'AbortError');
    const hasDeadline = timeoutMs > 0 && timeoutMs !== Infinity;
    let cancel: RequestCancel | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (hasDeadline || callerSignal !== undefined) {
      cancel = new RequestCancel(callerSignal);
      if (hasDeadline) {
        timer = setTimeout(abortOnDeadline, timeoutMs, cancel, timeoutMs);
        timer.unref();
      }
      if (callerSignal !== undefined) this.#watch(cancel);
    }
    try {
      const response = await pool.request({
        method: request.method,
        path,
        headers: request.headers,
        body: request.body,
        signal: cancel,
        headersTimeout: hasDeadline ? timeoutMs : null,
        bodyTimeout: hasDeadline ? timeoutMs : null,
      });
      const excerptBytes = options.excerptBytes ?? this.#excerptBytes;
      const bodyExcerpt = await readExcerpt(response.body, response.headers['content-length'], excerptBytes, Math.max(this.#drainBytes, excerptBytes));
      return { status: response.statusCode, headers: response.headers, bodyExcerpt, durationMs: performance.now() - started };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (callerSignal !== undefined) this.#unwatch(cancel!);
    }
  }

  #watch(cancel: RequestCancel): void {
    this.#watched.add(cancel);
    if (this.#abortCheck === undefined) {
      this.#abortCheck = setInterval(this.#checkAborts, this.#abortCheckIntervalMs);
      this.#abortCheck.unref();
    }
  }

  #unwatch(cancel: RequestCancel): void {
    this.#watched.delete(cancel);
    if (this.#watched.size === 0 && this.#abortCheck !== undefined) {
      clearInterval(this.#abortCheck);
      this.#abortCheck = undefined;
    }
  }

  readonly #checkAborts = (): void => {
    for (const cancel of this.#watched) {
      const callerSignal = cancel.callerSignal!;
      if (callerSignal.aborted) cancel.abort(callerSignal.reason);
    }
  };

  /** Per-origin pool figures for the admin page. */
  stats(): Record<string, OriginStats> {
    const result: Record<string, OriginStats> = {};
    for (const [origin, pool] of this.#byOrigin) {
      const { connected, free, pending, queued, running } = pool.stats;
      result[origin] = { connected, free, pending, queued, running };
    }
    return result;
  }

  /** Closes every pool once its in-flight requests are done; later sends fail. */
  /** Closes every pool: requests still running get `graceMs` to finish, then they are destroyed,
   *  so a stop is bounded even with thousands of requests queued on a slow origin. The daemon
   *  calls it after every delivery was settled or released, so nothing destroyed is lost. */
  async close(graceMs = DEFAULT_SENDER_CLOSE_GRACE_MS): Promise<void> {
    this.#closed = true;
    const pools = [...this.#byOrigin.values()];
    this.#pools.clear();
    this.#byOrigin.clear();
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

  #poolFor(originText: string): Pool {
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
    let pool = this.#byOrigin.get(parsed.origin);
    if (pool === undefined) {
      pool = new Pool(parsed.origin, {
        connections: this.#connections,
        connectTimeout: this.#connectTimeoutMs,
        headersTimeout: this.#requestTimeoutMs,
        bodyTimeout: this.#requestTimeoutMs,
      });
      this.#byOrigin.set(parsed.origin, pool);
    }
    this.#pools.set(originText, pool);
    return pool;
  }
}

function invalidUrl(url: string, why = 'not an absolute http(s) URL'): TypeError {
  return Object.assign(new TypeError(`${why}: ${url.slice(0, 200)}`), { code: 'ERR_INVALID_URL' });
}

/**
 * Reads the first `limit` bytes of a body as text, drops up to `drainLimit` more so the socket can
 * be reused, and destroys the body past that (closing the connection) — a huge response never
 * grows memory beyond one chunk. An error after the status line (reset, timeout, abort) ends the
 * excerpt where it stopped: the status is the answer, the body is only evidence.
 */
function readExcerpt(
  body: Dispatcher.ResponseData['body'],
  contentLength: string | string[] | undefined,
  limit: number,
  drainLimit: number,
): Promise<string> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : NaN;
  if (declared === 0) {
    body.resume();
    return Promise.resolve('');
  }
  // Known to be too big to drain: close as soon as the excerpt is taken.
  const budget = declared > limit + drainLimit ? limit : limit + drainLimit;
  return new Promise((resolve) => {
    let parts: Buffer[] | undefined;
    let kept = 0;
    let seen = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (parts === undefined) return resolve('');
      const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, kept);
      // When cut, StringDecoder.write() holds back a trailing partial character instead of emitting U+FFFD.
      resolve(seen > kept ? new StringDecoder('utf8').write(bytes) : bytes.toString('utf8'));
    };
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (kept < limit) {
        const part = chunk.length <= limit - kept ? chunk : chunk.subarray(0, limit - kept);
        (parts ??= []).push(part);
        kept += part.length;
      }
      if (seen >= budget && seen > kept) {
        body.destroy();
        finish();
      }
    });
    body.on('end', finish);
    body.on('error', finish);
    body.on('close', finish);
  });
}
