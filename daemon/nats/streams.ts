// The two streams the daemon relies on: events in, dead letters out. Created when missing. An
// existing event stream is left as the operator configured it, except that it must capture the
// replay subjects (dead replay publishes there); the dead-letter stream's limits come from the
// daemon config and are applied to an existing stream too (see decisions.md). Replicas are used
// when a stream is created; an existing stream whose replicas differ is logged, not changed:
// scaling a replicated stream moves its data between servers, which is the operator's call.
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

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

type StreamSettings = DaemonSettings['stream'];

/** The dead-letter stream's limits in JetStream's terms: max_age in ns (0 = none), max_bytes (-1 = none). */
export function deadLetterLimits(stream: Pick<StreamSettings, 'deadLetterMaxAgeDays' | 'deadLetterMaxBytes'>): { max_age: number; max_bytes: number } {
  return { max_age: stream.deadLetterMaxAgeDays * DAY_NS, max_bytes: stream.deadLetterMaxBytes === 0 ? -1 : stream.deadLetterMaxBytes };
}

export async function ensureStreams(jsm: JetStreamManager, stream: StreamSettings, log: Logger): Promise<void> {
  const replay = replaySubjects(stream.name);
  const events = await ensureStream(jsm, log, {
    name: stream.name,
    subjects: [...stream.subjects, replay],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 7 * DAY_NS,
    num_replicas: stream.replicas,
  });
  const subjects = events.info.config.subjects ?? [];
  if (!subjects.includes(replay)) {
    // A stream made before replays had subjects of their own, or by the operator.
    await jsm.streams.update(stream.name, { subjects: [...subjects, replay] });
    log.info('added the replay subjects to the events stream', { stream: stream.name, subject: replay });
  }
  const limits = deadLetterLimits(stream);
  const dead = await ensureStream(jsm, log, {
    name: stream.deadLetterStream,
    subjects: [`${stream.deadLetterSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // Full: the oldest letters go, so a new dead letter can always be written and no sync stalls.
    discard: DiscardPolicy.Old,
    ...limits,
    num_replicas: stream.deadLetterReplicas,
  });
  const existing = dead.info.config;
  if (!dead.created && (existing.max_age !== limits.max_age || existing.max_bytes !== limits.max_bytes)) {
    await updateLimits(jsm, log, dead.info, limits);
  }
}

/** The stream's info, creating the stream when it is missing. */
async function ensureStream(
  jsm: JetStreamManager,
  log: Logger,
  config: Partial<StreamConfig> & { name: string; subjects: string[]; num_replicas: number },
): Promise<{ info: StreamInfo; created: boolean }> {
  try {
    const info = await jsm.streams.info(config.name);
    warnOnReplicaMismatch(info, config.num_replicas, log);
    return { info, created: false };
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  const info = await jsm.streams.add(config);
  log.info('created stream', { stream: config.name, subjects: config.subjects });
  return { info, created: true };
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
