// One sync file, checked against its destination: parameters (secrets by reference only), field
// mappings, selected properties, filter conditions and the destination's limits; then resolved into
// a LoadedSync with its filter and selection.
import { basename } from 'node:path';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import { compileFilter, isIdentifyEvent, type EventPredicate } from '../events/index.js';
import { didYouMean } from '../did-you-mean.js';
import { isSecretRef } from '../secrets/index.js';
import { resolveParameters } from './parameters.js';
import { pointerOf, type Problems } from './problems.js';
import { readJson } from './read-json.js';
import { substituteVariables, type Variables } from './variables.js';
import { checkAgainstSchema, show, validateSyncFile } from './schemas.js';
import type { LoadedDestination, LoadedSync } from './types.js';

/** A sync's name: its file name without .json (consumer and dead-letter names derive from it). */
export const SYNC_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

export interface SyncReadSettings {
  resolveSecrets: boolean;
  env: NodeJS.ProcessEnv;
  /** The destinations folder's variables, for ${vars.NAME} in parameter values. */
  variables: Variables;
}

/** A parameter name that says it holds a credential: api_secret, apiKey, access_token, password. An
 *  identifier that is a "key" (event_definition_key, contact_key) does not: a key is a credential
 *  alone or after api, access, private, signing, auth, client, write, master, license or app. */
export const SOUNDS_SECRET = /secret|passw(or)?d|token|^key$|(api|access|private|signing|auth|client|write|master|license|app)[_-]?key/i;

export function syncNameOf(file: string): string {
  return basename(file, '.json');
}

export function readSync(destination: LoadedDestination | undefined, file: string, settings: SyncReadSettings, problems: Problems): LoadedSync | undefined {
  const name = syncNameOf(file);
  if (!SYNC_NAME_PATTERN.test(name)) problems.error(file, `sync name "${name}" (its file name) must match ${SYNC_NAME_PATTERN.source}`);
  const document = readJson(file, problems);
  if (!document || !checkAgainstSchema(document, validateSyncFile, problems)) return undefined;
  // Without a valid destination.json there is nothing more to check a sync against.
  if (!destination) return undefined;
  const before = problems.list.length;
  const sync = document.value as SyncDefinition;
  const definition = destination.definition;
  const declared = definition.parameters ?? [];
  const limits = definition.limits ?? {};

  // ${vars.NAME} first: every check below, and the daemon, see the values the sync runs with.
  for (const [parameterName, value] of Object.entries(sync.parameters ?? {})) {
    const replaced = substituteVariables(value, settings.variables, (message) => problems.at(document, pointerOf('parameters', parameterName), message));
    if (replaced !== undefined) sync.parameters![parameterName] = replaced;
  }
  for (const [parameterName, value] of Object.entries(sync.parameters ?? {})) {
    const pointer = pointerOf('parameters', parameterName);
    const parameter = declared.find((candidate) => candidate.name === parameterName);
    if (!parameter) {
      const known = declared.map((candidate) => candidate.name);
      problems.at(document, pointer, `unknown parameter "${parameterName}"${didYouMean(parameterName, known)}: ${destination.slug} declares ${known.length ? known.join(', ') : 'no parameters'}`);
    } else if (parameter.secret && !isSecretRef(value)) {
      problems.at(document, pointer, `parameter "${parameterName}" is secret: give it by reference ({"env": "NAME"} or {"file": "path"}), never inline`);
    } else if (!isSecretRef(value) && SOUNDS_SECRET.test(parameterName)) {
      // The destination forgot "secret": true, or the author pasted a credential: a warning, an error with --strict.
      problems.at(
        document,
        pointer,
        `parameter "${parameterName}" is given inline, but its name says it is a credential: give it by reference ({"env": "NAME"} or {"file": "path"}), and mark it "secret": true in destination.json`,
        'warning',
      );
    }
  }
  // Problems after which the sync cannot render an event meaningfully: its checks on generated events and examples stop.
  let unrenderable = false;
  for (const parameter of declared) {
    if ((parameter.required ?? true) && parameter.default === undefined && sync.parameters?.[parameter.name] === undefined) {
      unrenderable = true;
      problems.at(document, sync.parameters ? '/parameters' : '', `missing required parameter "${parameter.name}" (${parameter.displayName})`);
    }
  }

  const mappings = definition.userPropertyMappings ?? [];
  for (const mappingName of Object.keys(sync.fieldMappings ?? {})) {
    if (!mappings.some((mapping) => mapping.name === mappingName)) {
      problems.at(document, pointerOf('fieldMappings', mappingName), `unknown field "${mappingName}": ${destination.slug} maps ${mappings.length ? mappings.map((mapping) => mapping.name).join(', ') : 'no fields'}`);
    }
  }
  for (const mapping of mappings) {
    if (mapping.required && sync.fieldMappings?.[mapping.name] === undefined) {
      unrenderable = true;
      problems.at(document, sync.fieldMappings ? '/fieldMappings' : '', `missing required mapping "${mapping.name}": map it to an event field or a user, event or group property in fieldMappings`);
    }
  }

  const selected = sync.selectedProperties ?? [];
  if (limits.maxSelectedProperties !== undefined && selected.length > limits.maxSelectedProperties) {
    problems.at(document, '/selectedProperties', `${selected.length} selected properties, but ${destination.slug} accepts at most ${limits.maxSelectedProperties}`);
  }
  const outputNames = new Set<string>();
  selected.forEach((property, index) => {
    const key = property.as ?? property.property;
    if (outputNames.has(key)) problems.at(document, pointerOf('selectedProperties', index), `two selected properties are both named "${key}" in mappedProperties: use "as" to rename one`);
    outputNames.add(key);
  });

  const eventTypes = sync.filter?.eventTypes;
  if (limits.maxEventTypes !== undefined) {
    if (!eventTypes?.length) {
      problems.at(document, sync.filter ? '/filter' : '', `${destination.slug} accepts at most ${limits.maxEventTypes} event types: list the ones to send in filter.eventTypes`);
    } else if (eventTypes.length > limits.maxEventTypes) {
      problems.at(document, '/filter/eventTypes', `${eventTypes.length} event types, but ${destination.slug} accepts at most ${limits.maxEventTypes}`);
    }
  }
  const beforeFilter = problems.list.length;
  (sync.filter?.conditions ?? []).forEach((condition, index) => {
    const pointer = pointerOf('filter', 'conditions', index);
    const presence = condition.op === 'set' || condition.op === 'not_set';
    if (presence && condition.value !== undefined) problems.at(document, `${pointer}/value`, `"${condition.op}" takes no value`);
    if (!presence && condition.value === undefined) problems.at(document, pointer, `"${condition.op}" needs a value`);
    if (Array.isArray(condition.value) && condition.op !== 'is' && condition.op !== 'is_not') {
      problems.at(document, `${pointer}/value`, `only "is" and "is_not" take a list of values`);
    }
    const numeric = ['less', 'less_or_equal', 'greater', 'greater_or_equal'].includes(condition.op);
    if (numeric && condition.value !== undefined && !Array.isArray(condition.value) && !Number.isFinite(Number(condition.value))) {
      problems.at(document, `${pointer}/value`, `"${condition.op}" compares numbers: ${show(condition.value)} is not a number`);
    }
  });

  if (problems.list.length > beforeFilter) unrenderable = true;
  if (sync.startAt !== undefined && sync.startAt !== 'new' && sync.startAt !== 'all' && Number.isNaN(Date.parse(sync.startAt))) {
    problems.at(document, '/startAt', `startAt ${show(sync.startAt)} is not a time: write "new", "all" or an ISO 8601 time such as 2026-11-30T00:00:00Z`);
  }
  // true and "all" forward identifies whole; "changes" forwards what changed (identify-memory.ts).
  const identifyForwarding = (sync.identifyForwarding ?? false) !== false;
  if (identifyForwarding && !destination.identify) {
    problems.at(document, '/identifyForwarding', `${destination.slug} has no identify request, so it cannot forward identify events`);
  }
  // A sync with other errors is still returned, so its examples and generated events are checked in
  // the same run; its folder is rejected all the same (load.ts), and loadSync gives no sync.
  if (unrenderable && problems.list.slice(before).some((problem) => problem.severity === 'error')) return undefined;

  const parameters = resolveParameters(declared, sync.parameters, { syncFile: file, resolveSecrets: settings.resolveSecrets, env: settings.env });
  const eventFilter = compileFilter(sync.filter);
  const forwardsIdentify = identifyForwarding && destination.identify !== undefined;
  // Identify events are governed by identifyForwarding alone; the event filter is for tracked events.
  const filter: EventPredicate = (event) => (isIdentifyEvent(event) ? forwardsIdentify : eventFilter(event));
  return {
    id: `${destination.slug}.${name}`,
    name,
    file,
    destination,
    definition: sync,
    enabled: sync.enabled ?? true,
    identifyForwarding,
    identifyChanges: sync.identifyForwarding === 'changes',
    parameters,
    filter,
    selection: {
      selectedProperties: selected,
      fieldMappings: Object.entries(sync.fieldMappings ?? {}).flatMap(([fieldName, source]) => {
        const mapping = mappings.find((candidate) => candidate.name === fieldName);
        return source && mapping ? [{ name: fieldName, source, required: mapping.required ?? false, identifier: mapping.identifier ?? false }] : [];
      }),
      maxIdentifierBytes: limits.maxIdentifierBytes,
    },
  };
}
