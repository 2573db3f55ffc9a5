// Runs every compiled test file with node:test. Listing the files ourselves keeps `npm test`
// identical on Node 20 (directory arguments) and 22+ (glob arguments).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = dirname(fileURLToPath(import.meta.url));

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const only = process.argv.slice(2);
const files = findTests(testDir)
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort();
if (files.length === 0) {
  console.error(`no test files found under ${relative(process.cwd(), testDir)}`);
  process.exit(1);
}
// Files at once. node --test runs availableParallelism() - 1 by default: one at a time on two cores,
// where most files spend their time waiting on nats-server, child processes and sockets rather than
// computing (docs/decisions.md: "npm test in under 5 minutes"). TEST_CONCURRENCY=1 runs them one by
// one, e.g. to tell a slow file from a crowded machine. Node before 20.10 has no such flag.
const concurrency = process.env.TEST_CONCURRENCY ?? '3';
const [major, minor] = process.versions.node.split('.').map(Number);
const concurrencyFlag = major > 20 || (major === 20 && minor >= 10) ? [`--test-concurrency=${concurrency}`] : [];
// Files that hold a bound on time or throughput (a call's CPU time, a handback or a crash's redelivery within seconds, a
// handover's wait for an owed event bounded by ack_wait, one
// sync's pace or rate beside another's, a unit's readiness) run after the others, one at a time: on two cores
// beside two other files their figures measure the crowd, not the code.
const ALONE = ['render/filter-cost.test.js', 'daemon/lifecycle.test.js', 'daemon/routing.test.js', 'daemon/isolation.test.js', 'daemon/crash-order.test.js', 'daemon/handover-order.test.js', 'telemetry/systemd-unit.test.js'];
const alone = files.filter((file) => ALONE.some((name) => file.endsWith(name)));
const together = files.filter((file) => !alone.includes(file));
const run = (group: string[], flags: string[]) =>
  group.length === 0 ? 0 : (spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...flags, ...group], { stdio: 'inherit' }).status ?? 1);
const first = run(together, concurrencyFlag);
if (alone.length > 0) console.log(`\n# run alone, one at a time: ${alone.map((file) => relative(testDir, file)).join(', ')}`);
const second = run(alone, concurrencyFlag.length > 0 ? ['--test-concurrency=1'] : []);
process.exit(first !== 0 ? first : second);
