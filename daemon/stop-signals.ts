// How a long-running process of ours (the daemon, the ingest) ends on a signal: SIGTERM (systemd's
// stop) and SIGINT (Ctrl-C) start its graceful stop; a second one while it runs exits at once, as an
// operator who presses Ctrl-C twice means.
import type { Logger } from './log.js';

export function stopOnSignals(log: Logger, stop: () => Promise<void>, isStopping: () => boolean): void {
  const onStop = (signal: NodeJS.Signals) => {
    if (isStopping()) {
      log.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    log.info('signal received', { signal });
    void stop();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
}
