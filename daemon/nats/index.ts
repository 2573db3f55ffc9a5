export { connectNats, NatsAuthorizationError, NatsUnavailableError, type NatsSession } from './connect.js';
export { connectOptions, IDENTITY_FIELDS, type IdentityField, type NatsConnectOptions, type SettingLabel } from './connect-options.js';
export { credentialsInUrls, textWithoutUserinfo, withoutUserinfo, type UrlCredentials } from './server-credentials.js';
export { ensureStreams, STREAM_GUARDS, type EnsuredStreams, type EnsureOptions } from './streams.js';
export { formatBytes, planStorage, StorageBudgetError, STORAGE_PROBE_STREAM, type StoragePlan } from './storage-budget.js';
export { natsServerInstalled, startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
export { subjectMatches } from './subject-matches.js';
export { isJetStreamSettling, untilJetStreamAnswers } from './until-jetstream-answers.js';
export { StateRepair, type StateRepairOptions } from './state-repair.js';
