// Where the package's own files live, whether running from the TypeScript sources or from dist/.
import { existsSync } from 'node:fs';
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
