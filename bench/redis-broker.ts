// The Redis the BullMQ peer runs on (issue 14): an existing server (127.0.0.1:6379 on these machines,
// no persistence), never started by the bench. Probed once with a short timeout, so a machine
// without Redis skips the peer row with a note instead of hanging; its pid is read from INFO so
// redis-server's CPU can be charged to the peer as nats-server's is to the daemon; every key the
// bench wrote (under its own prefix) is removed at the end.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The variable redis-cli reads a password from; the bench and its worker read it the same way. */
export const REDIS_PASSWORD_ENV = 'REDISCLI_AUTH';

/**
 * Host and port of a `redis://host[:port]` URL, or why it cannot be used. A password in the URL is
 * refused: the URL is printed in the report and the worker's settings travel on its command line;
 * a password goes in REDISCLI_AUTH instead, which the worker inherits.
 */
export function redisTarget(url: string): { host: string; port: number } | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `--redis ${url}: not a URL (redis://host:port)`;
  }
  if (parsed.protocol !== 'redis:') return `--redis ${parsed.protocol}//…: only redis:// is supported`;
  if (parsed.username !== '' || parsed.password !== '') return `--redis: a user or password in the URL would be printed and put on a command line; give the password in ${REDIS_PASSWORD_ENV} instead`;
  if (parsed.hostname === '') return `--redis ${url}: no host`;
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '') return `--redis ${url}: a database or options in the URL are not supported (the bench uses its own key prefix)`;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) };
}

/** A named field of an INFO answer (`field:value` lines), or undefined. */
export function infoField(info: string, field: string): string | undefined {
  for (const line of info.split(/\r?\n/)) {
    if (line.startsWith(`${field}:`)) return line.slice(field.length + 1).trim();
  }
  return undefined;
}

/** redis-server's pid from `INFO server`, or undefined when absent or not a positive integer. */
export function redisPidFromInfo(info: string): number | undefined {
  const text = infoField(info, 'process_id');
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const pid = Number(text);
  return pid > 0 ? pid : undefined;
}

/** Whether /proc/<pid> on this machine is a redis-server (a server in a container or on another host has another pid space). */
function isLocalRedis(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('redis-server');
  } catch {
    return false;
  }
}

export class RedisBroker {
  private constructor(
    private readonly client: Redis,
    readonly url: string,
    /** Where BullMQ's workers and queues connect. */
    readonly connection: { host: string; port: number },
    /** Every key of this run starts with `${prefix}:`; removed by cleanup(). */
    readonly prefix: string,
    /** redis-server's pid on this machine, or undefined when its CPU cannot be read here (`cpuNote` says why). */
    readonly pid: number | undefined,
    readonly cpuNote: string | undefined,
    readonly version: string,
    readonly persistence: string,
  ) {}

  /** Connects, or says in one line why there is no Redis to use. */
  static async connect(url: string): Promise<RedisBroker | string> {
    const connection = redisTarget(url);
    if (typeof connection === 'string') return connection;
    // One try, no reconnect, no offline queue: a missing server is an answer, not a wait.
    const client = new Redis({ ...connection, password: process.env[REDIS_PASSWORD_ENV], lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    // ioredis rejects connect() with "Connection is closed."; the socket's own error says why.
    let socketError: Error | undefined;
    client.on('error', (error: Error) => (socketError ??= error));
    try {
      await client.connect();
      const info = await client.info('server');
      const persistenceInfo = await client.info('persistence');
      const pid = redisPidFromInfo(info);
      const local = pid !== undefined && isLocalRedis(pid);
      const cpuNote = pid === undefined ? 'INFO gave no process_id' : local ? undefined : `pid ${pid} from INFO is not a redis-server on this machine`;
      const aof = infoField(persistenceInfo, 'aof_enabled') === '1';
      // CONFIG may be renamed away on a managed server: then the snapshot schedule is unknown.
      const save = await client.config('GET', 'save').then((answer) => String((answer as string[])[1] ?? '')).catch(() => 'unknown');
      const persistence = `appendonly ${aof ? 'yes' : 'no'}, save "${save}"`;
      const prefix = `destinations-bench-${process.pid}`;
      return new RedisBroker(client, url, connection, prefix, local ? pid : undefined, cpuNote, infoField(info, 'redis_version') ?? 'unknown', persistence);
    } catch (error) {
      client.disconnect();
      return `no Redis answered at ${url} (${(socketError ?? (error as Error)).message})`;
    }
  }

  /** Removes every key of this run (a queue obliterated mid-run leaves nothing; a crash may). */
  async cleanup(): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) removed += await this.client.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  }

  /** Keys of this run still in Redis (0 after cleanup()). */
  async countKeys(): Promise<number> {
    let count = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
