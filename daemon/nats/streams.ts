// The two streams the daemon relies on: events in, dead letters out. Created when missing; an
// existing stream is left as the operator configured it.
import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { DaemonSettings } from '../config/index.js';
import type { Logger } from '../log.js';

const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

export async function ensureStreams(jsm: JetStreamManager, stream: DaemonSettings['stream'], log: Logger): Promise<void> {
  await ensureStream(jsm, log, {
    name: stream.name,
    subjects: stream.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 7 * DAY_NS,
  });
  await ensureStream(jsm, log, {
    name: stream.deadLetterStream,
    subjects: [`${stream.deadLetterSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 0,
  });
}

async function ensureStream(
  jsm: JetStreamManager,
  log: Logger,
  config: { name: string; subjects: string[]; retention: RetentionPolicy; storage: StorageType; max_age: number },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  await jsm.streams.add(config);
  log.info('created stream', { stream: config.name, subjects: config.subjects });
}
