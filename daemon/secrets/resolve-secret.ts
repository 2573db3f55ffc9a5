// Secrets are given by reference: {"env": NAME} or {"file": path}. A file path may use ${VAR}
// (e.g. ${CREDENTIALS_DIRECTORY}/braze_api_key for systemd's LoadCredential=) and, when relative,
// is relative to the file that named it.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import type { SecretRef } from '../../schema/generated/sync.js';

export type { SecretRef };

export class SecretUnresolvedError extends Error {
  override name = 'SecretUnresolvedError';
}

export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && ('env' in value || 'file' in value);
}

export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** The secret's value; throws SecretUnresolvedError saying what is missing. */
export function resolveSecretRef(ref: SecretRef, options: { env?: NodeJS.ProcessEnv; baseDir: string }): string {
  const env = options.env ?? process.env;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new SecretUnresolvedError(`environment variable ${ref.env} is not set`);
    return value;
  }
  const expanded = ref.file.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new SecretUnresolvedError(`${ref.file}: environment variable ${name} is not set`);
    return value;
  });
  const path = isAbsolute(expanded) ? expanded : resolve(options.baseDir, expanded);
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new SecretUnresolvedError(`cannot read secret file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
