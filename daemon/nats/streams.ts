// The two streams the daemon relies on: events in, dead letters out. Created when missing; an
// existing stream is left as the operator configured it, except that the events stream must
// capture the replay subjects (dead replay publishes there). Replicas are used when a stream is
// created; an existing stream whose replicas differ is logged, not changed: scaling a replicated
// stream moves its data between servers, which is the operator's call.
import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import { replaySubjects } from '../dead-letter/index.js';
import type { Logger } from '../log.js';

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

export async function ensureStreams(jsm: JetStreamManager, stream: DaemonSettings['stream'], log: Logger): Promise<void> {
  const replay = replaySubjects(stream.name);
  const events = await ensureStream(jsm, log, {
    name: stream.name,
    subjects: [...stream.subjects, replay],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 7 * DAY_NS,
    num_replicas: stream.replicas,
  });
  const subjects = events.config.subjects ?? [];
  if (!subjects.includes(replay)) {
    // A stream made before replays had subjects of their own, or by the operator.
    await jsm.streams.update(stream.name, { subjects: [...subjects, replay] });
    log.info('added the replay subjects to the events stream', { stream: stream.name, subject: replay });
  }
  await ensureStream(jsm, log, {
    name: stream.deadLetterStream,
    subjects: [`${stream.deadLetterSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 0,
    num_replicas: stream.deadLetterReplicas,
  });
}

async function ensureStream(
  jsm: JetStreamManager,
  log: Logger,
  config: { name: string; subjects: string[]; retention: RetentionPolicy; storage: StorageType; max_age: number; num_replicas: number },
): Promise<StreamInfo> {
  try {
    const info = await jsm.streams.info(config.name);
    warnOnReplicaMismatch(info, config.num_replicas, log);
    return info;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  const info = await jsm.streams.add(config);
  log.info('created stream', { stream: config.name, subjects: config.subjects });
  return info;
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
