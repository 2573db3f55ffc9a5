// The one rule that says how a sync is doing. `destinations status`, GET /destinations and the
// console's tiles all show what this function decides (through the admin report and the console's
// state); nothing else decides it. The first that holds, in this order:
//
//   paused        disabled in its sync file, or its limiter waits out a Retry-After
//   circuit_open  its circuit breaker holds it off (open, or half-open with a probe out)
//   failing       enabled but no consumer runs it; or its dead letters cannot be written; or in the
//                 last HEALTH_WINDOW_MINUTES it failed (requests failed or events dead-lettered)
//                 and delivered nothing
//   degraded      in that window, failures are at least DEGRADED_FAILURE_SHARE of what happened
//                 (delivered events + failed requests + dead-lettered events)
//   healthy       otherwise, an idle sync included
//
// So a sync that dead-letters every event is failing, never a green "running".
import { recentDeliveriesOf } from './recent-deliveries.js';
import type { SyncView } from './daemon-view.js';

export const SYNC_HEALTH = {
  healthy: 'healthy',
  degraded: 'degraded',
  failing: 'failing',
  circuitOpen: 'circuit_open',
  paused: 'paused',
} as const;
export type SyncHealthState = (typeof SYNC_HEALTH)[keyof typeof SYNC_HEALTH];

/** The window the rule looks at: the current minute and the HEALTH_WINDOW_MINUTES before it. */
export const HEALTH_WINDOW_MINUTES = 5;
/** Failures over this share of what happened in the window make a sync degraded. */
export const DEGRADED_FAILURE_SHARE = 0.01;

export interface SyncHealth {
  state: SyncHealthState;
  /** One line saying why, with figures. */
  why: string;
}

export function syncHealth(sync: SyncView, now = Date.now()): SyncHealth {
  if (!sync.enabled) return { state: SYNC_HEALTH.paused, why: 'disabled in its sync file' };
  if (sync.limiter && sync.limiter.pausedUntil > now) return { state: SYNC_HEALTH.paused, why: `the destination asked to wait (Retry-After) until ${new Date(sync.limiter.pausedUntil).toISOString()}` };
  if (sync.circuit && sync.circuit.state !== 'closed') {
    return { state: SYNC_HEALTH.circuitOpen, why: `circuit breaker ${sync.circuit.state.replace('_', '-')} since ${new Date(sync.circuit.since).toISOString()}` };
  }
  if (!sync.running) return { state: SYNC_HEALTH.failing, why: 'enabled, but no consumer runs it' };
  if (sync.deadLettersFailingSince) return { state: SYNC_HEALTH.failing, why: `dead letters cannot be written since ${sync.deadLettersFailingSince.toISOString()}` };
  if (!sync.stats) return { state: SYNC_HEALTH.healthy, why: 'nothing received yet' };
  const recent = recentDeliveriesOf(sync.stats);
  const window = recent.history.totals(now, HEALTH_WINDOW_MINUTES);
  const failures = window.failed + window.deadLettered;
  const figures = `in the last ${HEALTH_WINDOW_MINUTES} min: ${window.delivered} delivered, ${window.failed} requests failed, ${window.deadLettered} dead-lettered`;
  const reason = failures > 0 ? recent.list({ failedOnly: true, limit: 1 })[0]?.reason ?? undefined : undefined;
  const because = reason ? `; last reason ${reason}` : '';
  if (failures > 0 && window.delivered === 0) return { state: SYNC_HEALTH.failing, why: `${figures}${because}` };
  if (failures > 0 && failures >= DEGRADED_FAILURE_SHARE * (window.delivered + failures)) return { state: SYNC_HEALTH.degraded, why: `${figures}${because}` };
  return { state: SYNC_HEALTH.healthy, why: figures };
}
