// Runs the built CLI as a child process, asynchronously, so a test's own HTTP sink keeps serving.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths.js';

export const CLI = join(PACKAGE_ROOT, 'dist', 'tools', 'cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/tools/cli.js …args` in the package root; env is added to a copy of this process's. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd ?? PACKAGE_ROOT, env: { ...process.env, ...options.env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a shell command line with sh -c (for pasting a previewed cURL command). */
export function runShell(command: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
