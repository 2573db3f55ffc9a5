// Starts a NATS cluster from configuration files (the shipped deploy/nats-cluster/ ones): one real
// nats-server per file, each on free loopback ports with its own store folder. A member can be
// killed and started again on the same ports and store, as a crashed server restarted by systemd.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNatsServer, type NatsServerHandle } from './nats-server.js';

export interface NatsClusterMember {
  /** The file's server_name: what stream info's `cluster.leader` names. */
  readonly name: string;
  readonly url: string;
  readonly clusterPort: number;
  readonly running: boolean;
  kill(): Promise<void>;
  /** Starts it again on the same ports and store folder. */
  restart(): Promise<void>;
}

export interface NatsClusterHandle {
  members: NatsClusterMember[];
  /** Client addresses of every member, for `nats.servers`. */
  urls: string[];
  member(name: string): NatsClusterMember;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  configs: string[];
  /** nats-server's environment, given every member's route port (the routes a file refers to). */
  env(clusterPorts: number[]): NodeJS.ProcessEnv;
}

export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsClusterHandle> {
  const root = mkdtempSync(join(tmpdir(), 'destinations-cluster-'));
  const clusterPorts = await Promise.all(options.configs.map(() => freePort()));
  const clientPorts = await Promise.all(options.configs.map(() => freePort()));
  const env = options.env(clusterPorts);
  const members = options.configs.map((config, index) => {
    const name = /^\s*server_name\s*:\s*"?([^"\s]+)"?/m.exec(readFileSync(config, 'utf8'))?.[1];
    if (!name) throw new Error(`${config}: no server_name (a cluster's servers need one each)`);
    const storeDir = join(root, name);
    mkdirSync(storeDir);
    let server: NatsServerHandle | undefined;
    const start = async () => {
      server = await startNatsServer({ config, env, storeDir, port: clientPorts[index], clusterPort: clusterPorts[index] });
    };
    return {
      name,
      url: `nats://127.0.0.1:${clientPorts[index]}`,
      clusterPort: clusterPorts[index],
      get running() {
        return server !== undefined;
      },
      start,
      async kill() {
        await server?.stop('SIGKILL');
        server = undefined;
      },
      restart: start,
      async stop() {
        await server?.stop();
        server = undefined;
      },
    };
  });
  try {
    await Promise.all(members.map((member) => member.start()));
  } catch (error) {
    await Promise.all(members.map((member) => member.kill()));
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    members,
    urls: members.map((member) => member.url),
    member(name) {
      const found = members.find((member) => member.name === name);
      if (!found) throw new Error(`no cluster member named ${name} (members: ${members.map((member) => member.name).join(', ')})`);
      return found;
    },
    async stop() {
      await Promise.all(members.map((member) => member.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
