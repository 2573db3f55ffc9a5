// The keys the ingest accepts, resolved once at start from their references: each key's value to
// its name, subject, protocol and rate. A key that cannot be resolved, a value given twice, or a
// subject outside the events stream stops the start with the field named (never the value).
import { ConfigError, type DaemonSettings } from '../config/index.js';
import { subjectMatches } from '../nats/index.js';
import { resolveSecretRef, SecretUnresolvedError } from '../secrets/index.js';
import type { IngestKey } from '../../schema/generated/daemon-config.js';

export interface KeyEntry {
  name: string;
  subject: string;
  protocol: IngestKey['protocol'];
  eventsPerSecondPerUser: number | undefined;
}

export interface KeyTable {
  lookup(value: string): KeyEntry | undefined;
  /** Every key's value, to keep out of logs. */
  readonly secrets: readonly string[];
  readonly size: number;
}

export function resolveIngestKeys(settings: Pick<DaemonSettings, 'ingest' | 'stream' | 'baseDir' | 'file'>, env: NodeJS.ProcessEnv = process.env): KeyTable {
  const where = (index: number, field: string) => `${settings.file ?? '<config>'}: /ingest/keys/${index}/${field}`;
  const byValue = new Map<string, KeyEntry>();
  const names = new Set<string>();
  const problems: string[] = [];
  settings.ingest.keys.forEach((key, index) => {
    if (names.has(key.name)) problems.push(`${where(index, 'name')}: the name ${key.name} is given twice`);
    names.add(key.name);
    if (!settings.stream.subjects.some((pattern) => subjectMatches(pattern, key.subject))) {
      problems.push(`${where(index, 'subject')}: ${key.subject} is not one of the events stream's subjects (${settings.stream.subjects.join(', ')})`);
    }
    let value: string;
    try {
      value = resolveSecretRef(key.key, { env, baseDir: settings.baseDir });
    } catch (error) {
      if (!(error instanceof SecretUnresolvedError)) throw error;
      problems.push(`${where(index, 'key')}: ${error.message}`);
      return;
    }
    if (byValue.has(value)) problems.push(`${where(index, 'key')}: the same key as ${byValue.get(value)!.name}: each key names one subject`);
    byValue.set(value, { name: key.name, subject: key.subject, protocol: key.protocol, eventsPerSecondPerUser: key.eventsPerSecondPerUser });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { lookup: (value) => byValue.get(value), secrets: [...byValue.keys()], size: byValue.size };
}
