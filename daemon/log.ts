// Logs: one JSON object a line on stdout (journald keeps them as they are). Secret values known to
// the daemon are replaced before a line is written, whatever field they hide in.

import { redact } from './secrets/index.js';

export const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LogOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  /** Returns the secret values to redact now (they change on reload). */
  secrets?: () => readonly string[];
}

export function createLogger(options: LogOptions = {}, base: Record<string, unknown> = {}): Logger {
  const threshold = LOG_LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS[level] < threshold) return;
    let line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }, errorReplacer);
    const secrets = options.secrets?.();
    if (secrets?.length) line = redact(line, secrets);
    write(`${line}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(options, { ...base, ...fields }),
    isEnabled: (level) => LOG_LEVELS[level] >= threshold,
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
