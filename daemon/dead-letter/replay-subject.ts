// Where replays travel: `_destinations.replay.<stream>.<destination>.<sync>`, subjects of their own
// that the events stream also captures (ensureStreams adds them). A sync takes a replay only from its
// own replay subject, and only the operator may publish there (deploy/nats/), so a publisher can
// neither aim an event at one sync nor hide it from the others.

/** Beside the rate-share subject `_destinations.share.<stream>`; outside the event subjects publishers may use. */
const REPLAY_ROOT = '_destinations.replay';

/** The subjects of one events stream's replays, as a stream subject (wildcard). */
export function replaySubjects(streamName: string): string {
  return `${REPLAY_ROOT}.${streamName}.>`;
}

/** The subject that replays to one sync; its id is `<destination>.<sync>`. */
export function replaySubject(streamName: string, syncId: string): string {
  return `${REPLAY_ROOT}.${streamName}.${syncId}`;
}

/**
 * The sync id a subject replays to: `undefined` when the subject is not one of the stream's replay
 * subjects (an ordinary event), '' when it is one but names no sync the way the CLI writes it.
 */
export function replaySyncOf(subject: string, streamName: string): string | undefined {
  const prefix = `${REPLAY_ROOT}.${streamName}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const syncId = subject.slice(prefix.length);
  return /^[^.]+\.[^.]+$/.test(syncId) ? syncId : '';
}
