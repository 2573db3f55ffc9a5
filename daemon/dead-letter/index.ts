export {
  buildDeadLetter,
  deadLetterSubject,
  syncOfDeadLetterSubject,
  maxPayloadOf,
  utf8OrUndefined,
  DEAD_LETTER_FORMAT_VERSION,
  type DeadLetter,
  type DeadLetterInput,
} from './dead-letter.js';
export { replaySubject, replaySubjects, replaySyncOf } from './replay-subject.js';
export { DeadLetterReader, type DeadLetterPage, type StoredLetter } from './read-dead-letters.js';
