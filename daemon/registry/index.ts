// The registry's public surface: the daemon, the CLI tools and the tests import only from here.
export {
  loadDestinations,
  loadDestination,
  loadDestinationDefinition,
  loadSync,
  listSyncFiles,
  type LoadOptions,
} from './load.js';
export { SLUG_PATTERN } from './read-definition.js';
export { SYNC_NAME_PATTERN, syncNameOf } from './read-sync.js';
export {
  renderForSync,
  renderEventsForSync,
  templatesFor,
  requestKindOf,
  defaultIdempotencyKey,
  RequestNotPossibleError,
  REQUEST_KINDS,
  type RequestKind,
  type RenderForSyncOptions,
} from './render-for-sync.js';
export { renderEventRequest, renderEventRequests, type EventRequest, type EventsRequest } from './event-request.js';
export { watchFolder, reloadOnChange, type FolderWatcher, type WatchFolderOptions } from './watch-folder.js';
export { batchEvents, type PlannedRequest, type SkippedEvent } from './batch-events.js';
export { redactRequest, secretHeaderNames } from './redact-request.js';
export { previewParameters, missingSecrets, resolveParameters, SECRET_PLACEHOLDERS, type SecretDisplay } from './parameters.js';
export { formatProblem, sortProblems } from './problems.js';
export { validateAdminReport, describeSchemaErrors } from './schemas.js';
export { findTemplateUses, type TemplateUse, type TemplateUses } from './template-uses.js';
export { checkUrlTemplate, urlOriginSource, type UrlTemplateProblem } from './url-template-check.js';
export { syncEgressHosts } from './sync-egress-hosts.js';
export { resolveSyncTls, syncTls, syncTlsProblems, sameSyncTls, SYNC_TLS_CA_POINTER, type SyncTls } from './sync-tls.js';
export { pngProblem, crc32 } from './png.js';
export type { LoadedDestination, LoadedSync, LoadProblem, LoadResult, DestinationLoad, ParameterUsage, ResolvedParameters } from './types.js';
/** Secret redaction is the secrets area's; re-exported for the tools. */
export { redact as redactSecrets, derivedSecretsOf } from '../secrets/index.js';
