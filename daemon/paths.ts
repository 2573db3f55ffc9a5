// Where the package's own files live: a checkout (sources or dist/) or an installed package
// (<prefix>/lib/node_modules/destinations, whose dist/ holds the code beside schema/ and the catalog).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith(`${'/'}dist`)) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${start}`);
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schema');
export const GENERATED_TYPES_DIR = join(SCHEMA_DIR, 'generated');
/** The version in package.json, read when the process starts: what `destinations --version`, traces and the catalog report. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
