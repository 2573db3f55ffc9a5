// deploy/systemd/destinations-ingest.service: systemd-analyze verify accepts it, and the ingest does
// what it promises when started exactly as its ExecStart says — READY=1 once listening and
// connected (a stand-in systemd-notify on the PATH reports it), an event stored, and on SIGTERM
// STOPPING=1 and exit 0.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { CHECKOUT_COMMAND, spawnDaemonCommand, writeConfig } from '../helpers/daemon-process.js';
import { freePort, useNatsServer } from '../helpers/nats-server.js';
import { fakeSystemdNotify } from '../helpers/systemd-notify.js';

const nats = useNatsServer();
const UNIT_FILE = join(PACKAGE_ROOT, 'deploy', 'systemd', 'destinations-ingest.service');
const UNIT_CONFIG = '/etc/destinations/destinationsrc.json';

function service(): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const line of readFileSync(UNIT_FILE, 'utf8').split('\n').map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') settings.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return settings;
}

const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status === 0;

describe('ingest systemd unit', () => {
  it('is accepted by systemd-analyze verify', { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed (.ci/run installs it)' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-unit-verify-'));
    try {
      const copy = join(dir, 'destinations-ingest.service');
      writeFileSync(copy, readFileSync(UNIT_FILE, 'utf8').replace(/^ExecStart=destinations /m, `ExecStart=${CHECKOUT_COMMAND.join(' ')} `));
      const result = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile('systemd-analyze', ['verify', copy], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` })),
      );
      assert.deepEqual(result.output.split('\n').filter((line) => line.includes('destinations-ingest.service')), []);
      assert.equal(result.code, 0, result.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as its ExecStart says: READY=1 once listening and connected, stores events, STOPPING=1 and exit 0 on SIGTERM', async () => {
    const settings = service();
    assert.equal(settings.get('Type'), 'notify');
    assert.equal(settings.get('NotifyAccess'), 'all');
    const [command, ...args] = settings.get('ExecStart')!.split(/\s+/);
    assert.equal(command, 'destinations');
    const jsm = await jetstreamManager(nats.connection);
    await jsm.streams.add({ name: 'INGEST_UNIT', subjects: ['ingestunit.>'] });
    const dir = mkdtempSync(join(tmpdir(), 'ingest-unit-'));
    const notify = await fakeSystemdNotify();
    const port = await freePort();
    const config = writeConfig(dir, {
      nats: { servers: [nats.url] },
      stream: { name: 'INGEST_UNIT', subjects: ['ingestunit.>'] },
      ingest: { port: 1, metricsPort: 0, keys: [{ name: 'web', key: { env: 'UNIT_INGEST_KEY' }, subject: 'ingestunit.web' }] },
    });
    const ingest = spawnDaemonCommand([...CHECKOUT_COMMAND, ...args.map((arg) => (arg === UNIT_CONFIG ? config : arg)), '--port', String(port)], { ...notify.env, UNIT_INGEST_KEY: 'unit-ingest-key-123' });
    try {
      const ready = await notify.next(/^READY=1$/);
      assert.ok(ready.includes(`STATUS=ingest on port ${port}`), ready.join(' '));
      const answer = await fetch(`http://127.0.0.1:${port}/2/httpapi`, { method: 'POST', body: JSON.stringify({ api_key: 'unit-ingest-key-123', events: [{ event_type: 'x', user_id: 'user-1' }] }) });
      assert.equal(answer.status, 200);
      assert.equal((await jsm.streams.info('INGEST_UNIT')).state.messages, 1);
      ingest.child.kill('SIGTERM');
      await notify.next(/^STOPPING=1$/);
      assert.deepEqual(await ingest.exited, { code: 0, signal: null });
      assert.ok(!JSON.stringify(ingest.logs).includes('unit-ingest-key-123'), 'the key is not in the log');
    } finally {
      if (ingest.child.exitCode === null) ingest.child.kill('SIGKILL');
      await notify.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
