// The daemon's configuration: found by cosmiconfig (.destinationsrc.json, JSON or YAML only — no
// config that executes code), validated against schema/daemon-config.schema.json, defaults filled,
// every error naming the file and field.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { cosmiconfig, defaultLoaders } from 'cosmiconfig';
import type { DaemonConfig } from '../../schema/generated/daemon-config.js';
import { placeOfPointer } from '../json/index.js';
import { schemaValidator } from '../schema-validator.js';
import { adminExposureProblem } from './admin-exposure.js';

export const CONFIG_NAME = 'destinations';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type Defaulted<T> = { [K in keyof T]-?: NonNullable<T[K]> extends object[] | string[] ? NonNullable<T[K]> : NonNullable<T[K]> extends object ? Defaulted<NonNullable<T[K]>> : NonNullable<T[K]> };

/** The configuration with every default filled in and paths made absolute. */
export type DaemonSettings = Defaulted<Omit<DaemonConfig, '$schema' | 'nats' | 'egressAllowList' | 'admin' | 'gitops'>> & {
  /** Absent: the daemon runs what is in destinationsDir. stateDir is absolute; the token has no default. */
  gitops?: Defaulted<Omit<NonNullable<DaemonConfig['gitops']>, 'token'>> & Pick<NonNullable<DaemonConfig['gitops']>, 'token'>;
  /** The token has no default: absent, the admin port asks for none (and listens on loopback only). */
  admin: Defaulted<Omit<NonNullable<DaemonConfig['admin']>, 'token'>> & Pick<NonNullable<DaemonConfig['admin']>, 'token'>;
  /** Absent: requests may go to any host (no default: an empty list would allow none). */
  egressAllowList?: string[];
  nats: Defaulted<Omit<NonNullable<DaemonConfig['nats']>, 'user' | 'password' | 'token' | 'nkeySeed' | 'credentialsFile'>> &
    Pick<NonNullable<DaemonConfig['nats']>, 'user' | 'password' | 'token' | 'nkeySeed' | 'credentialsFile'>;
  /** The file it came from, or undefined when every value is a default. */
  file?: string;
  baseDir: string;
};

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
const validate = schemaValidator<DaemonConfig>(ajv, 'daemon-config.schema.json');

const explorer = cosmiconfig(CONFIG_NAME, {
  searchPlaces: ['.destinationsrc.json', '.destinationsrc.yaml', '.destinationsrc.yml', '.destinationsrc'],
  loaders: { '.json': defaultLoaders['.json'], '.yaml': defaultLoaders['.yaml'], '.yml': defaultLoaders['.yaml'], noExt: defaultLoaders['.yaml'] },
  searchStrategy: 'none',
});

/** Loads `file`, or searches from `cwd` for .destinationsrc.json; with none found, all defaults. */
export async function loadConfig(options: { file?: string; cwd?: string } = {}): Promise<DaemonSettings> {
  const cwd = options.cwd ?? process.cwd();
  let found: { config: unknown; filepath: string } | null;
  try {
    found = options.file ? await explorer.load(resolve(cwd, options.file)) : await explorer.search(cwd);
  } catch (error) {
    const failure = loadFailure(error as NodeJS.ErrnoException);
    throw new ConfigError([`${failure.file ?? (options.file ? resolve(cwd, options.file) : cwd)}: ${failure.message}`]);
  }
  return settingsFrom(found?.config ?? {}, found?.filepath, found ? dirname(found.filepath) : cwd);
}

/** Validates a parsed configuration object; `file` is used to name places in errors. */
export function settingsFrom(raw: unknown, file: string | undefined, baseDir: string): DaemonSettings {
  const config = structuredClone(raw ?? {}) as DaemonConfig;
  if (!validate(config)) {
    const text = file ? safeRead(file) : undefined;
    const problems = (validate.errors ?? []).map((error) => {
      const pointer = error.instancePath || '/';
      const extra = error.keyword === 'additionalProperties' ? ` (${(error.params as { additionalProperty: string }).additionalProperty})` : '';
      const place = text && file?.endsWith('.json') ? placeOfPointer(text, error.instancePath) : undefined;
      const at = place ? `${file}:${place.line}:${place.column}` : `${file ?? '<config>'}`;
      return `${at}: ${pointer}: ${error.message}${extra}`;
    });
    throw new ConfigError(problems);
  }
  // Nested objects get their defaults only when present; make them present and validate again.
  config.nats ??= {};
  config.nats.embedded ??= {};
  config.stream ??= {};
  config.admin ??= {};
  config.ingest ??= {};
  config.watch ??= {};
  validate(config);
  const gitopsProblem = config.gitops && repositoryPasswordProblem(config.gitops.repository);
  if (gitopsProblem) {
    const text = file ? safeRead(file) : undefined;
    const place = text && file?.endsWith('.json') ? placeOfPointer(text, '/gitops/repository') : undefined;
    throw new ConfigError([`${place ? `${file}:${place.line}:${place.column}` : (file ?? '<config>')}: /gitops/repository: ${gitopsProblem}`]);
  }
  const adminProblem = adminExposureProblem(config.admin as DaemonSettings['admin']);
  if (adminProblem) {
    const text = file ? safeRead(file) : undefined;
    const place = text && file?.endsWith('.json') ? placeOfPointer(text, '/admin/host') : undefined;
    throw new ConfigError([`${place ? `${file}:${place.line}:${place.column}` : (file ?? '<config>')}: /admin/host: ${adminProblem}`]);
  }
  return {
    ...(config as unknown as DaemonSettings),
    destinationsDir: resolve(baseDir, config.destinationsDir!),
    nats: {
      ...(config.nats as DaemonSettings['nats']),
      embedded: { ...(config.nats.embedded as DaemonSettings['nats']['embedded']), config: resolve(baseDir, config.nats.embedded.config!) },
      credentialsFile: config.nats.credentialsFile && resolve(baseDir, config.nats.credentialsFile),
    },
    gitops: config.gitops && { ...(config.gitops as NonNullable<DaemonSettings['gitops']>), stateDir: resolve(baseDir, config.gitops.stateDir!) },
    file,
    baseDir,
  };
}

/** A password (or token) written into the repository URL would be in every git command line and
 *  error: refuse it, naming where it goes instead (the URL itself is never echoed back). */
function repositoryPasswordProblem(repository: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(repository)) return 'the URL holds a password or token: take it out of the URL and give it by reference in gitops.token ({"env": "NAME"} or {"file": "path"})';
  return undefined;
}

/** One line for a config file that cannot be read or parsed (cosmiconfig's message opens with "JSON Error in <path>:"). */
function loadFailure(error: NodeJS.ErrnoException): { message: string; file?: string } {
  if (error.code === 'ENOENT') return { message: 'no such file: give the path of a configuration (or role) file' };
  if (error.code === 'EACCES' || error.code === 'EPERM') return { message: 'permission denied: this user may not read it' };
  if (error.code === 'EISDIR') return { message: 'is a folder: give the path of a configuration (or role) file' };
  const lines = error.message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const syntax = /^(JSON|YAML) Error in (.+):$/.exec(lines[0] ?? '');
  return syntax ? { message: `not valid ${syntax[1]}: ${lines.slice(1).join(' ')}`, file: syntax[2] } : { message: lines[0] ?? String(error) };
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
