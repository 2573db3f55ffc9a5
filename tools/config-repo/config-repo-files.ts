// What `destinations init` writes into a team's own config repository: the daemon's config, one
// example destination folder, the JSON schemas its `$schema` references resolve to, a README, and
// CI that installs the version of the tool that wrote them (read from this package's package.json)
// and runs validate and plan on each pull request.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PACKAGE_ROOT, SCHEMA_DIR } from '../../daemon/paths.js';

/** The folder of the config repository that holds destination folders (the daemon's destinationsDir). */
export const CONFIG_DESTINATIONS_DIR = 'destinations';
/** The shipped folder copied as the team's first destination. */
const EXAMPLE_FOLDER = 'webhook';
/** Where the schemas go: destinations/<slug>/destination.json's "../../schema/…" resolves there, as in this repository. */
export const CONFIG_SCHEMA_DIR = 'schema';

/** This tool's version: the one the generated CI installs. */
export function toolVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Writes the package's JSON schemas (not the generated types) into `dir`; returns the file names. */
export function writeSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(SCHEMA_DIR).filter((name) => name.endsWith('.schema.json')).sort();
  for (const name of names) cpSync(join(SCHEMA_DIR, name), join(dir, name));
  return names;
}

/** Files init refuses to overwrite: a repository that has them is already set up. */
export const INIT_MARKERS = ['.destinationsrc.json', CONFIG_DESTINATIONS_DIR, 'package.json', '.github/workflows/destinations.yml', '.gitlab-ci.yml'] as const;

export function existingMarkers(dir: string): string[] {
  return INIT_MARKERS.filter((name) => existsSync(join(dir, name)));
}

/** Writes the config repository into `dir` (created when missing); returns the paths written, relative to it. */
export function writeConfigRepo(dir: string): string[] {
  const version = toolVersion();
  const written: string[] = [];
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
    written.push(path);
  };
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'destinations-config';
  write('package.json', `${JSON.stringify({ name, private: true, description: 'Destination folders and syncs for the destinations daemon', devDependencies: { destinations: version } }, null, 2)}\n`);
  write('.gitignore', 'node_modules/\n');
  write(
    '.destinationsrc.json',
    `${JSON.stringify(
      {
        $schema: `./${CONFIG_SCHEMA_DIR}/daemon-config.schema.json`,
        nats: { servers: ['nats://127.0.0.1:4222'] },
        stream: { name: 'EVENTS', subjects: ['events.>'], deadLetterStream: 'DEAD' },
        destinationsDir: CONFIG_DESTINATIONS_DIR,
        watch: { enabled: true, quietMs: 1000 },
        admin: { host: '127.0.0.1', port: 9464 },
      },
      null,
      2,
    )}\n`,
  );
  for (const schema of writeSchemas(join(dir, CONFIG_SCHEMA_DIR))) written.push(`${CONFIG_SCHEMA_DIR}/${schema}`);
  const example = join(CONFIG_DESTINATIONS_DIR, EXAMPLE_FOLDER);
  cpSync(join(PACKAGE_ROOT, 'destinations', EXAMPLE_FOLDER), join(dir, example), { recursive: true });
  written.push(`${example}/`);
  // The example's sync names its endpoint as ${vars.quickstart_sink}: the shared values come along.
  cpSync(join(PACKAGE_ROOT, 'destinations', 'variables.json'), join(dir, CONFIG_DESTINATIONS_DIR, 'variables.json'));
  written.push(`${CONFIG_DESTINATIONS_DIR}/variables.json`);
  write('README.md', readme(version));
  write('.github/workflows/destinations.yml', githubWorkflow());
  write('.gitlab-ci.yml', gitlabCi());
  return written;
}

function readme(version: string): string {
  return `# Destinations

Where this team's analytics events go: one folder per destination under \`destinations/\`, each with
its templates, examples and syncs. The \`destinations\` daemon runs what is merged on the default branch.

## Change something

1. \`npm install\` once (it installs the tool, \`destinations\` ${version}, pinned in package.json, from
   the registry npm uses; where none has it, commit the tarball of the release and pin that:
   \`npm pkg set devDependencies.destinations=file:vendor/destinations-${version}.tgz\`).
2. Edit or add a folder under \`destinations/\` (copy \`destinations/webhook\` to start). Your editor
   completes and checks the JSON files: their \`$schema\` points at \`schema/\`.
3. \`npx destinations validate --strict destinations\` until it says valid, and
   \`npx destinations preview destinations/webhook --event destinations/webhook/examples/purchase.json\`
   to see a request.
4. Open a pull request. CI (\`.github/workflows/destinations.yml\` or \`.gitlab-ci.yml\`) annotates the
   diff with every problem and writes the plan — destinations and syncs added or changed, the hosts
   each new or changed sync sends to, the examples' requests before and after — into the job summary.
5. A reviewer reads the diff, the annotations and the plan, and merges. The daemons apply the merge
   within a minute; a commit that fails validation is not applied (the last good one keeps running).

Secrets are never in this repository: a sync refers to them (\`{"env": "NAME"}\`, \`{"file": "…"}\`);
create them on the daemons' hosts before merging (the plan lists the new ones).

## Upgrade the tool

Change the version of \`destinations\` in package.json in a pull request of its own, and run
\`npx destinations schema --write .\` so \`schema/\` matches it.
`;
}

/** The GitHub Actions workflow. Each step is a plain shell line (the test runs them as written). */
function githubWorkflow(): string {
  return `name: destinations
on:
  pull_request:            # not pull_request_target: the job needs no secret and no write access
permissions:
  contents: read
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0   # plan --ref needs the base branch
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: Install the tool (the version package.json pins)
        run: npm install --no-audit --no-fund
      - name: Validate (annotates the pull request)
        run: npx --no destinations validate --strict --format github destinations
      - name: Plan (in the job summary)
        if: always()
        run: |
          {
            echo '### What merging changes'
            echo '\`\`\`'
            npx --no destinations plan destinations --ref "origin/$GITHUB_BASE_REF"
            echo '\`\`\`'
          } >> "$GITHUB_STEP_SUMMARY"
`;
}

function gitlabCi(): string {
  return `destinations:
  image: node:20
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  variables:
    GIT_DEPTH: 0   # plan --ref needs the target branch
  script:
    - npm install --no-audit --no-fund
    - git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    - npx --no destinations plan destinations --ref "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" | tee plan.txt
    - npx --no destinations validate --strict destinations
  artifacts:
    when: always
    paths: [plan.txt]
`;
}
