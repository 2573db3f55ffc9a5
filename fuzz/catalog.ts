// The shipped catalog (destinations/), loaded as the daemon loads it, with a made-up value for every
// secret its syncs name: the syncs the render and dead-letter targets send hostile events through.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths.js';
import { loadDestinations, type LoadedSync } from '../daemon/registry/index.js';
import { SIGNING_SECRET_PREFIX } from '../daemon/signing/index.js';

const CATALOG = join(PACKAGE_ROOT, 'destinations');
const ENV_REFERENCE = /"env"\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"/g;

/** Every {"env": NAME} the catalog's syncs name, each with a value of its own (a whsec_ key where one signs). */
function madeUpSecrets(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const slug of readdirSync(CATALOG)) {
    let files: string[];
    try {
      files = readdirSync(join(CATALOG, slug, 'syncs')).filter((file) => file.endsWith('.json'));
    } catch {
      continue;
    }
    for (const file of files) {
      for (const [, name] of readFileSync(join(CATALOG, slug, 'syncs', file), 'utf8').matchAll(ENV_REFERENCE)) {
        env[name] = /SIGNING/.test(name) ? `${SIGNING_SECRET_PREFIX}${randomBytes(32).toString('base64')}` : `secret-${name.toLowerCase()}-${randomUUID()}`;
      }
    }
  }
  return env;
}

/** The catalog's syncs, each with its secrets resolved. Throws when the catalog does not load. */
export async function catalogSyncs(): Promise<LoadedSync[]> {
  const result = await loadDestinations(CATALOG, { env: madeUpSecrets(), checkExamples: false });
  const errors = result.problems.filter((problem) => problem.severity === 'error');
  if (errors.length > 0) throw new Error(`the catalog does not load: ${errors.map((problem) => `${problem.file}: ${problem.message}`).join('; ')}`);
  return result.destinations.flatMap((destination) => destination.syncs);
}
