export { buildDeadLetter, deadLetterSubject, syncOfDeadLetterSubject, DEAD_LETTER_FORMAT_VERSION, type DeadLetter, type DeadLetterInput } from './dead-letter.js';
export { replaySubject, replaySubjects, replaySyncOf } from './replay-subject.js';
