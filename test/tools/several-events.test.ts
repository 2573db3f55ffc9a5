import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeFiles } from '../helpers/folders.js';
import { startRecordingSink, type RecordingSink } from '../helpers/sink.js';

const event = (index: number, extra: Record<string, unknown> = {}) => ({ event_type: 'purchase', user_id: `user-${index}`, time: 1700000000000 + index, insert_id: `insert-${index}`, ...extra });

describe('tools preview and send: several events', () => {
  const temp = tempDir();
  let sink: RecordingSink;
  before(async () => {
    sink = await startRecordingSink({ status: 200, body: '{}' });
  });
  after(async () => {
    await sink.close();
    temp.remove();
  });
  writeFiles(temp.dir, {
    'three.json': [event(1), event(2), { event_type: '$identify', user_id: 'user-3', user_properties: { $set: { plan: 'pro' } } }],
    'lines.ndjson': `${JSON.stringify(event(1))}\n${JSON.stringify(event(2))}\n\n${JSON.stringify(event(3))}\n`,
    'bad-line.ndjson': `${JSON.stringify(event(1))}\n{"event_type": }\n`,
  });

  it('preview renders a JSON array of events as one batch when the destination batches', async () => {
    const result = await runCli(['preview', 'test/fixtures/posthog/good', '--event', join(temp.dir, 'lines.ndjson'), '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const preview = JSON.parse(result.stdout);
    assert.deepEqual(preview.body.batch.map((item: { distinct_id: string }) => item.distinct_id), ['user-1', 'user-2', 'user-3']);
  });

  it('preview of a batch of two renders what the daemon would send, so a missing comma between items fails', async () => {
    writeFiles(temp.dir, { 'two.json': [event(1), event(2)] });
    const result = await runCli(['preview', 'test/fixtures/posthog/batch-items-without-comma', '--event', join(temp.dir, 'two.json')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /body\.njk:\d+:\d+: rendered body is not valid JSON/);
  });

  it('preview renders one request per event without batch, identify apart, each announced', async () => {
    const result = await runCli(['preview', 'destinations/webhook', '--event', join(temp.dir, 'three.json')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout.split('\n').filter((line) => line.startsWith('#')),
      ['# request 1 of 3: track, event 1', '# request 2 of 3: track, event 2', '# request 3 of 3: identify, event 3'],
    );
  });

  it('preview names the line of an event file with one event per line that is not JSON', async () => {
    const result = await runCli(['preview', 'destinations/webhook', '--event', join(temp.dir, 'bad-line.ndjson')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-line\.ndjson:2:\d+: invalid JSON/);
  });

  it('send sends each request in order and exits 0 when all are 2xx', async () => {
    writeFiles(temp.dir, { 'sync.json': { parameters: { url: `${sink.url}/in`, signing_secret: { env: 'WEBHOOK_SIGNING_SECRET' } }, identifyForwarding: true } });
    const result = await runCli(['send', 'destinations/webhook', '--event', join(temp.dir, 'three.json'), '--sync', join(temp.dir, 'sync.json')], { env: { WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from('several events test signing key!').toString('base64')}` } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      sink.received.map((request) => JSON.parse(request.body).user_id),
      ['user-1', 'user-2', 'user-3'],
    );
    assert.match(result.stdout, /# request 3 of 3: identify, 1 event\nHTTP 200/);
  });
});

describe('tools preview: render errors', () => {
  it('name the template by its path from the working directory, with line and column, so an editor jumps to it', async () => {
    const temp = tempDir();
    try {
      writeFiles(temp.dir, { 'event.json': { event_type: 'purchase', user_id: 'user-1', device_id: 'device-1' } });
      const result = await runCli(['preview', 'test/fixtures/posthog/optional-field-without-comma', '--event', join(temp.dir, 'event.json')]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^test\/fixtures\/posthog\/optional-field-without-comma\/body\.njk:14:9: rendered body is not valid JSON at output line \d+, column 9 \(comma expected\)/m);
    } finally {
      temp.remove();
    }
  });
});
