// destinations status [--config FILE] [--url http://127.0.0.1:9464] [--json]
// Prints what the running daemon's admin port reports at /destinations (with the config's admin.token, if any).
import { request } from 'undici';
import { loadConfig } from '../../daemon/config/index.js';
import { withoutUserinfo } from '../../daemon/nats/index.js';
import { resolveSecretRef, SecretUnresolvedError } from '../../daemon/secrets/index.js';
import { OperatorError } from '../operator-error.js';
import { describeSchemaErrors, validateAdminReport } from '../../daemon/registry/index.js';
import type { AdminReport } from '../../schema/generated/admin-report.js';
import { parseCommandArgs } from './usage.js';
import { terminalText } from '../terminal-text.js';

const USAGE = 'destinations status [--config FILE] [--url http://127.0.0.1:9464] [--json]';

export function formatStatus(report: AdminReport): string {
  const lines = [`daemon started ${report.startedAt}, NATS ${report.connected ? 'connected' : 'DISCONNECTED'}${report.ready ? '' : `; NOT READY: ${report.notReady ?? 'unknown'}`}`];
  const gitops = report.gitops;
  if (gitops) {
    lines.push(`config ${gitops.repository} ${gitops.branch}: running ${gitops.applied ? `${gitops.applied.commit} (applied ${gitops.applied.at})` : 'no commit of it yet'}`);
    if (gitops.refused) lines.push(`  REFUSED ${gitops.refused.commit} (${gitops.refused.at}), the last good keeps running:`, ...gitops.refused.why.map((why) => `    ${why}`));
    if (gitops.fetchError) lines.push(`  cannot fetch: ${gitops.fetchError}`);
  }
  if (report.lastReload) lines.push(`last reload ${report.lastReload.at}: ${report.lastReload.ok ? 'ok' : `rejected ${report.lastReload.rejected.join(', ')}`}`);
  for (const destination of report.destinations) {
    lines.push('', `${destination.slug} (${destination.name}) version ${destination.version}, ${destination.requests.inFlight} of ${destination.requests.max} requests in flight`);
    for (const sync of destination.syncs) {
      const counts = sync.counts;
      const shared = sync.limiter && sync.limiter.share > 1 ? `, rate shared by ${sync.limiter.share} daemons` : '';
      const limiter = sync.limiter ? `${sync.limiter.state}${sync.limiter.pausedUntil ? ` until ${sync.limiter.pausedUntil}` : ''}, queued ${sync.limiter.queued}${shared}` : '-';
      const parked = sync.parkedAt ? `  parked: ${sync.parkedAt === 'hand' ? 'maxAckPending messages in hand' : `${sync.parkedAt} in-flight cap full`}` : '';
      lines.push(`  ${sync.id.padEnd(30)} ${sync.enabled ? (sync.running ? 'running ' : 'stopped ') : 'disabled'}  limiter ${limiter}${parked}`);
      if (sync.health) lines.push(`    health ${sync.health.state.replace('_', ' ')}: ${sync.health.why}`);
      if (sync.egressHosts?.length) lines.push(`    sends to ${sync.egressHosts.join(', ')}`);
      if (sync.circuit && sync.circuit.state !== 'closed') {
        lines.push(`    circuit ${sync.circuit.state.replace('_', '-')} since ${sync.circuit.since}${sync.circuit.openedAt ? `, holding the sync off since ${sync.circuit.openedAt}` : ''}${sync.circuit.openTooLong ? ' (open too long)' : ''}`);
      }
      if (counts) {
        const discarded = Object.values(counts.discarded).reduce((sum: number, count) => sum + (count ?? 0), 0);
        const reasons = Object.entries(counts.filteredByReason ?? {}).map(([reason, count]) => `${reason} ${count}`);
        lines.push(
          `    delivered ${counts.deliveredFirstAttempt} first try, ${counts.deliveredAfterRetry} after retry; filtered ${counts.filtered}${reasons.length ? ` (${reasons.join(', ')})` : ''}; discarded ${discarded}${byReason(counts.discarded)}; expired ${counts.expired}; in flight ${counts.inFlight}; retrying ${counts.deferred}`,
        );
        const failed = Object.values(counts.failures ?? {}).reduce((sum: number, count) => sum + (count ?? 0), 0);
        // Why requests failed (oauth_token, http_5xx, timeout, …): what an operator acts on.
        if (failed > 0) lines.push(`    requests failed ${failed}${byReason(counts.failures)}`);
      }
    }
  }
  return lines.join('\n');
}

/** " (reason n, reason m)", most first; empty when there is none. */
function byReason(counts: Record<string, number | undefined> | undefined): string {
  const entries = Object.entries(counts ?? {}).filter(([, count]) => (count ?? 0) > 0);
  if (entries.length === 0) return '';
  entries.sort(([, a], [, b]) => (b ?? 0) - (a ?? 0));
  return ` (${entries.map(([reason, count]) => `${reason} ${count}`).join(', ')})`;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { config: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const settings = await loadConfig({ file: values.config });
  const base = values.url ?? `http://${settings.admin.host}:${settings.admin.port}`;
  // Printed: the address without any credentials written into it.
  const shown = withoutUserinfo(base);
  // The admin port's token, by reference in the same config as the daemon's (an unset one: SecretUnresolvedError, exit 4).
  const headers: Record<string, string> = {};
  if (settings.admin.token) {
    try {
      headers.authorization = `Bearer ${resolveSecretRef(settings.admin.token, { baseDir: settings.baseDir })}`;
    } catch (error) {
      if (error instanceof SecretUnresolvedError) throw new SecretUnresolvedError(`admin.token in ${settings.file}: ${error.message}`);
      throw error;
    }
  }
  let body: unknown;
  try {
    const response = await request(`${base}/destinations`, { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
    if (response.statusCode === 401) {
      await response.body.dump();
      throw new OperatorError('authRefused', `${shown}/destinations requires the admin token: set admin.token in the config (${settings.file ?? 'none found'}) as the daemon has it`);
    }
    body = await response.body.json();
  } catch (error) {
    if (error instanceof OperatorError) throw error;
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as NodeJS.ErrnoException).code;
    throw new OperatorError('unreachable', `cannot reach the daemon's admin port at ${shown} (${cause ?? (error as Error).message}): is the daemon running? give its address with --url, or the config it runs with (--config)`);
  }
  if (!validateAdminReport(body)) {
    // A daemon of another version, or something else on that port: say what does not match.
    const mismatches = describeSchemaErrors(validateAdminReport.errors ?? []).map(({ pointer, message }) => `  ${pointer || '/'}: ${message}`);
    console.error(`${shown}/destinations is not the report this version reads (schema/admin-report.schema.json):\n${mismatches.join('\n')}`);
    return 1;
  }
  const report: AdminReport = body;
  // Names and reasons come from folders and destinations' answers: no control character reaches the terminal.
  console.log(terminalText(values.json ? JSON.stringify(report, null, 2) : formatStatus(report)));
  return 0;
}
