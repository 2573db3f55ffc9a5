// Readiness and stopping, told to systemd (Type=notify) without native code: Node cannot write to a
// unix datagram socket, so the daemon runs `systemd-notify READY=1 …`, which does (the unit needs
// NotifyAccess=all, as the message comes from a child process). systemd-notify waits until the
// manager has processed the message (systemd ≥ 246), so the short-lived sender is still attributed
// to the unit. Without NOTIFY_SOCKET (not under systemd) nothing happens.
import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

/** Bounds one systemd-notify run; a manager that does not answer must not hold the daemon. */
const NOTIFY_TIMEOUT_MS = 5_000;

export type NotifyState = Readonly<Record<string, string>>;

/**
 * Sends `state` (e.g. {READY: '1', STATUS: 'consuming 3 syncs'}) to the service manager.
 * Resolves true when systemd-notify succeeded, false when not under systemd or it failed (logged).
 */
export function notifySystemd(state: NotifyState, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(false);
  const assignments = Object.entries(state).map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`);
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn('systemd-notify', assignments, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: NOTIFY_TIMEOUT_MS });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()).length > 2_000 && (stderr = stderr.slice(0, 2_000)));
    child.once('error', (error) => {
      log.error('cannot tell systemd', { state: assignments, error });
      resolve(false);
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(true);
      log.error('systemd-notify failed', { state: assignments, code, signal, stderr: stderr.trim() || undefined });
      resolve(false);
    });
  });
}
