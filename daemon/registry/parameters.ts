// A sync's parameter values: defaults filled in, secret references resolved (or the reason they
// could not be), and the resolved secret values kept aside for redaction.
import { dirname } from 'node:path';
import type { Parameter } from '../../schema/generated/destination.js';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import { isSecretRef, resolveSecretRef, SecretUnresolvedError } from '../secrets/index.js';
import type { ResolvedParameters } from './types.js';

export interface ResolveOptions {
  /** The sync file: a relative {"file": …} path is relative to its folder. */
  syncFile: string;
  /** Read environment variables and files; when false, references are left untried. */
  resolveSecrets: boolean;
  env: NodeJS.ProcessEnv;
}

/** Values of the declared parameters only; checking the sync (unknown names, inline secrets) is the loader's job. */
export function resolveParameters(
  declared: readonly Parameter[],
  given: SyncDefinition['parameters'],
  options: ResolveOptions,
): ResolvedParameters {
  const values: Record<string, unknown> = {};
  const secretNames = new Set<string>();
  const referenced = new Set<string>();
  const secretValues: string[] = [];
  const unresolved = new Map<string, string>();
  for (const parameter of declared) {
    if (parameter.secret) secretNames.add(parameter.name);
    const value = given?.[parameter.name];
    if (value === undefined) {
      if (parameter.default !== undefined) values[parameter.name] = parameter.default;
      continue;
    }
    if (!isSecretRef(value)) {
      values[parameter.name] = value;
      continue;
    }
    // A value kept out of the file is treated as a secret, whether or not the destination says so.
    secretNames.add(parameter.name);
    referenced.add(parameter.name);
    if (!options.resolveSecrets) continue;
    try {
      const secret = resolveSecretRef(value, { env: options.env, baseDir: dirname(options.syncFile) });
      if (secret === '') throw new SecretUnresolvedError(`${'env' in value ? `environment variable ${value.env}` : `file ${value.file}`} is empty`);
      values[parameter.name] = secret;
      secretValues.push(secret);
    } catch (error) {
      if (!(error instanceof SecretUnresolvedError)) throw error;
      unresolved.set(parameter.name, error.message);
    }
  }
  return { values, secretNames, referenced, secretValues, unresolved };
}

/** Names given by reference whose value is not at hand: unresolved, or never read. */
export function missingSecrets(parameters: ResolvedParameters): string[] {
  return [...parameters.referenced].filter((name) => !(name in parameters.values));
}

/** Whether missingSecrets has any, without building the list: asked before every request is rendered. */
export function hasMissingSecrets(parameters: ResolvedParameters): boolean {
  for (const name of parameters.referenced) if (!(name in parameters.values)) return true;
  return false;
}

/** How secrets appear in a preview or an example: obvious, and never the value. */
export const SECRET_PLACEHOLDERS = {
  masked: (name: string) => `<secret:${name}>`,
  unresolved: (name: string) => `<unresolved:${name}>`,
} as const;

/** 'mask' (the default of preview, and how examples render) or 'show' (--show-secrets). */
export type SecretDisplay = 'mask' | 'show';

/** Parameter values for a preview. Masked, every secret is <secret:NAME>; shown, its value. A
 *  reference that could not be resolved is <unresolved:NAME> either way, with a warning; one that
 *  was never read (loaded without resolving) is <secret:NAME>. */
export function previewParameters(
  parameters: ResolvedParameters,
  display: SecretDisplay,
): { values: Record<string, unknown>; warnings: string[] } {
  const values = { ...parameters.values };
  const warnings: string[] = [];
  for (const name of parameters.secretNames) {
    const why = parameters.unresolved.get(name);
    if (why !== undefined) {
      values[name] = SECRET_PLACEHOLDERS.unresolved(name);
      warnings.push(`secret parameter ${name} is not resolved (${why}); shown as ${SECRET_PLACEHOLDERS.unresolved(name)}`);
    } else if (parameters.referenced.has(name) && !(name in parameters.values)) {
      values[name] = SECRET_PLACEHOLDERS.masked(name);
    } else if (display === 'mask' && name in values) {
      values[name] = SECRET_PLACEHOLDERS.masked(name);
    }
  }
  return { values, warnings };
}
