// The registry for its tests (nats.js's internal_mod.ts): the public surface, and the parts it is made
// of that only tests reach. Code outside test/ imports index.ts; a test that needs only public
// symbols imports index.ts too.
export * from './index.js';
export { SLUG_PATTERN } from './read-definition.js';
export { VARIABLES_FILE, type Variables } from './variables.js';
export { SYNC_NAME_PATTERN, syncNameOf } from './read-sync.js';
export { renderEventsForSync, defaultIdempotencyKey, REQUEST_KINDS, type RenderForSyncOptions } from './render-for-sync.js';
export { watchFolder, type FolderWatcher, type WatchFolderOptions } from './watch-folder.js';
export { batchEvents, type PlannedRequest, type SkippedEvent } from './batch-events.js';
export { secretHeaderNames } from './redact-request.js';
export { missingSecrets, resolveParameters, SECRET_PLACEHOLDERS, type SecretDisplay } from './parameters.js';
export { sortProblems } from './problems.js';
export { findTemplateUses, type TemplateUse, type TemplateUses } from './template-uses.js';
export { type UrlTemplateProblem } from './url-template-check.js';
export { resolveSyncTls, SYNC_TLS_CA_POINTER, type SyncTls } from './sync-tls.js';
export { pngProblem, crc32 } from './png.js';
export { type LoadOptions } from './load.js';
export { templatePlaceOf } from './check-corpus.js';
