// destinations init: a team's config repository, and its CI workflow's steps run as written (the
// `run:` lines read from the generated YAML) in a temporary git repository on a pull-request branch.
// The tool is not in a registry here: the generated package.json's pinned dependency is pointed at
// a local package whose `destinations` bin runs this checkout's dist/tools/cli.js, so `npm install`
// and `npx --no destinations` in the workflow resolve it without a network.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { toolVersion } from '../../tools/config-repo/config-repo-files.js';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { workflowRunSteps } from '../helpers/workflow-steps.js';

describe('tools init', () => {
  it('writes a config repository whose every "$schema" resolves there and which validates strictly', async () => {
    const temp = tempDir();
    try {
      const repo = join(temp.dir, 'team-config');
      const result = await runCli(['init', repo]);
      assert.equal(result.code, 0, result.stderr);
      for (const file of ['.destinationsrc.json', 'README.md', 'package.json', '.github/workflows/destinations.yml', '.gitlab-ci.yml', 'destinations/webhook/destination.json', 'schema/destination.schema.json']) {
        assert.ok(readFileSync(join(repo, file)), file);
      }
      assert.equal(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies.destinations, JSON.parse(readFileSync('package.json', 'utf8')).version, 'CI installs the version that wrote it');
      const validate = await runCli(['validate', '--strict', 'destinations'], { cwd: repo });
      assert.equal(validate.code, 0, validate.stderr);
      assert.equal(validate.stderr, '', 'no warning: every $schema resolves');
      const again = await runCli(['init', repo]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already has \.destinationsrc\.json, destinations, package\.json.*nothing written/);
    } finally {
      temp.remove();
    }
  });

  it('validate warns, naming the file and the fix, when a "$schema" does not resolve', async () => {
    const temp = tempDir();
    try {
      cpSync('destinations/webhook', join(temp.dir, 'destinations', 'webhook'), { recursive: true });
      cpSync('destinations/variables.json', join(temp.dir, 'destinations', 'variables.json'));
      const result = await runCli(['validate', 'destinations'], { cwd: temp.dir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^destinations\/webhook\/destination\.json:2:3: warning: "\$schema" "\.\.\/\.\.\/schema\/destination\.schema\.json" does not resolve from this file .*run destinations schema --write in the repository root/m);
      assert.match(result.stderr, /destinations\/webhook\/syncs\/default\.json:2:3: warning: "\$schema"/);
      const strict = await runCli(['validate', '--strict', 'destinations'], { cwd: temp.dir });
      assert.equal(strict.code, 1);
      const written = await runCli(['schema', '--write', '.'], { cwd: temp.dir });
      assert.equal(written.code, 0, written.stderr);
      assert.equal((await runCli(['validate', '--strict', 'destinations'], { cwd: temp.dir })).code, 0, 'resolves once the schemas are written');
    } finally {
      temp.remove();
    }
  });

  it("runs the generated GitHub workflow's steps as written on a pull request: annotations for the broken example, and the plan with the new sync's host in the job summary", async () => {
    const temp = tempDir();
    try {
      const repo = join(temp.dir, 'team-config');
      assert.equal((await runCli(['init', repo])).code, 0);
      // The tool, as the pinned dependency would install it: a package named destinations at this version whose bin is this checkout's CLI.
      const shim = join(temp.dir, 'destinations-package');
      writeFiles(shim, { 'package.json': { name: 'destinations', version: toolVersion(), type: 'module', bin: { destinations: 'cli.js' } }, 'cli.js': `#!/usr/bin/env node\nawait import(${JSON.stringify(pathToFileURL(CLI).href)});\n` });
      const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
      manifest.devDependencies.destinations = `file:${shim}`;
      writeFileSync(join(repo, 'package.json'), JSON.stringify(manifest));

      const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
      git('init', '-q', '-b', 'main');
      git('add', '.');
      git('commit', '-qm', 'init');
      git('update-ref', 'refs/remotes/origin/main', 'HEAD');
      git('checkout', '-qb', 'add-partner');
      // The pull request: a new sync to a new host, and a new folder whose example does not match what it renders.
      cpSync(join(repo, 'destinations', 'webhook'), join(repo, 'destinations', 'broken'), { recursive: true });
      writeFiles(join(repo, 'destinations', 'webhook', 'syncs'), { 'partner.json': { $schema: '../../../schema/sync.schema.json', parameters: { url: 'https://hooks.partner.example/in' } } });
      const example = join(repo, 'destinations', 'broken', 'examples', 'purchase.json');
      writeFileSync(example, readFileSync(example, 'utf8').replace('"http://127.0.0.1:3000/webhook"', '"http://127.0.0.1:3000/elsewhere"'));
      git('add', '.');
      git('commit', '-qm', 'partner');

      const steps = workflowRunSteps(readFileSync(join(repo, '.github', 'workflows', 'destinations.yml'), 'utf8'));
      assert.equal(steps.length, 3, steps.join('\n---\n'));
      const summary = join(temp.dir, 'summary.md');
      writeFileSync(summary, '');
      const env = { ...process.env, GITHUB_BASE_REF: 'main', GITHUB_STEP_SUMMARY: summary, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
      // GitHub runs a step as `bash -e {0}`; `if: always()` runs the plan after the failed validate.
      const results = steps.map((step) => spawnSync('bash', ['-e', '-c', step], { cwd: repo, env, encoding: 'utf8', timeout: 60_000 }));
      const [install, validate, plan] = results;
      assert.equal(install.status, 0, install.stderr);
      assert.equal(validate.status, 1, validate.stderr);
      assert.match(validate.stdout, /^::error file=destinations\/broken\/examples\/purchase\.json,line=\d+,col=\d+,title=destinations validate \/expect\/url::example does not match the rendered request: .*\/elsewhere/m);
      assert.equal(plan.status, 0, plan.stderr);
      const written = readFileSync(summary, 'utf8');
      assert.match(written, /### What merging changes/);
      assert.match(written, /destinations plan: destinations against git ref origin\/main/);
      assert.match(written, /\+ broken {2}new, version/);
      assert.match(written, /\+ webhook\.partner {2}new: starts with events published from when it starts/);
      assert.match(written, /> webhook\.partner {2}hooks\.partner\.example {2}\(new\)/);
    } finally {
      temp.remove();
    }
  });
});
