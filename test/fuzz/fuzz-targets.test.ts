// The fuzz targets (fuzz/targets/) as part of npm test: each runs its committed seeds, the inputs
// that once crashed it (fuzz/regressions/, each fixed since) and a few hundred mutated inputs,
// in-process and deterministic; and the runner (npm run fuzz) is run under Jazzer.js once on a real
// target and once on a target that crashes on purpose. The long runs are `npm run fuzz -- --minutes N`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { smoke } from '../../fuzz/smoke.js';
import { corpusFiles, listTargets, loadTarget } from '../../fuzz/targets.js';
import { tempDir } from '../helpers/folders.js';

/** Per target: mutated inputs, and a bound on the time they take. */
const MUTANTS = 300;
const MILLIS = 2_500;
const RUNNER = join(PACKAGE_ROOT, 'dist', 'fuzz', 'run.js');
const CRASHING_TARGETS = join(PACKAGE_ROOT, 'dist', 'test', 'fixtures', 'fuzz-targets');

function runRunner(args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER, ...args], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('fuzz targets', () => {
  const targets = listTargets();

  it('covers decode, the ingest’s parse, filters, templates, renders, the URL check and dead letters, each with seeds', () => {
    assert.deepEqual(
      targets.map((target) => target.name),
      ['dead-letter', 'event-decode', 'ingest-parse', 'render', 'sync-filter', 'template', 'url-check'],
    );
    for (const target of targets) assert.ok(corpusFiles(target.seeds).length >= 5, `${target.name} has fewer than 5 seeds in ${target.seeds}`);
  });

  for (const target of targets) {
    it(`${target.name}: its seeds, its regressions and ${MUTANTS} mutated inputs find nothing`, async () => {
      const module = await loadTarget(target);
      const seeds = corpusFiles(target.seeds).map((file) => file.data);
      const regressions = corpusFiles(target.regressions).map((file) => file.data);
      const result = smoke(module, [...seeds, ...regressions], seeds, MUTANTS, MILLIS);
      const failure = result.failure;
      assert.equal(
        failure,
        undefined,
        failure && `input (base64 ${failure.input.toString('base64')}): ${JSON.stringify(failure.input.toString('latin1').slice(0, 300))}\n${(failure.error as Error).stack ?? failure.error}`,
      );
      assert.ok(result.inputs >= seeds.length + regressions.length);
    });
  }

  // Two Jazzer.js processes side by side: each is mostly start-up, waiting on instrumentation.
  describe('npm run fuzz', { concurrency: 2 }, () => {
    it('runs a target under Jazzer.js and prints its runs, execs/s, coverage, corpus and findings', { timeout: 180_000 }, async () => {
      const work = tempDir('destinations-fuzz-');
      try {
        const { code, stdout } = await runRunner(['--target', 'event-decode', '--runs', '300', '--work', work.dir]);
        assert.equal(code, 0, stdout);
        assert.match(stdout, /target\s+minutes\s+runs\s+execs\/s\s+coverage\s+features\s+corpus\s+findings\s+exit/);
        const row = stdout.split('\n').find((line) => line.startsWith('event-decode '));
        assert.match(row ?? '', /^event-decode\s+[\d.]+\s+300\s+[\d,]+\s+[1-9][\d,]*\s+[1-9][\d,]*\s+[\d,]+ \(\d+ KB\)\s+0\s+0$/, stdout);
        assert.ok(existsSync(join(work.dir, 'event-decode', 'log.txt')));
      } finally {
        work.remove();
      }
    });

    it('exits 1 on a finding and leaves the input that found it', { timeout: 180_000 }, async () => {
      const work = tempDir('destinations-fuzz-');
      try {
        const { code, stdout } = await runRunner(['--targets-dir', CRASHING_TARGETS, '--runs', '10000', '--work', work.dir]);
        assert.equal(code, 1, stdout);
        assert.match(stdout, /^finding: \S*crashes-on-odd-byte\/findings\/crash-[0-9a-f]+$/m);
        const findings = readdirSync(join(work.dir, 'crashes-on-odd-byte', 'findings'));
        assert.equal(findings.length, 1);
        assert.ok(existsSync(join(work.dir, 'crashes-on-odd-byte', 'log.txt')));
      } finally {
        work.remove();
      }
    });
  });
});
