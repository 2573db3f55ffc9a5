// Variables of a destinations folder: non-secret values several syncs share, written once in
// <destinations>/variables.json and named in a sync's parameter values as ${vars.NAME} (the quick
// start's sink address is one). They are replaced when a sync is read, so every later check (URL,
// egress hosts, examples) sees plain values. A host's daemon configuration may give a declared
// variable its own value; validate, preview and plan use the file's, so they do not depend on the
// machine they run on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationVariables } from '../../schema/generated/variables.js';
import { Problems, type JsonDocument } from './problems.js';
import { readJson } from './read-json.js';
import { checkAgainstSchema, validateVariablesFile } from './schemas.js';
import type { LoadProblem } from './types.js';

export const VARIABLES_FILE = 'variables.json';

/** ${vars.NAME}: the one form a variable is named in. */
const REFERENCE = /\$\{vars\.([^}]*)\}/g;

export interface Variables {
  /** The file they were declared in (it may not exist: then none are). */
  file: string;
  values: ReadonlyMap<string, string>;
  /** The file's own values, which examples are rendered with (a host's values are not the author's). */
  declared: ReadonlyMap<string, string>;
  problems: readonly LoadProblem[];
}

/** The variables of the destinations folder `dir`, with `overrides` (a daemon configuration's) applied. */
export function readVariables(dir: string, overrides: Readonly<Record<string, string | undefined>> = {}): Variables {
  const file = join(dir, VARIABLES_FILE);
  const problems = new Problems();
  const values = new Map<string, string>();
  let document: JsonDocument | undefined;
  if (existsSync(file)) {
    document = readJson(file, problems);
    if (document && checkAgainstSchema(document, validateVariablesFile, problems)) {
      for (const [name, value] of Object.entries((document.value as DestinationVariables).variables)) if (value !== undefined) values.set(name, value);
    }
  }
  const declared = new Map(values);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!declared.has(name)) {
      problems.error(file, `variable "${name}" is given a value by the daemon configuration but not declared here: declare it in "variables" (with the value validate and preview use)`);
      continue;
    }
    values.set(name, value);
  }
  return { file, values, declared, problems: problems.list };
}

/**
 * A parameter value with its ${vars.NAME} replaced; undefined (with the reason in `problem`) when
 * it names a variable that is not declared. Values of other types are returned as they are.
 */
export function substituteVariables<T>(value: T, variables: Variables, problem: (message: string) => void): T | undefined {
  if (typeof value !== 'string' || !value.includes('${vars.')) return value;
  if (value.replace(REFERENCE, '').includes('${vars.')) {
    problem(`\${vars. without its closing "}": write \${vars.NAME}`);
    return undefined;
  }
  let unknown: string | undefined;
  const replaced = value.replace(REFERENCE, (whole, name: string) => {
    const found = variables.values.get(name);
    if (found === undefined) unknown ??= name;
    return found ?? whole;
  });
  if (unknown !== undefined) {
    const known = [...variables.values.keys()];
    const declared = known.length ? `${variables.file} declares ${known.join(', ')}` : `declare it in ${variables.file}`;
    problem(`unknown variable "${unknown}" in \${vars.${unknown}}: ${declared}, or write the value here`);
    return undefined;
  }
  return replaced as T;
}

/** Whether a host gives any variable a value other than the file's. */
export function overridesVariables(variables: Variables): boolean {
  return [...variables.values].some(([name, value]) => variables.declared.get(name) !== value);
}

/** The same variables with the file's values only. */
export function declaredVariables(variables: Variables): Variables {
  return { ...variables, values: variables.declared };
}
