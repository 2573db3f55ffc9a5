// How much of the server's JetStream file store the dead-letter stream may reserve. A stream with
// max_bytes reserves that much of the store when it is made, and again when a restarted server
// restores it (in name order: DEAD before EVENTS); a stream without (the events stream) needs one
// byte of room left. A dead-letter stream reserving the whole store therefore strands the events
// stream the next time the server restarts, so the daemon keeps it to an eighth of the store.
//
// What the server lets an account reserve is in the account's JetStream limits when the operator
// set them (nats-server `accounts { X: { jetstream: { max_file } } }`). Without account limits,
// nats-server 2.9 reports -1 and says nothing of its own max_file_store, so the daemon measures the
// room left: it asks for a throwaway stream reserving N bytes and deletes it (a refusal creates
// nothing), halving the gap each time. Without the permission to do that, it keeps the configured
// size, and the server's refusal, if any, becomes one line naming the numbers.
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamAccountStats, type JetStreamManager } from '@nats-io/jetstream';
import { RequestError } from '@nats-io/nats-core';
import type { DaemonSettings } from '../config/index.js';
import { DEFAULT_DEAD_LETTER_MIN_BYTES, DEFAULT_DEAD_LETTER_STORE_DIVISOR } from '../defaults.js';
import type { Logger } from '../log.js';
import { isJetStreamSettling } from './until-jetstream-answers.js';

/** The throwaway stream that measures the room left (its subject is nobody's). Under authorization the daemon's user may create and delete it. */
export const STORAGE_PROBE_STREAM = 'DESTINATIONS_STORAGE_PROBE';
const STORAGE_PROBE_SUBJECT = '_destinations.storage-probe';

/** JetStream's answers when a reservation does not fit: storage resources exceeded, insufficient resources, no peer with room. */
const DOES_NOT_FIT = new Set([10047, 10023, 10005]);
/** "stream name already in use": a probe left behind by a daemon that died while measuring. */
const NAME_IN_USE = 10058;

type StreamSettings = DaemonSettings['stream'];

/** The configuration does not fit the server's JetStream store: the message is the one line to show. */
export class StorageBudgetError extends Error {
  override name = 'StorageBudgetError';
}

export interface StoragePlan {
  /** What the dead-letter stream reserves, in the config's terms (0: no limit, nothing reserved). */
  deadLetterMaxBytes: number;
  /** The file store this daemon's streams may reserve on a server, when known (measured: at least this; the probe stops at what the configured size needs). */
  storeBytes: number | undefined;
  /** Where storeBytes comes from. */
  source: 'account limits' | 'measured' | 'not measured';
}

/** Sizes the dead-letter stream to fit beside the events stream, or throws a StorageBudgetError. */
export async function planStorage(jsm: JetStreamManager, stream: StreamSettings, log: Logger): Promise<StoragePlan> {
  const configured = stream.deadLetterMaxBytes;
  // No byte limit: nothing is reserved (the stream is bounded by its age alone).
  if (configured === 0) return { deadLetterMaxBytes: 0, storeBytes: undefined, source: 'not measured' };
  const replicas = stream.deadLetterReplicas;
  const wanted = configured * DEFAULT_DEAD_LETTER_STORE_DIVISOR;
  let storeBytes: number | undefined;
  let source: StoragePlan['source'];
  const accountLimit = accountStoreLimit(await jsm.getAccountInfo(), replicas);
  if (accountLimit !== undefined) {
    // An account limit counts every replica.
    storeBytes = Math.floor(accountLimit / replicas);
    source = 'account limits';
  } else {
    // What this daemon's dead-letter stream reserves already is not room left, but it is its own.
    const own = await reservedBy(jsm, stream.deadLetterStream);
    try {
      storeBytes = own + (await roomLeft(jsm, replicas, Math.max(0, wanted - own)));
      source = 'measured';
    } catch (error) {
      if (!(error instanceof ProbeRefused)) throw error;
      log.info('cannot measure the JetStream store the server lets this daemon reserve; the dead-letter stream reserves stream.deadLetterMaxBytes', {
        deadLetterMaxBytes: configured,
        why: error.message,
      });
      return { deadLetterMaxBytes: configured, storeBytes: undefined, source: 'not measured' };
    }
  }
  const fits = Math.floor(storeBytes / DEFAULT_DEAD_LETTER_STORE_DIVISOR);
  if (fits < DEFAULT_DEAD_LETTER_MIN_BYTES) {
    throw new StorageBudgetError(
      `the NATS server lets this daemon reserve ${formatBytes(storeBytes)} of JetStream file store (${source}), too little for the events stream beside an ` +
        `eighth of it for dead letters (at least ${formatBytes(DEFAULT_DEAD_LETTER_MIN_BYTES)}): raise max_file_store in the server's jetstream block` +
        `${source === 'account limits' ? " (or the account's max_file)" : ''} to ${formatBytes(DEFAULT_DEAD_LETTER_MIN_BYTES * DEFAULT_DEAD_LETTER_STORE_DIVISOR)} or more`,
    );
  }
  if (fits >= configured) return { deadLetterMaxBytes: configured, storeBytes, source };
  log.warn('the dead-letter stream reserves an eighth of the JetStream store the server allows, less than stream.deadLetterMaxBytes', {
    deadLetterMaxBytes: fits,
    configured,
    store: storeBytes,
    source,
    change: `raise max_file_store in the server's jetstream block to ${formatBytes(wanted)} to reserve ${formatBytes(configured)}, or set stream.deadLetterMaxBytes to ${fits}`,
  });
  return { deadLetterMaxBytes: fits, storeBytes, source };
}

/** The account's file-store limit for streams of `replicas` copies, when the operator set one (-1: none). With tiered limits the top level is empty, and only the tier counts. */
function accountStoreLimit(info: JetStreamAccountStats, replicas: number): number | undefined {
  const tiered = info.tiers !== undefined && Object.keys(info.tiers).length > 0;
  const limit = tiered ? info.tiers?.[`R${replicas}` as 'R1' | 'R3']?.limits.max_storage : info.limits?.max_storage;
  return limit !== undefined && limit >= 0 ? limit : undefined;
}

/** What a stream reserves now (its max_bytes), 0 when it has no limit or does not exist. */
async function reservedBy(jsm: JetStreamManager, name: string): Promise<number> {
  try {
    const maxBytes = (await jsm.streams.info(name)).config.max_bytes;
    return maxBytes > 0 ? maxBytes : 0;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return 0;
    throw error;
  }
}

class ProbeRefused extends Error {}

/** The largest reservation up to `upTo` the server accepts now, to within a sixteenth (0 under 1 MiB): halving to the first that fits, then between it and its double. */
async function roomLeft(jsm: JetStreamManager, replicas: number, upTo: number): Promise<number> {
  if (upTo === 0 || (await fits(jsm, replicas, upTo))) return upTo;
  let high = upTo;
  let low = Math.floor(upTo / 2);
  while (!(await fits(jsm, replicas, low))) {
    if (low < DEFAULT_DEAD_LETTER_MIN_BYTES) return 0;
    high = low;
    low = Math.floor(low / 2);
  }
  const precision = Math.max(Math.floor(low / 16), 1);
  while (high - low > precision) {
    const middle = Math.floor((low + high) / 2);
    if (await fits(jsm, replicas, middle)) low = middle;
    else high = middle;
  }
  return low;
}

/** Whether the server would reserve `bytes` for a new stream now: it makes the probe stream and deletes it. */
async function fits(jsm: JetStreamManager, replicas: number, bytes: number, retry = true): Promise<boolean> {
  try {
    await jsm.streams.add({ name: STORAGE_PROBE_STREAM, subjects: [STORAGE_PROBE_SUBJECT], storage: StorageType.File, num_replicas: replicas, max_bytes: bytes, max_msgs: 1 });
  } catch (error) {
    if (error instanceof JetStreamApiError && DOES_NOT_FIT.has(error.code)) return false;
    if (error instanceof JetStreamApiError && error.code === NAME_IN_USE && retry) {
      await jsm.streams.delete(STORAGE_PROBE_STREAM).catch(() => undefined);
      return fits(jsm, replicas, bytes, false);
    }
    // A cluster electing a leader: the start waits for it (untilJetStreamAnswers).
    if (isJetStreamSettling(error)) throw error;
    // No permission for the probe (a user limited to its own streams), another daemon measuring now, or
    // a server that refuses it for another reason (more replicas than it has): measured it is not.
    if (error instanceof RequestError || error instanceof JetStreamApiError) throw new ProbeRefused(error.message);
    throw error;
  }
  await jsm.streams.delete(STORAGE_PROBE_STREAM);
  return true;
}

/** Bytes for a person: 1 GiB, 64 MiB, 1.5 MiB. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
