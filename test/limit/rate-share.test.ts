// Daemons running the same syncs share their rate limits: which daemons run which syncs, from their
// announcements on a real nats-server.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { RateShare, rateShareSubject } from '../../daemon/limit/index.js';
import { createLogger } from '../../daemon/log.js';
import { useNatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const nats = useNatsServer();
const log = createLogger({ level: 'error', write: () => undefined });
const connections: NatsConnection[] = [];
let count = 0;

after(async () => {
  for (const connection of connections) if (!connection.isClosed()) await connection.close();
});

/** A daemon's RateShare on its own connection, recording the shares it is told. */
async function daemon(subject: string, syncs: string[], options: { heartbeatMs?: number } = {}) {
  const connection = await connect({ servers: nats.url });
  connections.push(connection);
  const told: Array<Record<string, number>> = [];
  const share = new RateShare(connection, subject, () => syncs, (shares) => told.push(Object.fromEntries(shares)), log, {
    heartbeatMs: options.heartbeatMs ?? 60_000,
    helloWaitMs: 50,
    instance: `daemon-${++count}`,
  });
  await share.start();
  return { share, told, connection };
}

describe('rate share', () => {
  it('knows on start which daemons run its syncs, tells the others at once, and gives a share back on leaving', async () => {
    const subject = rateShareSubject(`SHARE_${++count}`);
    const a = await daemon(subject, ['braze.main', 'webhook.main']);
    assert.deepEqual(a.told, [{ 'braze.main': 1, 'webhook.main': 1 }]);
    const b = await daemon(subject, ['braze.main']);
    assert.equal(b.share.shareOf('braze.main'), 2, 'the newcomer knows before its first request');
    assert.deepEqual(b.told, [{ 'braze.main': 2 }]);
    assert.equal(a.share.shareOf('braze.main'), 2);
    assert.equal(a.share.shareOf('webhook.main'), 1, 'a sync the other does not run stays whole');
    assert.deepEqual(a.told.at(-1), { 'braze.main': 2, 'webhook.main': 1 });
    await b.share.stop();
    await waitUntil(nats.connection, () => a.share.shareOf('braze.main') === 1, 5_000, 'the share given back');
    assert.deepEqual(a.told.at(-1), { 'braze.main': 1, 'webhook.main': 1 });
    await a.share.stop();
  });

  it('forgets a daemon that went silent (killed) after three heartbeats', async () => {
    const subject = rateShareSubject(`SHARE_${++count}`);
    const a = await daemon(subject, ['braze.main'], { heartbeatMs: 40 });
    const b = await daemon(subject, ['braze.main'], { heartbeatMs: 40 });
    assert.equal(a.share.shareOf('braze.main'), 2);
    // No leaving message: the connection just goes, as with SIGKILL.
    await b.connection.close();
    await waitUntil(nats.connection, () => a.share.shareOf('braze.main') === 1, 5_000, 'the silent daemon forgotten');
    await a.share.stop();
  });

  it('ignores what is not an announcement', async () => {
    const subject = rateShareSubject(`SHARE_${++count}`);
    const a = await daemon(subject, ['braze.main']);
    nats.connection.publish(subject, 'not json');
    nats.connection.publish(subject, JSON.stringify({ instance: 'x', syncs: 'braze.main' }));
    nats.connection.publish(subject, JSON.stringify({ instance: 'y', syncs: ['braze.main'] }));
    // Announcements from one publisher arrive in order: once this one is in, so are those before it.
    nats.connection.publish(subject, JSON.stringify({ instance: 'z', syncs: ['sentinel'] }));
    await waitUntil(nats.connection, () => a.share.shareOf('sentinel') === 2, 5_000, 'the sentinel heard');
    assert.equal(a.share.shareOf('braze.main'), 2, 'only the well-formed announcement counts');
    await a.share.stop();
  });
});
