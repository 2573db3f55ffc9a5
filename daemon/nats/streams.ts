// The two streams the daemon relies on: events in, dead letters out. Created when missing. An
// existing event stream is left as the operator configured it, except that it must capture the
// replay subjects (dead replay publishes there); the dead-letter stream's limits come from the
// daemon config and are applied to an existing stream too (see decisions.md). Replicas are used
// when a stream is created; an existing stream whose replicas differ is logged, not changed:
// scaling a replicated stream moves its data between servers, which is the operator's call.
// The same for the guards (deny_purge, deny_delete): set when a stream is created, named in the log
// when an existing stream lacks them, because the server never lets a stream drop them again.
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { replaySubjects } from '../dead-letter/index.js';
import type { Logger } from '../log.js';
import { formatBytes, StorageBudgetError } from './storage-budget.js';

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

type StreamSettings = DaemonSettings['stream'];

/**
 * What nothing in destinations does to a stream, so JetStream refuses it to everyone, whatever
 * their permissions (a second fence behind the publishers' account, docs/security.md). Events are
 * never purged or deleted one by one (they leave by max_age); a dead letter is deleted one at a
 * time by `dead replay`, so DEAD refuses purges only. A purge refused also refuses roll-ups.
 */
export const STREAM_GUARDS = {
  events: { deny_purge: true, deny_delete: true },
  deadLetters: { deny_purge: true },
} as const;

type StreamGuards = (typeof STREAM_GUARDS)[keyof typeof STREAM_GUARDS];

/** The dead-letter stream's limits in JetStream's terms: max_age in ns (0 = none), max_bytes (-1 = none). */
export function deadLetterLimits(stream: Pick<StreamSettings, 'deadLetterMaxAgeDays' | 'deadLetterMaxBytes'>): { max_age: number; max_bytes: number } {
  return { max_age: stream.deadLetterMaxAgeDays * DAY_NS, max_bytes: stream.deadLetterMaxBytes === 0 ? -1 : stream.deadLetterMaxBytes };
}

/** What ensureStreams found: the events stream, and the streams it had to make. */
export interface EnsuredStreams {
  events: StreamInfo;
  created: string[];
}

export interface EnsureOptions {
  /** What the dead-letter stream may reserve (planStorage sizes it to the server's store; the config's value by default). */
  deadLetterMaxBytes?: number;
  /** Only make what is missing (a repair): an existing stream's subjects and limits were seen to at start. */
  onlyMissing?: boolean;
}

/**
 * Makes the events and dead-letter streams when missing, and brings existing ones to what the daemon
 * needs (replay subjects, dead-letter limits). A refusal for lack of storage throws a
 * StorageBudgetError naming the numbers to change.
 */
export async function ensureStreams(jsm: JetStreamManager, stream: StreamSettings, log: Logger, options: EnsureOptions = {}): Promise<EnsuredStreams> {
  const { deadLetterMaxBytes = stream.deadLetterMaxBytes, onlyMissing = false } = options;
  const replay = replaySubjects(stream.name);
  const created: string[] = [];
  const events = await ensureStream(jsm, log, created, {
    name: stream.name,
    subjects: [...stream.subjects, replay],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 7 * DAY_NS,
    num_replicas: stream.replicas,
  }, STREAM_GUARDS.events);
  const subjects = events.info.config.subjects ?? [];
  if (!onlyMissing && !subjects.includes(replay)) {
    // A stream made before replays had subjects of their own, or by the operator.
    await jsm.streams.update(stream.name, { subjects: [...subjects, replay] });
    log.info('added the replay subjects to the events stream', { stream: stream.name, subject: replay });
  }
  const limits = deadLetterLimits({ deadLetterMaxAgeDays: stream.deadLetterMaxAgeDays, deadLetterMaxBytes });
  const dead = await ensureStream(jsm, log, created, {
    name: stream.deadLetterStream,
    subjects: [`${stream.deadLetterSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // Full: the oldest letters go, so a new dead letter can always be written and no sync stalls.
    discard: DiscardPolicy.Old,
    ...limits,
    num_replicas: stream.deadLetterReplicas,
  }, STREAM_GUARDS.deadLetters);
  const existing = dead.info.config;
  if (!onlyMissing && !dead.created && (existing.max_age !== limits.max_age || existing.max_bytes !== limits.max_bytes)) {
    await updateLimits(jsm, log, dead.info, limits);
  }
  return { events: events.info, created };
}

/** The stream's info, creating the stream (with its guards) when it is missing. */
async function ensureStream(
  jsm: JetStreamManager,
  log: Logger,
  created: string[],
  config: Partial<StreamConfig> & { name: string; subjects: string[]; num_replicas: number },
  guards: StreamGuards,
): Promise<{ info: StreamInfo; created: boolean }> {
  try {
    const info = await jsm.streams.info(config.name);
    warnOnReplicaMismatch(info, config.num_replicas, log);
    warnOnMissingGuards(info, guards, log);
    return { info, created: false };
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  let info: StreamInfo;
  try {
    info = await jsm.streams.add({ ...config, ...guards });
  } catch (error) {
    if (error instanceof JetStreamApiError && STORAGE_REFUSED.has(error.code)) throw storageRefusal(config, error);
    throw error;
  }
  created.push(config.name);
  log.info('created stream', { stream: config.name, subjects: config.subjects, ...guards });
  return { info, created: true };
}

/** "insufficient storage resources available", "insufficient resources". */
const STORAGE_REFUSED = new Set([10047, 10023]);

/** One line for a stream the server has no room to make: what it reserves, and the numbers to change. */
function storageRefusal(config: Partial<StreamConfig> & { name: string }, error: JetStreamApiError): StorageBudgetError {
  const reserves = config.max_bytes !== undefined && config.max_bytes > 0;
  return new StorageBudgetError(
    reserves
      ? `NATS refused to reserve ${formatBytes(config.max_bytes!)} for the dead-letter stream ${config.name} (${error.message}): set stream.deadLetterMaxBytes ` +
          "to at most an eighth of the server's jetstream max_file_store, or raise max_file_store"
      : `NATS cannot make the stream ${config.name} (${error.message}): other streams reserve all of the server's jetstream max_file_store (the dead-letter ` +
          'stream: stream.deadLetterMaxBytes); raise max_file_store or lower what they reserve',
  );
}

/** The config says what the dead-letter stream keeps: an older stream (unlimited before) is brought to it. */
async function updateLimits(jsm: JetStreamManager, log: Logger, existing: StreamInfo, limits: { max_age: number; max_bytes: number }): Promise<void> {
  const fields = { stream: existing.config.name, from: { max_age: existing.config.max_age, max_bytes: existing.config.max_bytes }, to: limits };
  try {
    await jsm.streams.update(existing.config.name, { ...limits, discard: DiscardPolicy.Old });
    log.warn('dead-letter stream limits updated from the daemon config (letters past them are removed)', fields);
  } catch (error) {
    // Not allowed (a cluster's permissions, say): the stream still works; the operator is told.
    log.error('cannot update the dead-letter stream limits; it keeps its own', { ...fields, error });
  }
}

function warnOnReplicaMismatch(info: StreamInfo, configured: number, log: Logger): void {
  const actual = info.config.num_replicas;
  if (actual === configured) return;
  log.warn('stream replicas differ from the configuration; the stream is left as it is', {
    stream: info.config.name,
    configured,
    actual,
    change: `nats stream edit ${info.config.name} --replicas ${configured}`,
  });
}

function warnOnMissingGuards(info: StreamInfo, wanted: StreamGuards, log: Logger): void {
  const missing = (Object.keys(wanted) as Array<keyof StreamGuards>).filter((guard) => info.config[guard] !== true);
  if (missing.length === 0) return;
  log.warn('stream allows what destinations never does to it; the stream is left as it is', {
    stream: info.config.name,
    missing,
    change: `nats stream edit ${info.config.name} ${missing.map((guard) => `--${guard.replace('_', '-')}`).join(' ')}`,
  });
}
