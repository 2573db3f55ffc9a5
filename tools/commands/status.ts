// destinations status [--config FILE] [--url http://127.0.0.1:9464] [--json]
// Prints what the running daemon's admin port reports at /destinations (with the config's admin.token, if any).
import { request } from 'undici';
import { loadConfig } from '../../daemon/config/index.js';
import { resolveSecretRef } from '../../daemon/secrets/index.js';
import { describeSchemaErrors, validateAdminReport } from '../../daemon/registry/index.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { parseCommandArgs } from './usage.js';
import { terminalText } from '../terminal-text.js';

const USAGE = 'destinations status [--config FILE] [--url http://127.0.0.1:9464] [--json]';

export function formatStatus(report: AdminReport): string {
  const lines = [`daemon started ${report.startedAt}, NATS ${report.connected ? 'connected' : 'DISCONNECTED'}${report.ready ? '' : `; NOT READY: ${report.notReady ?? 'unknown'}`}`];
  if (report.lastReload) lines.push(`last reload ${report.lastReload.at}: ${report.lastReload.ok ? 'ok' : `rejected ${report.lastReload.rejected.join(', ')}`}`);
  for (const destination of report.destinations) {
    lines.push('', `${destination.slug} (${destination.name}) version ${destination.version}, ${destination.requests.inFlight} of ${destination.requests.max} requests in flight`);
    for (const sync of destination.syncs) {
      const counts = sync.counts;
      const shared = sync.limiter && sync.limiter.share > 1 ? `, rate shared by ${sync.limiter.share} daemons` : '';
      const limiter = sync.limiter ? `${sync.limiter.state}${sync.limiter.pausedUntil ? ` until ${sync.limiter.pausedUntil}` : ''}, queued ${sync.limiter.queued}${shared}` : '-';
      const parked = sync.parkedAt ? `  parked: ${sync.parkedAt} in-flight cap full` : '';
      lines.push(`  ${sync.id.padEnd(30)} ${sync.enabled ? (sync.running ? 'running ' : 'stopped ') : 'disabled'}  limiter ${limiter}${parked}`);
      if (sync.egressHosts?.length) lines.push(`    sends to ${sync.egressHosts.join(', ')}`);
      if (sync.circuit && sync.circuit.state !== 'closed') {
        lines.push(`    circuit ${sync.circuit.state.replace('_', '-')} since ${sync.circuit.since}${sync.circuit.openedAt ? `, holding the sync off since ${sync.circuit.openedAt}` : ''}${sync.circuit.openTooLong ? ' (open too long)' : ''}`);
      }
      if (counts) {
        const discarded = Object.values(counts.discarded).reduce((sum: number, count) => sum + (count ?? 0), 0);
        const reasons = Object.entries(counts.filteredByReason ?? {}).map(([reason, count]) => `${reason} ${count}`);
        lines.push(
          `    delivered ${counts.deliveredFirstAttempt} first try, ${counts.deliveredAfterRetry} after retry; filtered ${counts.filtered}${reasons.length ? ` (${reasons.join(', ')})` : ''}; discarded ${discarded}; expired ${counts.expired}; in flight ${counts.inFlight}; retrying ${counts.deferred}`,
        );
      }
    }
  }
  return lines.join('\n');
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { config: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const settings = await loadConfig({ file: values.config });
  const base = values.url ?? `http://${settings.admin.host}:${settings.admin.port}`;
  // The admin port's token, by reference in the same config as the daemon's.
  const headers: Record<string, string> = {};
  if (settings.admin.token) {
    try {
      headers.authorization = `Bearer ${resolveSecretRef(settings.admin.token, { baseDir: settings.baseDir })}`;
    } catch (error) {
      console.error(`admin.token: ${(error as Error).message}`);
      return 1;
    }
  }
  let body: unknown;
  try {
    const response = await request(`${base}/destinations`, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
    if (response.statusCode === 401) {
      await response.body.dump();
      console.error(`${base}/destinations requires the admin token: set admin.token in the config (${settings.file ?? 'none found'}) as the daemon has it`);
      return 1;
    }
    body = await response.body.json();
  } catch (error) {
    console.error(`cannot reach the daemon's admin port at ${base}: ${(error as Error).message}`);
    return 1;
  }
  if (!validateAdminReport(body)) {
    // A daemon of another version, or something else on that port: say what does not match.
    const mismatches = describeSchemaErrors(validateAdminReport.errors ?? []).map(({ pointer, message }) => `  ${pointer || '/'}: ${message}`);
    console.error(`${base}/destinations is not the report this version reads (schema/admin-report.schema.json):\n${mismatches.join('\n')}`);
    return 1;
  }
  const report: AdminReport = body;
  // Names and reasons come from folders and destinations' answers: no control character reaches the terminal.
  console.log(terminalText(values.json ? JSON.stringify(report, null, 2) : formatStatus(report)));
  return 0;
}
