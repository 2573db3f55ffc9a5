export { connectNats, connectOptions, NatsUnavailableError, type NatsSession } from './connect.js';
export { ensureStreams } from './streams.js';
export { natsServerInstalled, startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
export { subjectMatches } from './subject-matches.js';
export { DEFAULT_JETSTREAM_SETTLE_MS, isJetStreamSettling, untilJetStreamAnswers } from './until-jetstream-answers.js';
