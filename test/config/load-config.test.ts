import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../daemon/config/index.js';

function withDir<T>(files: Record<string, string>, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'destinations-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('config', () => {
  it('fills every default when no file is found', async () => {
    await withDir({}, async (dir) => {
      const settings = await loadConfig({ cwd: dir });
      assert.equal(settings.file, undefined);
      assert.deepEqual(settings.nats.servers, ['nats://127.0.0.1:4222']);
      assert.equal(settings.stream.name, 'EVENTS');
      assert.equal(settings.maxInFlightPerSync, 256, 'the schema\'s default');
      assert.equal(settings.maxInFlightPerDestination, 256, 'the schema\'s default');
      assert.equal(settings.destinationsDir, join(dir, 'destinations'));
      assert.equal(settings.nats.embedded.enabled, false);
    });
  });

  it('watching the destinations folder is off by default, with a quiet period of a second; a bad quietMs is named', async () => {
    await withDir({}, async (dir) => assert.deepEqual((await loadConfig({ cwd: dir })).watch, { enabled: false, quietMs: 1000 }));
    await withDir({ '.destinationsrc.json': '{ "watch": { "enabled": true } }' }, async (dir) => assert.deepEqual((await loadConfig({ cwd: dir })).watch, { enabled: true, quietMs: 1000 }));
    await withDir({ '.destinationsrc.json': '{\n  "watch": { "quietMs": 5 }\n}' }, async (dir) => {
      await assert.rejects(loadConfig({ cwd: dir }), /\.destinationsrc\.json:2:\d+: \/watch\/quietMs: must be >= 50/);
    });
  });

  it('runs deliveries on the derived table by default; "xstate" selects XState\'s interpreter; anything else is named', async () => {
    await withDir({}, async (dir) => assert.equal((await loadConfig({ cwd: dir })).deliveryRuntime, 'derived'));
    await withDir({ '.destinationsrc.json': '{ "deliveryRuntime": "xstate" }' }, async (dir) => assert.equal((await loadConfig({ cwd: dir })).deliveryRuntime, 'xstate'));
    await withDir({ '.destinationsrc.json': '{\n  "deliveryRuntime": "fast"\n}' }, async (dir) => {
      await assert.rejects(loadConfig({ cwd: dir }), /\.destinationsrc\.json:2:\d+: \/deliveryRuntime: must be equal to one of the allowed values/);
    });
  });

  it('reads an egress allow-list, absent by default, and names a bad pattern with its place', async () => {
    await withDir({}, async (dir) => assert.equal((await loadConfig({ cwd: dir })).egressAllowList, undefined));
    await withDir({ '.destinationsrc.json': '{ "egressAllowList": ["api.braze.com", "*.customer.io", "127.0.0.1:3000", "[::1]:8080"] }' }, async (dir) => {
      assert.deepEqual((await loadConfig({ cwd: dir })).egressAllowList, ['api.braze.com', '*.customer.io', '127.0.0.1:3000', '[::1]:8080']);
    });
    await withDir({ '.destinationsrc.json': '{\n  "egressAllowList": ["api.braze.com", "https://evil.example/x"]\n}' }, async (dir) => {
      await assert.rejects(loadConfig({ cwd: dir }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /\.destinationsrc\.json:2:\d+: \/egressAllowList\/1: must match pattern/);
        return true;
      });
    });
  });

  it('finds .destinationsrc.json and resolves paths against its folder', async () => {
    await withDir({ '.destinationsrc.json': '{ "destinationsDir": "dest", "nats": { "embedded": { "enabled": true } } }' }, async (dir) => {
      const settings = await loadConfig({ cwd: dir });
      assert.equal(settings.file, join(dir, '.destinationsrc.json'));
      assert.equal(settings.destinationsDir, join(dir, 'dest'));
      assert.equal(settings.nats.embedded.config, join(dir, 'nats.conf'));
    });
  });

  it('reads YAML', async () => {
    await withDir({ '.destinationsrc.yaml': 'logLevel: debug\nstream:\n  name: MINE\n' }, async (dir) => {
      const settings = await loadConfig({ cwd: dir });
      assert.equal(settings.logLevel, 'debug');
      assert.equal(settings.stream.name, 'MINE');
      assert.equal(settings.stream.deadLetterStream, 'DEAD');
    });
  });

  it('names the file, line, column and field of every mistake at once', async () => {
    const text = '{\n  "maxInFlightPerSync": 0,\n  "nats": { "servers": "nats://x" },\n  "logLevel": "loud",\n  "colour": true\n}\n';
    await withDir({ 'my.json': text }, async (dir) => {
      await assert.rejects(loadConfig({ cwd: dir, file: 'my.json' }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const file = join(dir, 'my.json');
        assert.ok(error.problems.some((problem) => problem.startsWith(`${file}:2:3: /maxInFlightPerSync: must be >= 1`)), error.message);
        assert.ok(error.problems.some((problem) => problem.startsWith(`${file}:3:13: /nats/servers: must be array`)), error.message);
        assert.ok(error.problems.some((problem) => problem.startsWith(`${file}:4:3: /logLevel: must be equal to one of the allowed values`)), error.message);
        assert.ok(error.problems.some((problem) => problem.includes('must NOT have additional properties (colour)')), error.message);
        return true;
      });
    });
  });

  it('says which file does not parse', async () => {
    await withDir({ '.destinationsrc.json': '{ "logLevel": ' }, async (dir) => {
      await assert.rejects(loadConfig({ cwd: dir }), (error: unknown) => error instanceof ConfigError && error.message.includes('.destinationsrc.json'));
    });
  });
});
