// Shared by every subcommand: argument parsing that turns mistakes into exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const USAGE_EXIT = 2;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** node:util parseArgs, strict, with its errors as UsageError so the CLI exits 2. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\nusage: ${usage}`);
  }
}
