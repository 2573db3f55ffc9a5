// destinations schema --write [DIR]
// Writes this version's JSON schemas into DIR/schema, where a config repository's "$schema"
// references point (refresh it after upgrading the tool).
import { join } from 'node:path';
import { CONFIG_SCHEMA_DIR, toolVersion, writeSchemas } from '../config-repo/config-repo-files.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations schema --write [DIR]';
const HELP = `usage: ${USAGE}

Writes the JSON schemas of this version of the tool (destination, sync, example, daemon config, …)
into DIR/${CONFIG_SCHEMA_DIR}/ (default DIR: the current folder), where the "$schema" of every file
destinations init writes points. Run it after upgrading the tool. Exit 0 when written, 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { write: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.write || positionals.length > 1) throw new UsageError(`usage: ${USAGE}`);
  const dir = join(positionals[0] ?? '.', CONFIG_SCHEMA_DIR);
  const names = writeSchemas(dir);
  console.log(`wrote ${names.length} schemas of destinations ${toolVersion()} to ${dir}`);
  return 0;
}
