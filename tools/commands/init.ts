// destinations init [DIR]
// Makes a team's config repository in DIR: see tools/config-repo/config-repo-files.ts for what it holds.
import { existsSync, statSync } from 'node:fs';
import { existingMarkers, toolVersion, writeConfigRepo } from '../config-repo/config-repo-files.js';
import { terminalText } from '../terminal-text.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations init [DIR]';
const HELP = `usage: ${USAGE}

Makes a config repository for a team in DIR (default: the current folder; created when missing),
outside this one: .destinationsrc.json (the daemon's config), destinations/ with one example folder
(webhook), schema/ (the JSON schemas every "$schema" in it points at, for editors and validate),
package.json pinning this version of the tool as a devDependency, a README for the team, and CI
that runs validate --strict and plan on each pull request (.github/workflows/destinations.yml and
.gitlab-ci.yml). Then: git init, commit, push.

Refuses a DIR that already has any of these files (nothing is overwritten).
Exit 0 when written, 1 when DIR is already set up, 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR\n\nusage: ${USAGE}`);
  const dir = positionals[0] ?? '.';
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  const existing = existsSync(dir) ? existingMarkers(dir) : [];
  if (existing.length) {
    console.error(terminalText(`destinations init: ${dir} already has ${existing.join(', ')}: nothing written (init makes a new config repository; move them away or pick another DIR)`));
    return 1;
  }
  const written = writeConfigRepo(dir);
  console.log(terminalText(`destinations init: wrote a config repository for destinations ${toolVersion()} in ${dir}:\n${written.map((path) => `  ${path}`).join('\n')}\nnext: cd ${dir} && npm install && npx destinations validate --strict destinations, then git init, commit and push`));
  return 0;
}
