// Shared by every subcommand: argument parsing that turns mistakes into exit code 2, and --help
// for every command (one that declares no `help` option of its own prints its usage line).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT } from '../exit-codes.js';

export const USAGE_EXIT = EXIT.usage;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** --help on a command without a help text of its own: the CLI prints `usage` and exits 0. */
export class HelpRequest extends Error {
  override name = 'HelpRequest';
  constructor(readonly usage: string) {
    super(`usage: ${usage}`);
  }
}

/** node:util parseArgs, strict, with its errors as UsageError so the CLI exits 2. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  const ownHelp = 'help' in options;
  let parsed;
  try {
    parsed = parseArgs({ args, options: ownHelp ? options : { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\nusage: ${usage}`);
  }
  if (!ownHelp && (parsed.values as { help?: boolean }).help) throw new HelpRequest(usage);
  return parsed as ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;
}
