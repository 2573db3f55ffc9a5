// Reload on change: watches the destinations folder (recursively, node:fs.watch) and calls back
// once it has been quiet for `quietMs`, so a `git pull` that writes many files is one reload and a
// folder is not read while it is being written. A folder read half-written anyway (a writer slower
// than quietMs) fails validation and keeps its last good version, as on SIGHUP. Changes under
// hidden names (.git, an editor's swap file) are ignored: the loader skips them too.
import { watch, type FSWatcher } from 'node:fs';
import { sep } from 'node:path';

export interface WatchFolderOptions {
  /** How long the folder must be unchanged before `onQuiet` is called. */
  quietMs: number;
  /** Called once per quiet period after changes; a change while it runs schedules one more call after it. */
  onQuiet: () => unknown;
  /** The watch failed (the folder was removed, or too many watches): nothing more is reported. */
  onError?: (error: Error) => void;
  /** Each change seen, with its path relative to the folder (tests wait on it). */
  onChange?: (path: string) => void;
}

export interface FolderWatcher {
  close(): void;
}

function isHidden(path: string): boolean {
  return path.split(sep).some((segment) => segment.startsWith('.'));
}

export function watchFolder(dir: string, options: WatchFolderOptions): FolderWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;

  const fire = async () => {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await options.onQuiet();
    } catch (error) {
      options.onError?.(error as Error);
    } finally {
      running = false;
    }
    if (again && !closed) {
      again = false;
      schedule();
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void fire(), options.quietMs);
  };

  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, filename) => {
    const path = filename === null ? '' : String(filename);
    if (closed || (path && isHidden(path))) return;
    options.onChange?.(path);
    schedule();
  });
  watcher.on('error', (error) => {
    options.onError?.(error);
    close();
  });
  const close = () => {
    closed = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    watcher.close();
  };
  return { close };
}

/**
 * The daemon's use of it: when `settings.watch.enabled`, reload after changes; else nothing.
 * run-daemon.ts starts it once the daemon is ready and closes it when stopping.
 */
export function reloadOnChange(
  settings: { destinationsDir: string; watch: { enabled: boolean; quietMs: number } },
  reload: () => Promise<unknown>,
  log: { info(message: string, fields?: object): void; error(message: string, fields?: object): void },
): FolderWatcher | undefined {
  if (!settings.watch.enabled) return undefined;
  log.info('watching the destinations folder', { dir: settings.destinationsDir, quietMs: settings.watch.quietMs });
  return watchFolder(settings.destinationsDir, {
    quietMs: settings.watch.quietMs,
    onQuiet: () => reload(),
    onError: (error) => log.error('watching the destinations folder failed: reload with SIGHUP', { error: error.message }),
  });
}
