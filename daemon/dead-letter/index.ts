export {
  buildDeadLetter,
  deadLetterSubject,
  syncOfDeadLetterSubject,
  maxPayloadOf,
  utf8OrUndefined,
  DEAD_LETTER_FORMAT_VERSION,
  DEFAULT_NATS_MAX_PAYLOAD,
  type DeadLetter,
  type DeadLetterInput,
} from './dead-letter.js';
export { replaySubject, replaySubjects, replaySyncOf } from './replay-subject.js';
export { DeadLetterReader, DEFAULT_DEAD_LETTER_PAGE, type DeadLetterPage, type StoredLetter } from './read-dead-letters.js';
