// Whether a sync takes a message: an ordinary event goes to every sync (its filter decides), a
// replay only to the sync its subject names. Headers aim nothing: any publisher can set them.
import { replaySyncOf } from '../dead-letter/index.js';

/** True when the sync `syncId` (`<destination>.<sync>`) of the events stream `streamName` should take a message on `subject`. */
export function replayTarget(subject: string, streamName: string, syncId: string): boolean {
  const target = replaySyncOf(subject, streamName);
  return target === undefined || target === syncId;
}
