// What loading a destinations folder produces. The daemon, the CLI tools and the tests all work
// on these; only the registry builds them.
import type { DestinationDefinition } from '../../schema/generated/destination.js';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import type { EventPredicate } from '../events/filter.js';
import type { RequestContract } from '../contract/index.js';
import type { CompiledTemplate, EventSelection, RequestTemplates } from '../render/index.js';

/** One problem found while loading: file, place (1-based) or JSON pointer, and message. */
export interface LoadProblem {
  file: string;
  line?: number;
  column?: number;
  pointer?: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface LoadedDestination {
  slug: string;
  dir: string;
  /** Content hash of destination.json and its templates: traces and dead letters carry it. */
  version: string;
  definition: DestinationDefinition;
  /** The logo's path: the definition's `logo`, or the default, resolved once when the folder loads. */
  logoFile: string;
  track: RequestTemplates;
  identify?: RequestTemplates;
  /** What the destination accepts, per request kind (track, identify), compiled once: checked before each send. */
  contracts: { track?: RequestContract; identify?: RequestContract };
  /** `batch.key`: the template that says which events may share a request (one event's context). */
  batchKey?: CompiledTemplate;
  syncs: LoadedSync[];
  /** DECLARED vs USED: every declared or used parameter and the templates that use it. */
  parameterUsage: ParameterUsage[];
}

/** One row of the DECLARED vs USED table. */
export interface ParameterUsage {
  name: string;
  declared: boolean;
  secret: boolean;
  /** Labels of the templates that use it ("URL", "header Authorization", "body.njk", …); empty when unused. */
  usedIn: string[];
}

/** Parameter values with secrets resolved; what never to print travels alongside. */
export interface ResolvedParameters {
  values: Record<string, unknown>;
  /** Names of parameters declared secret, or given by reference (a referenced value is treated as secret). */
  secretNames: ReadonlySet<string>;
  /** Names given by reference ({"env"} or {"file"}) in the sync; resolved ones are in `values`. */
  referenced: ReadonlySet<string>;
  /** The resolved secret values themselves, for redaction of anything leaving the process. */
  secretValues: readonly string[];
  /** Secret references that could not be resolved (unset variable, missing file): name → why. A reference
   *  that was not tried (loaded with resolveSecrets: false) is in neither `values` nor `unresolved`. */
  unresolved: ReadonlyMap<string, string>;
}

export interface LoadedSync {
  /** `<slug>.<name>`: unique across the folder; consumer and dead-letter subjects derive from it. */
  id: string;
  name: string;
  file: string;
  destination: LoadedDestination;
  definition: SyncDefinition;
  enabled: boolean;
  identifyForwarding: boolean;
  /** identifyForwarding "changes": only the user properties that changed since the last identify delivered. */
  identifyChanges: boolean;
  parameters: ResolvedParameters;
  filter: EventPredicate;
  selection: EventSelection;
}

export interface LoadResult {
  destinations: LoadedDestination[];
  /** Every problem of every folder; a folder with an error is left out of `destinations`. */
  problems: LoadProblem[];
  /** Folders that had at least one error, by slug. */
  rejected: string[];
  /** Every folder's own result, accepted or not, in slug order (validate --verbose prints their tables). */
  folders: DestinationLoad[];
}

/** Loading one folder: the destination when it has no error, its problems, and its parameter table
 *  (present whenever destination.json itself could be read, even when the folder is rejected). */
export interface DestinationLoad {
  slug: string;
  dir: string;
  destination?: LoadedDestination;
  problems: LoadProblem[];
  parameterUsage?: ParameterUsage[];
}
