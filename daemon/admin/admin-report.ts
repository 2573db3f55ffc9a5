// GET /destinations: the daemon's read model as JSON, in the shape of schema/admin-report.schema.json
// (what `destinations status` reads).
import type { AdminReport, LimiterReport, SyncReport } from '../../schema/generated/admin-report.js';
import type { LimiterState } from '../limit/index.js';
import { syncHealth, type DaemonView } from '../telemetry/index.js';

export function adminReport(view: DaemonView, now = Date.now()): AdminReport {
  return {
    startedAt: view.startedAt.toISOString(),
    connected: view.connected,
    ready: view.ready,
    notReady: view.notReady,
    lastReload: view.lastReload && { at: view.lastReload.at.toISOString(), ok: view.lastReload.ok, rejected: [...view.lastReload.rejected] },
    gitops: view.gitops,
    destinations: view.destinations.map((destination) => ({
      slug: destination.slug,
      name: destination.name,
      version: destination.version,
      requests: { ...destination.requests },
      syncs: destination.syncs.map(
        (sync): SyncReport => ({
          id: sync.id,
          enabled: sync.enabled,
          running: sync.running,
          consumer: sync.consumer,
          egressHosts: sync.egressHosts,
          parkedAt: sync.parkedAt,
          limiter: sync.limiter && limiterReport(sync.limiter, now),
          deadLettersFailingSince: sync.deadLettersFailingSince?.toISOString(),
          circuit: sync.circuit && {
            state: sync.circuit.state,
            since: new Date(sync.circuit.since).toISOString(),
            openedAt: sync.circuit.openedAt === undefined ? undefined : new Date(sync.circuit.openedAt).toISOString(),
            openTooLong: sync.circuit.openTooLong,
          },
          health: syncHealth(sync, now),
          counts: sync.stats?.toJSON(),
        }),
      ),
    })),
  };
}

function limiterReport(limiter: LimiterState, now: number): LimiterReport {
  const paused = limiter.pausedUntil > now;
  return {
    ...limiter,
    state: paused ? 'paused' : 'running',
    pausedUntil: paused ? new Date(limiter.pausedUntil).toISOString() : undefined,
  };
}
