export { buildDeadLetter, deadLetterSubject, DEAD_LETTER_FORMAT_VERSION, type DeadLetter, type DeadLetterInput } from './dead-letter.js';
