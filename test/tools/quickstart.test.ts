// The README's quick start, as a newcomer runs it: the daemon on its embedded default with the
// shipped destinations and the local sink, then the documented publish command.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { freePort } from '../helpers/nats-server.js';

describe('quick start', () => {
  it('starts NATS from nats.conf, the daemon and the sink, and shows a published event arriving', async () => {
    // The shipped configuration, with only the NATS port and store moved so the test owns its server.
    const dir = mkdtempSync(join(tmpdir(), 'destinations-quickstart-'));
    const port = await freePort();
    const shipped = JSON.parse(readFileSync(join(PACKAGE_ROOT, '.destinationsrc.json'), 'utf8'));
    const natsConf = readFileSync(join(PACKAGE_ROOT, 'nats.conf'), 'utf8').replace('listen: 127.0.0.1:4222', `listen: 127.0.0.1:${port}`);
    assert.notEqual(natsConf, readFileSync(join(PACKAGE_ROOT, 'nats.conf'), 'utf8'), 'nats.conf listens on 4222');
    writeFileSync(join(dir, 'nats.conf'), natsConf);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        ...shipped,
        $schema: undefined,
        nats: { ...shipped.nats, servers: [`nats://127.0.0.1:${port}`], embedded: { enabled: true, config: join(dir, 'nats.conf') } },
        destinationsDir: join(PACKAGE_ROOT, 'destinations'),
        admin: { ...shipped.admin, port: 0 },
      }),
    );
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist/tools/quickstart.js')], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, DESTINATIONS_CONFIG: config },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const seen = (pattern: RegExp, where: () => string, stream: NodeJS.ReadableStream) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(where())) {
            stream.off('data', check);
            resolve();
          }
        };
        stream.on('data', check);
        void exited.then((code) => reject(new Error(`quick start exited (${code}) before ${pattern}:\n${stdout}\n${stderr}`)));
      });
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await seen(/publish an event from another terminal/, () => stderr, child.stderr!);
      assert.match(stdout, /started embedded nats-server/);
      const command = /node dist\/tools\/cli\.js publish (\S+)/.exec(stderr)!;
      const published = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist/tools/cli.js'), 'publish', command[1], '--config', config], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
      assert.equal(published.status, 0, published.stderr);
      await seen(/sink: request #\d+ POST \/webhook/, () => stdout, child.stdout!);
      await seen(/sink: request #\d+ POST \/example/, () => stdout, child.stdout!);
      // The sfmc sync's token request goes to the sink too, which answers it with a demo token.
      await seen(/sink: request #\d+ POST \/sfmc\/interaction\/v1\/events\n(?:  .*\n)*  authorization: Bearer demo-token-\d+\n/, () => stdout, child.stdout!);
      assert.match(stdout, /sink: request #\d+ POST \/sfmc-auth\/v2\/token/);
      assert.match(stdout, /"external_id": "user-1234"/);
      const daemonLines = stdout.split('\n').filter((line) => line.startsWith('{'));
      assert.ok(daemonLines.length > 0);
      assert.ok(!daemonLines.some((line) => line.includes('demo-webhook-secret')), 'the daemon never logs a secret (the sink shows what it received)');
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      // A failed assertion still stops it gracefully, so the embedded nats-server goes with it.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const grace = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(grace);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
