// A three-server NATS cluster (the shipped deploy/nats-cluster/ files, authorization included) as
// the production engine: the daemons create replicated streams themselves, and the loss of the
// events stream leader's server together with a daemon loses no event.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { DEFAULT_CONSUME_BUFFER } from '../../daemon/defaults.js';
import { PACKAGE_ROOT } from '../../daemon/paths.js';
import { spawnDaemon, writeConfig, type DaemonProcess } from '../helpers/daemon-process.js';
import { makeDestinationsDir, testEvent, writeDestinationFolder } from '../helpers/destination-folder.js';
import { startTestSink, waitForDistinctInsertIds, type TestSink } from '../helpers/http-sink.js';
import { startNatsCluster, type NatsClusterHandle } from '../helpers/nats-cluster.js';
import { waitUntil } from '../helpers/wait.js';

const CLUSTER_DIR = join(PACKAGE_ROOT, 'deploy', 'nats-cluster');
const CONFIGS = ['nats-1.conf', 'nats-2.conf', 'nats-3.conf'].map((file) => join(CLUSTER_DIR, file));
const PASSWORDS = {
  DESTINATIONS_PUBLISHER_PASSWORD: 'publisher-password',
  DESTINATIONS_DAEMON_PASSWORD: 'daemon-password',
  DESTINATIONS_OPERATOR_PASSWORD: 'operator-password',
};
const ROUTE_PASSWORD = 'route-password';

const EVENTS = 2_000;
const MAX_IN_FLIGHT_PER_SYNC = 32;
const DAEMONS = 2;
/**
 * Duplicates the faults may cause: what each daemon holds when they strike. The killed daemon's
 * requests in flight were sent and never acked. When the consumer's leader dies, the new one may not
 * know of the last deliveries and acks, and hands out again what a daemon has in flight or still in
 * its client buffer, while that daemon sends them too. So: daemons × (maxInFlightPerSync + the
 * consume buffer). Measured: 32 to 158 of 2,000.
 */
const DUPLICATE_BOUND = DAEMONS * (MAX_IN_FLIGHT_PER_SYNC + DEFAULT_CONSUME_BUFFER);
/** A publish that fails while the stream's leader moves is tried again, this many times at most. */
const PUBLISH_ATTEMPTS = 10;

/** The `accounts { … }` block of a nats-server configuration (users and permissions), comments and blank lines aside. */
function authorizationBlock(file: string): string {
  const text = readFileSync(file, 'utf8');
  const block = text.slice(text.indexOf('\naccounts {') + 1);
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n');
}

function routesEnv(clusterPorts: number[]): NodeJS.ProcessEnv {
  const routes = clusterPorts.map((port) => `nats-route://route:${ROUTE_PASSWORD}@127.0.0.1:${port}`);
  return { ...PASSWORDS, DESTINATIONS_ROUTE_PASSWORD: ROUTE_PASSWORD, DESTINATIONS_CLUSTER_ROUTES: `[${routes.join(', ')}]` };
}

/** The cluster is up when every server routes to the others and JetStream has a metadata leader. */
async function waitForCluster(connection: NatsConnection, jsm: JetStreamManager, size: number): Promise<void> {
  await waitUntil(
    connection,
    async () => (connection.info?.connect_urls?.length ?? 0) >= size && (await jsm.getAccountInfo().then(() => true, () => false)),
    20_000,
    'the cluster formed with a JetStream metadata leader',
  );
}

async function streamLeader(jsm: JetStreamManager, stream: string): Promise<string | undefined> {
  return (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader;
}

function insertIds(sink: TestSink): string[] {
  return sink.requests.map((request) => JSON.parse(request.body).insert_id as string);
}

describe('NATS cluster (deploy/nats-cluster)', () => {
  it('carries the authorization of deploy/nats unchanged into every server of the cluster', () => {
    const single = authorizationBlock(join(PACKAGE_ROOT, 'deploy', 'nats', 'nats-server.conf'));
    assert.ok(single.startsWith('accounts {'), 'the single server has an accounts block');
    assert.equal(authorizationBlock(join(CLUSTER_DIR, 'authorization.conf')), single);
    for (const config of CONFIGS) assert.match(readFileSync(config, 'utf8'), /^include "authorization\.conf"$/m, config);
  });

  it(
    'creates replicated streams itself, and loses no event when the stream leader\'s server and a daemon are killed mid-stream',
    { timeout: 90_000 },
    async () => {
      const cluster: NatsClusterHandle = await startNatsCluster({ configs: CONFIGS, env: routesEnv });
      const sink = await startTestSink();
      const folder = makeDestinationsDir();
      let watcher: NatsConnection | undefined;
      let publisher: NatsConnection | undefined;
      const daemons: DaemonProcess[] = [];
      try {
        // The daemon's own user, to watch the streams from outside (it may read their state).
        watcher = await connect({ servers: cluster.urls, user: 'destinations', pass: PASSWORDS.DESTINATIONS_DAEMON_PASSWORD, inboxPrefix: '_INBOX_destinations', maxReconnectAttempts: -1 });
        const jsm = await jetstreamManager(watcher, { checkAPI: false });
        await waitForCluster(watcher, jsm, cluster.members.length);

        writeDestinationFolder(folder.dir, 'hook', { syncs: { main: { parameters: { endpoint: sink.url, token: { env: 'CLUSTER_TOKEN' } } } } });
        const config = writeConfig(folder.dir, {
          nats: { servers: cluster.urls, user: 'destinations', password: { env: 'DESTINATIONS_DAEMON_PASSWORD' }, inboxPrefix: '_INBOX_destinations' },
          destinationsDir: '.',
          stream: { replicas: 3, deadLetterReplicas: 3, ackWaitMs: 4_000 },
          maxInFlightPerSync: MAX_IN_FLIGHT_PER_SYNC,
          admin: { enabled: false },
          drainTimeoutMs: 1_000,
          requestTimeoutMs: 5_000,
          logLevel: 'info',
        });
        const env = { CLUSTER_TOKEN: 'cluster-secret', DESTINATIONS_DAEMON_PASSWORD: PASSWORDS.DESTINATIONS_DAEMON_PASSWORD };
        // As deploy/systemd's Restart=on-failure keeps it: a daemon that fails before it is ready
        // (JetStream electing a leader when it starts) is started again, a bounded number of times.
        const failedStarts: string[] = [];
        const start = async () => {
          for (let launch = 1; ; launch += 1) {
            const daemon = spawnDaemon(config, env);
            daemons.push(daemon);
            try {
              await daemon.waitForLog('daemon ready', 30_000);
              return daemon;
            } catch (error) {
              if (daemon.child.exitCode === null || launch >= 5) throw error;
              failedStarts.push((error as Error).message.split('\n').slice(0, 3).join(' '));
            }
          }
        };
        const first = await start();
        await start();
        for (const stream of ['EVENTS', 'DEAD']) {
          const info = await jsm.streams.info(stream);
          assert.equal(info.config.num_replicas, 3, `${stream} was created with three replicas`);
          assert.equal(info.cluster?.replicas?.length, 2, `${stream} has a leader and two replicas`);
        }

        publisher = await connect({ servers: cluster.urls, user: 'publisher', pass: PASSWORDS.DESTINATIONS_PUBLISHER_PASSWORD, maxReconnectAttempts: -1 });
        const js: JetStreamClient = jetstream(publisher);
        let published = 0;
        let retried = 0;
        // A publish that fails while the leader moves is tried again once the stream has a leader;
        // the message id (the insert_id) lets JetStream drop a second copy of one that was stored.
        const publishEvent = async (index: number) => {
          const event = testEvent(index);
          for (let attempt = 1; ; attempt += 1) {
            try {
              await js.publish('events.web', JSON.stringify(event), { msgID: String(event.insert_id), timeout: 2_000 });
              return;
            } catch (error) {
              if (attempt >= PUBLISH_ATTEMPTS) throw new Error(`${event.insert_id} not published in ${attempt} attempts: ${(error as Error).message}`);
              retried += 1;
              await waitUntil(watcher!, async () => (await streamLeader(jsm, 'EVENTS')) !== undefined, 20_000, 'the events stream has a leader');
            }
          }
        };
        let halfway!: () => void;
        const reachedHalfway = new Promise<void>((resolve) => (halfway = resolve));
        const publishing = (async () => {
          for (let start = 0; start < EVENTS; start += 50) {
            await Promise.all(Array.from({ length: 50 }, (_, i) => publishEvent(start + i)));
            published += 50;
            if (published >= EVENTS / 2) halfway();
          }
        })();
        publishing.catch(() => undefined); // awaited below; a failure before then is the test's, not an unhandled one

        await reachedHalfway;
        await sink.waitForRequests(200, 20_000);
        const leader = await streamLeader(jsm, 'EVENTS');
        assert.ok(leader, 'the events stream has a leader');
        const killedServer = cluster.member(leader);
        const faultsAt = Date.now();
        first.child.kill('SIGKILL');
        await Promise.all([killedServer.kill(), first.exited]);
        const deliveredAtKill = new Set(insertIds(sink)).size;
        // Mid-stream: delivery is under way (on a loaded machine the publisher may have finished already).
        assert.ok(deliveredAtKill < EVENTS, `the faults came mid-stream (${published} published, ${deliveredAtKill} delivered)`);

        // The daemon comes back at once, as systemd brings it back; the stream fails over to another
        // server, and the killed one comes back with its store and catches up.
        const restarted = start();
        let newLeader: string | undefined;
        await waitUntil(
          watcher,
          async () => (newLeader = await streamLeader(jsm, 'EVENTS')) !== undefined && newLeader !== leader,
          20_000,
          'another server leads the events stream',
        );
        await killedServer.restart();
        await restarted;
        await publishing;
        await waitForDistinctInsertIds(sink, EVENTS, 45_000);

        const ids = insertIds(sink);
        const distinct = new Set(ids);
        assert.deepEqual(
          Array.from({ length: EVENTS }, (_, i) => `insert-${i}`).filter((id) => !distinct.has(id)),
          [],
          'every event reached the sink',
        );
        const duplicates = ids.length - distinct.size;
        assert.ok(duplicates <= DUPLICATE_BOUND, `${duplicates} duplicates, at most ${DUPLICATE_BOUND} expected`);
        for (const daemon of daemons) {
          assert.deepEqual(daemon.logs.filter((line) => line.msg === 'NATS server error'), [], 'the cluster refused the daemon nothing');
          assert.equal(daemon.logs.filter((line) => line.level === 'warn' && String(line.msg).startsWith('stream replicas differ')).length, 0);
        }
        // What the figures were, for the record (the test's output).
        console.log(
          `cluster: ${EVENTS} events, ${duplicates} duplicates (bound ${DUPLICATE_BOUND}), ${retried} publishes retried, ` +
            `leader ${leader} → ${newLeader}, all delivered ${Date.now() - faultsAt} ms after the faults, failed starts: ${JSON.stringify(failedStarts)}`,
        );

        for (const daemon of daemons.filter((d) => d.child.exitCode === null && d.child.signalCode === null)) {
          daemon.child.kill('SIGTERM');
          assert.equal((await daemon.exited).code, 0, 'a daemon stops cleanly after the faults');
        }
      } finally {
        for (const daemon of daemons) if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
        await publisher?.close();
        await watcher?.close();
        await sink.close();
        await cluster.stop();
        folder.remove();
      }
    },
  );
});
