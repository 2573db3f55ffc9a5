export {
  buildDeadLetter,
  deadLetterSubject,
  maxPayloadOf,
  DEAD_LETTER_FORMAT_VERSION,
  DEFAULT_NATS_MAX_PAYLOAD,
  type DeadLetter,
  type DeadLetterInput,
} from './dead-letter.js';
