// destinations plan [DIR] (--daemon URL | --against DIR | --ref REF) [--format text|json]
// What merging DIR would change, compared with what a running daemon has loaded, another tree, or
// a git ref: destinations and syncs added, changed, removed or disabled, where new syncs start,
// and secrets newly referenced that this environment does not resolve (named, never shown).
import { request } from 'undici';
import { DEFAULT_DESTINATIONS_DIR } from '../../daemon/defaults.js';
import { describeSchemaErrors, validateAdminReport } from '../../daemon/registry/index.js';
import { formatPlan, planChanges } from '../plan/plan-diff.js';
import { daemonSide, gitRefSide, treeSide, type PlanSide } from '../plan/plan-state.js';
import { printable } from '../printable.js';
import { terminalText } from '../terminal-text.js';
import { parseCommandArgs, UsageError } from './usage.js';

const USAGE = 'destinations plan [DIR] (--daemon URL | --against DIR | --ref REF) [--format text|json]';
const HELP = `usage: ${USAGE}

Says what merging the destinations tree DIR (default: ${DEFAULT_DESTINATIONS_DIR}) would change, for a pull
request's description. Compared with one of:

  --daemon URL     what a running daemon has loaded: its admin report, URL/destinations
                   (e.g. http://127.0.0.1:9464); versions only, so no file list
  --against DIR    another destinations tree
  --ref REF        the same folder at a git ref (e.g. origin/main), read with git archive into a
                   temporary folder: the working tree is not touched

Lists destinations added, changed (version before and after, and the files when both sides are
trees), removed, and folders that fail validation (a daemon keeps their last good version); syncs
added (where each starts: its startAt, "new" by default), changed, removed, enabled or disabled;
and secret references new in DIR that this process's environment does not resolve (named, never
shown: run plan where the daemon runs, or with its environment, for this check to mean something).

  --format text    one line per change (default)
  --format json    the same as JSON, for scripts

Exit 0 when the plan is printed (whatever it holds), 1 when a side cannot be read, 2 on usage errors.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      daemon: { type: 'string' },
      against: { type: 'string' },
      ref: { type: 'string' },
      format: { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR\n\nusage: ${USAGE}`);
  const chosen = [values.daemon, values.against, values.ref].filter((value) => value !== undefined).length;
  if (chosen !== 1) throw new UsageError(`give exactly one of --daemon URL, --against DIR, --ref REF\n\nusage: ${USAGE}`);
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, not ${JSON.stringify(values.format)}`);
  const dir = positionals[0] ?? DEFAULT_DESTINATIONS_DIR;

  let before: PlanSide;
  try {
    if (values.daemon !== undefined) before = await fromDaemon(values.daemon);
    else if (values.against !== undefined) before = await treeSide(values.against, values.against, { resolveSecrets: false });
    else before = await gitRefSide(dir, values.ref!);
  } catch (error) {
    console.error(terminalText(printable(`destinations plan: ${(error as Error).message}`)));
    return 1;
  }
  const after = await treeSide(dir, dir, { resolveSecrets: true });
  const plan = planChanges(before, after);
  console.log(terminalText(values.format === 'json' ? JSON.stringify(plan, null, 2) : formatPlan(plan)));
  return 0;
}

async function fromDaemon(url: string): Promise<PlanSide> {
  const base = url.replace(/\/+$/, '').replace(/\/destinations$/, '');
  let body: unknown;
  try {
    const response = await request(`${base}/destinations`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    body = await response.body.json();
  } catch (error) {
    throw new Error(`cannot read the daemon's admin report at ${base}/destinations: ${(error as Error).message}`);
  }
  if (!validateAdminReport(body)) {
    const mismatches = describeSchemaErrors(validateAdminReport.errors ?? []).map(({ pointer, message }) => `${pointer || '/'}: ${message}`);
    throw new Error(`${base}/destinations is not the report this version reads (schema/admin-report.schema.json): ${mismatches.join('; ')}`);
  }
  return daemonSide(body, `the daemon at ${base}`);
}
