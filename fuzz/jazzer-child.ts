// One Jazzer.js run of one target, in its own process (libFuzzer owns the process it runs in): the
// runner (run.ts) starts it with what to run as JSON in argv[2] and reads its exit code (0, or
// Jazzer.js's 77 for a finding) and its stderr (libFuzzer's figures).
import Module from 'node:module';
import { pathToFileURL } from 'node:url';
import { PATCHED_ADDON_ENV } from './jazzer-addon.js';

export interface ChildRun {
  module: string;
  /** Corpus folders: the first is where libFuzzer writes new inputs, the others are only read. */
  corpus: string[];
  /** libFuzzer flags (-max_total_time, -runs, -max_len, -dict, -artifact_prefix, …). */
  libFuzzerFlags: string[];
  /** Per input, in ms (libFuzzer's -timeout, rounded up to seconds). */
  timeoutMs: number;
  /** Source paths whose code gets coverage feedback (substrings of the path). */
  instrument: string[];
  disableBugDetectors: string[];
}

const run = JSON.parse(process.argv[2] ?? '{}') as ChildRun;

// The patched copy of the native fuzzer, where the prebuilt one does not load (jazzer-addon.ts).
const patched = process.env[PATCHED_ADDON_ENV];
if (patched) {
  const loaders = (Module as unknown as { _extensions: Record<string, (module: unknown, file: string) => void> })._extensions;
  const loadNative = loaders['.node'];
  loaders['.node'] = (module, file) => loadNative(module, /[/\\]prebuilds[/\\]fuzzer-[^/\\]+\.node$/.test(file) ? patched : file);
}

// Imported after the hook: @jazzer.js/core loads the native fuzzer as it loads.
const jazzer = await import('@jazzer.js/core');
const options = new jazzer.OptionsManager(jazzer.OptionSource.DefaultCLIOptions).merge(
  {
    fuzzTarget: pathToFileURL(run.module).href,
    fuzzEntryPoint: 'fuzz',
    fuzzerOptions: [...run.corpus, ...run.libFuzzerFlags],
    includes: run.instrument,
    excludes: [],
    sync: true,
    timeout: run.timeoutMs,
    disableBugDetectors: run.disableBugDetectors,
  },
  jazzer.OptionSource.CommandLineArguments,
);
const result = await jazzer.startFuzzing(options);
process.exit(result.returnCode);
