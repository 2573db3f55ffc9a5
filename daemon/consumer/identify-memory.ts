// Change-based identify, the stored part: per sync and user, what the last delivered identifies
// set, in a NATS KV bucket (replicated like the events stream, entries expire after a TTL, so a
// restart or another daemon finds them). Written only after a 2xx, by revision: a write made from
// an older read fails, is merged with the newer entry, and tried again.
import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { DaemonSettings } from '../config/index.js';
import { afterDelivery, decodeMemory, encodeMemory, mergeMemories, type AmplitudeEvent, type UserMemory, type UserOperations } from '../events/index.js';
import { DEFAULT_IDENTIFY_MEMORY_WRITE_TRIES } from '../defaults.js';


const DAY_MS = 24 * 60 * 60 * 1_000;

/** A user's memory as read, with the entry's revision (0 when there is none). */
export interface MemoryRead {
  memory: UserMemory;
  revision: number;
}

/** Which user an event is: its user_id, else its device_id (Amplitude's identity). */
export function userOf(event: AmplitudeEvent): string | undefined {
  if (event.user_id !== undefined && event.user_id !== null && event.user_id !== '') return `u:${event.user_id}`;
  if (event.device_id !== undefined && event.device_id !== null && event.device_id !== '') return `d:${event.device_id}`;
  return undefined;
}

export class IdentifyMemory {
  /** Opens the bucket, creating it when missing (with the events stream's replicas and the configured TTL). */
  static async open(js: JetStreamClient, settings: DaemonSettings, scope: string): Promise<IdentifyMemory> {
    const stream = settings.stream;
    const kv = await new Kvm(js).create(stream.identifyMemoryBucket, {
      replicas: stream.replicas,
      history: 1,
      ttl: stream.identifyMemoryTtlDays * DAY_MS,
      description: 'destinations: the user properties each sync last delivered, for identifyForwarding "changes"',
    });
    return new IdentifyMemory(kv, scope);
  }

  /** Whether the bucket is gone (a server back without its store): the runner opens it again, which makes it. */
  static async missing(jsm: JetStreamManager, settings: DaemonSettings): Promise<boolean> {
    try {
      await jsm.streams.info(`KV_${settings.stream.identifyMemoryBucket}`);
      return false;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return true;
      throw error;
    }
  }

  /** `scope`: the sync (its consumer name: KV key characters only). */
  constructor(
    private readonly kv: KV,
    private readonly scope: string,
  ) {}

  /** The entry's key: user ids are hashed, so they appear in no subject and any id fits. */
  keyOf(user: string): string {
    return `${this.scope}.${createHash('sha256').update(user).digest('hex').slice(0, 32)}`;
  }

  async read(user: string): Promise<MemoryRead> {
    const entry = await this.kv.get(this.keyOf(user));
    if (entry === null) return { memory: new Map(), revision: 0 };
    // A deleted or purged entry keeps its revision: the next write must name it.
    return { memory: entry.operation === 'PUT' ? decodeMemory(entry.string()) : new Map(), revision: entry.revision };
  }

  /**
   * Records that `sent` was delivered on top of `base`. When another daemon wrote the user since
   * `base` was read, its entry is re-read and merged (mergeMemories); throws when the bucket
   * cannot be written or the tries run out.
   */
  async remember(user: string, base: MemoryRead, sent: UserOperations): Promise<void> {
    const key = this.keyOf(user);
    let from = base;
    let ours = afterDelivery(base.memory, sent);
    for (let attempt = 1; ; attempt++) {
      try {
        const text = encodeMemory(ours);
        if (from.revision === 0) await this.kv.create(key, text);
        else await this.kv.update(key, text, from.revision);
        return;
      } catch (error) {
        if (!isRevisionConflict(error) || attempt >= DEFAULT_IDENTIFY_MEMORY_WRITE_TRIES) throw error;
      }
      const theirs = await this.read(user);
      ours = mergeMemories(from.memory, theirs.memory, ours);
      from = theirs;
    }
  }
}

function isRevisionConflict(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
