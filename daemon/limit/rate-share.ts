// Several daemons can run the same syncs (they share the durable consumers, and so the work). A
// destination's rate limit is the destination's, not each daemon's: every daemon paces a sync at
// rate / (daemons running it). Which daemons run which syncs comes from a heartbeat each publishes
// on core NATS: no store, no lock, nothing on the per-request path.
//   - On start a daemon says hello; the others answer at once with their syncs, so it knows its
//     share (and they know theirs) before its first request.
//   - Every heartbeatMs each daemon repeats its syncs; one not heard from for 3 heartbeats is gone.
//   - On stop a daemon says it is leaving, so the others take its share back at once.
// A daemon with little work leaves its share unused: the sum stays under the limit, never over it.
import { hostname } from 'node:os';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { DEFAULT_RATE_SHARE_HEARTBEAT_MS, DEFAULT_RATE_SHARE_HELLO_WAIT_MS } from '../defaults.js';
import type { Logger } from '../log.js';

interface Announcement {
  instance: string;
  syncs: string[];
  /** A new daemon asks the others to announce themselves now. */
  hello?: boolean;
  leaving?: boolean;
}

export interface RateShareOptions {
  heartbeatMs?: number;
  /** How long a new daemon waits for the others' answers before it starts. */
  helloWaitMs?: number;
  /** Defaults to host, process id and a random suffix. */
  instance?: string;
}

/** The subject daemons of one events stream announce their syncs on (outside any stream's subjects). */
export function rateShareSubject(streamName: string): string {
  return `_destinations.share.${streamName}`;
}

export class RateShare {
  readonly instance: string;
  readonly #heartbeatMs: number;
  readonly #helloWaitMs: number;
  /** Other daemons: their syncs and when they were last heard from (Date.now()). */
  readonly #peers = new Map<string, { syncs: Set<string>; seenAt: number }>();
  #subscription: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #shares = new Map<string, number>();

  constructor(
    private readonly connection: NatsConnection,
    private readonly subject: string,
    /** This daemon's running syncs, asked at each announcement. */
    private readonly ownSyncs: () => string[],
    /** Called with every own sync's share when one changes. */
    private readonly onChange: (shares: ReadonlyMap<string, number>) => void,
    private readonly log: Logger,
    options: RateShareOptions = {},
  ) {
    this.instance = options.instance ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_RATE_SHARE_HEARTBEAT_MS;
    this.#helloWaitMs = options.helloWaitMs ?? DEFAULT_RATE_SHARE_HELLO_WAIT_MS;
  }

  /** Listens, says hello, and resolves once the others have had time to answer. */
  async start(): Promise<void> {
    this.#subscription = this.connection.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error) return;
        let announcement: Announcement;
        try {
          announcement = msg.json<Announcement>();
        } catch {
          return;
        }
        if (typeof announcement?.instance !== 'string' || announcement.instance === this.instance || !Array.isArray(announcement.syncs)) return;
        this.#heard(announcement);
      },
    });
    this.announce({ hello: true });
    await this.connection.flush();
    await new Promise<void>((resolve) => setTimeout(resolve, this.#helloWaitMs).unref());
    this.#timer = setInterval(() => {
      this.announce();
      this.#expire();
    }, this.#heartbeatMs);
    this.#timer.unref();
    this.#update();
  }

  /** Daemons running `syncId`, this one included. */
  shareOf(syncId: string): number {
    let count = 1;
    for (const peer of this.#peers.values()) if (peer.syncs.has(syncId)) count += 1;
    return count;
  }

  /** Tells the others which syncs this daemon runs (at each heartbeat, and after a reload). */
  announce(extra: Pick<Announcement, 'hello' | 'leaving'> = {}): void {
    const announcement: Announcement = { instance: this.instance, syncs: extra.leaving ? [] : this.ownSyncs(), ...extra };
    try {
      this.connection.publish(this.subject, JSON.stringify(announcement));
    } catch (error) {
      // Closed or draining: the others will notice the silence.
      this.log.debug('rate share announcement not sent', { error });
    }
  }

  /** Says this daemon is leaving: the others take back its share at once. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.announce({ leaving: true });
    await this.connection.flush().catch(() => undefined);
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #heard(announcement: Announcement): void {
    if (announcement.leaving) this.#peers.delete(announcement.instance);
    else this.#peers.set(announcement.instance, { syncs: new Set(announcement.syncs), seenAt: Date.now() });
    // A newcomer asks: answer now rather than at the next heartbeat, so it can start sooner.
    if (announcement.hello) this.announce();
    this.#update();
  }

  #expire(): void {
    const silentSince = Date.now() - 3 * this.#heartbeatMs;
    let gone = false;
    for (const [instance, peer] of this.#peers) {
      if (peer.seenAt >= silentSince) continue;
      this.#peers.delete(instance);
      gone = true;
    }
    if (gone) this.#update();
  }

  /** Works out the own syncs' shares and reports them when one changed. */
  #update(): void {
    const shares = new Map(this.ownSyncs().map((sync) => [sync, this.shareOf(sync)] as const));
    const changed = shares.size !== this.#shares.size || [...shares].some(([sync, share]) => this.#shares.get(sync) !== share);
    this.#shares = shares;
    if (!changed) return;
    const shared = [...shares].filter(([, share]) => share > 1);
    if (shared.length > 0) this.log.info('rate limits shared with other daemons', { shares: Object.fromEntries(shared) });
    this.onChange(shares);
  }
}
