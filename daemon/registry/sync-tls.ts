// A sync's TLS trust: the CA bundle it names in tls.ca (by reference, like a secret) for a private
// endpoint. Verification itself is never switched off; the bundle only says whom to trust, and only
// for that sync's requests (the sender keys its pools by origin and CA).
import { createHash, X509Certificate } from 'node:crypto';
import { dirname } from 'node:path';
import type { SyncDefinition } from '../../schema/generated/sync.js';
import { describeSecretRef, resolveSecretRef, SecretUnresolvedError } from '../secrets/index.js';
import type { LoadedSync, LoadProblem } from './types.js';

export interface SyncTls {
  /** The PEM bundle the destination's certificate must chain to, instead of Node's default roots. */
  ca?: string;
  /** `sha256:` and 16 hex of the bundle: names it in the sender's pool stats without printing it. */
  caId?: string;
  /** Why tls.ca cannot be used (unset variable, missing file, no certificate in it); `ca` is then absent. */
  unresolved?: string;
}

export interface SyncTlsOptions {
  /** The sync file: a relative {"file": …} is relative to its folder. */
  syncFile: string;
  /** For {"env": …} and ${VAR} in a file path. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Where tls.ca is in a sync file, for problems. */
export const SYNC_TLS_CA_POINTER = '/tls/ca';

const NO_TLS: SyncTls = Object.freeze({});
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads and checks the CA bundle a sync's tls names: every PEM block must be a certificate. */
export function resolveSyncTls(given: SyncDefinition['tls'], options: SyncTlsOptions): SyncTls {
  const ref = given?.ca;
  if (ref === undefined) return NO_TLS;
  let text: string;
  try {
    text = resolveSecretRef(ref, { env: options.env, baseDir: dirname(options.syncFile) });
  } catch (error) {
    if (!(error instanceof SecretUnresolvedError)) throw error;
    return { unresolved: `CA bundle: ${error.message}` };
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return { unresolved: `CA bundle in ${describeSecretRef(ref)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return { unresolved: `CA bundle in ${describeSecretRef(ref)}: certificate ${index + 1} of ${blocks.length} does not parse (${(error as Error).message})` };
    }
  }
  const ca = blocks.join('\n');
  return { ca, caId: `sha256:${createHash('sha256').update(ca).digest('hex').slice(0, 16)}` };
}

// One read per loaded sync: a reload loads new LoadedSync objects, so a renewed bundle is read again.
const bySync = new WeakMap<LoadedSync, SyncTls>();

/** The loaded sync's TLS trust. The first call reads the bundle; later ones are a lookup (send path). */
export function syncTls(sync: LoadedSync, env?: NodeJS.ProcessEnv): SyncTls {
  if (sync.definition.tls?.ca === undefined) return NO_TLS;
  let tls = bySync.get(sync);
  if (tls === undefined) bySync.set(sync, (tls = resolveSyncTls(sync.definition.tls, { syncFile: sync.file, env })));
  return tls;
}

/** The daemon cannot run a sync whose CA bundle it cannot read: an error of its folder, like an unresolved secret. */
export function syncTlsProblems(sync: LoadedSync, env?: NodeJS.ProcessEnv): LoadProblem[] {
  const { unresolved } = syncTls(sync, env);
  return unresolved === undefined ? [] : [{ file: sync.file, severity: 'error', pointer: SYNC_TLS_CA_POINTER, message: `tls.ca: ${unresolved}` }];
}

/** Same trust: a reload that changed only the bundle's content must restart the sync with it. */
export function sameSyncTls(a: LoadedSync, b: LoadedSync): boolean {
  return syncTls(a).ca === syncTls(b).ca;
}
