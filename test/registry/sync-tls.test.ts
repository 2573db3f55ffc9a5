import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDestination, resolveSyncTls, sameSyncTls, syncTls, syncTlsProblems, type LoadedSync } from '../../daemon/registry/internal.js';
import { baseSync, destinationFiles, tempDir, writeFiles } from '../helpers/folders.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certificates.js';

describe('registry sync tls', () => {
  const temp = tempDir();
  let certificates: TestCertificates;
  before(() => {
    certificates = makeTestCertificates();
    writeFiles(temp.dir, {
      'syncs/ca.pem': certificates.ca,
      'syncs/bundle.pem': `# private CA and a stranger\n${certificates.ca}\n${certificates.strangerCa}`,
      'syncs/not-pem.txt': 'hello\n',
      'syncs/broken.pem': '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    });
  });
  after(() => {
    temp.remove();
    certificates.remove();
  });
  const syncFile = () => join(temp.dir, 'syncs', 'default.json');
  let count = 0;

  async function loadSyncWith(tls: unknown, env: NodeJS.ProcessEnv = {}): Promise<LoadedSync> {
    const dir = join(temp.dir, 'cases', `d${++count}`);
    writeFiles(dir, destinationFiles({ 'syncs/default.json': { ...baseSync(), ...(tls === undefined ? {} : { tls }) }, 'private-ca.pem': certificates.ca }));
    const load = await loadDestination(dir, { env: { TEST_API_KEY: 'k', ...env } });
    assert.deepEqual(load.problems, []);
    return load.destination!.syncs[0];
  }

  it('reads a CA bundle from a file relative to the sync file', () => {
    const tls = resolveSyncTls({ ca: { file: 'ca.pem' } }, { syncFile: syncFile(), env: {} });
    assert.equal(tls.unresolved, undefined);
    assert.equal(tls.ca, certificates.ca.trim());
    assert.match(tls.caId!, /^sha256:[0-9a-f]{16}$/);
  });

  it('reads a CA bundle from an environment variable, keeping every certificate and dropping comments', () => {
    assert.equal(resolveSyncTls({ ca: { env: 'PRIVATE_CA' } }, { syncFile: syncFile(), env: { PRIVATE_CA: certificates.ca } }).ca, certificates.ca.trim());
    const bundle = resolveSyncTls({ ca: { file: 'bundle.pem' } }, { syncFile: syncFile(), env: {} });
    assert.equal(bundle.ca, `${certificates.ca.trim()}\n${certificates.strangerCa.trim()}`);
  });

  it('has nothing to say when the sync names no CA', () => {
    assert.deepEqual(resolveSyncTls(undefined, { syncFile: syncFile() }), {});
    assert.deepEqual(resolveSyncTls({}, { syncFile: syncFile() }), {});
  });

  it('says why a bundle cannot be used: unset variable, missing file, no certificate, a certificate that does not parse', () => {
    const why = (ca: { env: string } | { file: string }) => resolveSyncTls({ ca }, { syncFile: syncFile(), env: {} });
    assert.deepEqual(why({ env: 'PRIVATE_CA' }), { unresolved: 'CA bundle: environment variable PRIVATE_CA is not set' });
    assert.match(why({ file: 'missing.pem' }).unresolved!, /^CA bundle: cannot read secret file .*missing\.pem: ENOENT$/);
    assert.equal(why({ file: 'not-pem.txt' }).unresolved, 'CA bundle in file not-pem.txt holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
    assert.match(why({ file: 'broken.pem' }).unresolved!, /^CA bundle in file broken\.pem: certificate 1 of 1 does not parse/);
    assert.equal(why({ file: 'broken.pem' }).ca, undefined);
  });

  it('refuses an inline CA or an unknown tls key in the sync file, naming the field', async () => {
    const dir = join(temp.dir, 'cases', 'inline');
    writeFiles(dir, destinationFiles({ 'syncs/default.json': { ...baseSync(), tls: { ca: '-----BEGIN CERTIFICATE-----', verify: false } } }));
    const load = await loadDestination(dir, { env: { TEST_API_KEY: 'k' } });
    const problems = load.problems.filter((problem) => problem.severity === 'error');
    assert.ok(problems.some((problem) => problem.pointer === '/tls/ca' || /\/tls\/ca/.test(problem.message)), JSON.stringify(problems));
    assert.ok(problems.some((problem) => /verify/.test(problem.message)), JSON.stringify(problems));
    assert.ok(problems.every((problem) => problem.file.endsWith('default.json') && problem.line !== undefined));
  });

  it('gives a loaded sync its bundle, read once', async () => {
    const sync = await loadSyncWith({ ca: { file: '../private-ca.pem' } });
    const first = syncTls(sync);
    assert.equal(first.ca, certificates.ca.trim());
    assert.equal(syncTls(sync), first);
    assert.deepEqual(syncTlsProblems(sync), []);
    assert.deepEqual(syncTls(await loadSyncWith(undefined)), {});
  });

  it('makes an unreadable bundle an error of the sync file at /tls/ca, as the daemon reports unresolved secrets', async () => {
    const sync = await loadSyncWith({ ca: { env: 'PRIVATE_CA' } });
    assert.deepEqual(syncTlsProblems(sync, {}), [
      { file: sync.file, severity: 'error', pointer: '/tls/ca', message: 'tls.ca: CA bundle: environment variable PRIVATE_CA is not set' },
    ]);
  });

  it('tells a reload that changed the bundle from one that did not', async () => {
    const a = await loadSyncWith({ ca: { file: '../private-ca.pem' } });
    const b = await loadSyncWith({ ca: { file: '../private-ca.pem' } });
    const c = await loadSyncWith({ ca: { env: 'PRIVATE_CA' } }, { PRIVATE_CA: certificates.strangerCa });
    assert.equal(sameSyncTls(a, b), true);
    assert.equal(sameSyncTls(a, c), false);
    assert.equal(sameSyncTls(await loadSyncWith(undefined), await loadSyncWith(undefined)), true);
  });
});
