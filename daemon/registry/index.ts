// The registry's public surface: what the daemon, the CLI tools, the bench and the fuzz targets use.
// What only tests reach (the parts these are made of) is in internal.ts, as nats.js splits mod.ts
// from internal_mod.ts: a symbol moves here when code outside tests needs it.
export { loadDestinations, loadDestination, loadDestinationDefinition, loadSync, listSyncFiles } from './load.js';
export { readVariables } from './variables.js';
export { catalogFacts, limitsText, type CatalogFacts, type CatalogLimits } from './catalog-facts.js';
export {
  renderForSync,
  renderBatchKey,
  renderForPreview,
  RENDER_FOR_DELIVERY,
  templatesFor,
  requestKindOf,
  RequestNotPossibleError,
  type RenderMode,
  type RequestKind,
} from './render-for-sync.js';
export { contractBreakers, type ContractBreaker } from './contract-breakers.js';
export { renderEventRequest, renderEventRequests, type EventRequest, type EventsRequest } from './event-request.js';
export { reloadOnChange } from './watch-folder.js';
export { redactRequest } from './redact-request.js';
export { previewParameters } from './parameters.js';
export { formatProblem, sortProblems } from './problems.js';
export { validateAdminReport, describeSchemaErrors } from './schemas.js';
export { checkUrlTemplate, urlOriginSource } from './url-template-check.js';
export { syncEgressHosts, syncEgress } from './sync-egress-hosts.js';
export { syncTls, syncTlsProblems, sameSyncTls } from './sync-tls.js';
export type { LoadedDestination, LoadedSync, LoadProblem, LoadResult, DestinationLoad, ParameterUsage, ResolvedParameters } from './types.js';
/** Secret redaction is the secrets area's; re-exported for the tools. */
export { redact as redactSecrets, derivedSecretsOf } from '../secrets/index.js';
