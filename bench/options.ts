// The bench's command line: which scenarios, how many events, how long each window. See bench/README.md.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_REDIS_URL, redisTarget } from './redis-broker.js';

export const SCENARIOS = ['baseline', 'daemon', 'batched', 'fanout', 'latency', 'memory', 'rate', 'bullmq', 'ordering', 'ordering-failures', 'scaleout', 'ingest'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const USAGE = `usage: npm run bench -- [options]
  --quick                 about a minute: fewer events, shorter windows
  --events N              events pre-published for the throughput scenarios (default 100000; quick 20000)
  --repeat R              run the baseline/daemon (and BullMQ) rows R times, alternating, and keep the median (default 1)
  --only LIST             comma list of ${SCENARIOS.join(',')} (default all;
                          bullmq: the BullMQ peer, a job an event sent 1 or 100 a request (and 100 events a job, no target),
                          and its limiter; skipped when no Redis answers;
                          ordering-failures: ordering "user" beside an unordered sync while 2 % of the users' events fail
                          their first attempt, not part of the default run: name it)
                          scaleout: one daemon, then two on the same sync, 1 event a request, alternating with --repeat;
                          ingest: destinations ingest taking HTTP batches of 100 against publishing straight to NATS)
  --redis URL             the Redis the BullMQ peer uses (default ${DEFAULT_REDIS_URL}; a password goes in REDISCLI_AUTH;
                          keys under destinations-bench-<pid>:, removed at the end)
  --fanout LIST           sync counts for fan-out (default 1,10,50; quick 1,50)
  --fanout-seconds S      measuring window per fan-out case (default 10; quick 2)
  --latency-rate R        events/s for the latency case (default 2000)
  --latency-seconds S     (default 10; quick 2)
  --memory-events M       backlog for the memory case (default 1000000; quick 50000)
  --memory-seconds S      (default 15; quick 4)
  --rate-seconds S        rate-limit window (default 60; quick 6)
  --ordering-rate R       ordering-failures: events/s published (default 800)
  --ordering-users U      ordering-failures: users the events spread over (default 300; 2 % of them fail)
  --ordering-seconds S    ordering-failures: publishing time after a 5 s warm-up (default 150; quick 40)
  --profile               also run the daemon and baseline single scenarios under node --cpu-prof and summarise
  --experiments           also measure the issue's optimisations (baseline variants, scratch copies of the daemon)
  --experiment-events N   events per experiment (default 60000; quick 20000)
  --out FILE              JSON results (default bench/results/latest.json)`;

/** The run's options from the command line; --help prints the usage and exits, a bad value exits 2. */
export function readOptions(args: string[] = process.argv.slice(2)) {
  const { values: flags } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      repeat: { type: 'string' },
      only: { type: 'string' },
      fanout: { type: 'string' },
      'fanout-seconds': { type: 'string' },
      'latency-rate': { type: 'string' },
      'latency-seconds': { type: 'string' },
      'memory-events': { type: 'string' },
      'memory-seconds': { type: 'string' },
      'rate-seconds': { type: 'string' },
      'ordering-rate': { type: 'string' },
      'ordering-users': { type: 'string' },
      'ordering-seconds': { type: 'string' },
      profile: { type: 'boolean', default: false },
      experiments: { type: 'boolean', default: false },
      'experiment-events': { type: 'string' },
      out: { type: 'string' },
      redis: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (flags.help) {
    console.log(USAGE);
    process.exit(0);
  }

  const options = benchOptions(flags);
  const redis = redisTarget(options.redis);
  if (typeof redis === 'string') {
    console.error(`${redis}\n\n${USAGE}`);
    process.exit(2);
  }
  for (const name of options.only) {
    if (!SCENARIOS.includes(name)) {
      console.error(`--only: unknown scenario ${name}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  return options;
}

function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(parsed) || parsed <= 0) {
    console.error(`--${name} must be a positive number, got ${value}\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed;
}

function benchOptions(flags: Record<string, string | boolean | undefined>) {
  const quick = flags.quick === true;
  const text = (name: string) => flags[name] as string | undefined;
  return {
    quick,
    events: Math.round(numberFlag('events', text('events'), quick ? 20_000 : 100_000)),
    repeat: Math.round(numberFlag('repeat', text('repeat'), 1)),
    fanout: (text('fanout') ?? (quick ? '1,50' : '1,10,50')).split(',').map((value) => Math.round(numberFlag('fanout', value, 1))),
    fanoutSeconds: numberFlag('fanout-seconds', text('fanout-seconds'), quick ? 2 : 10),
    latencyRate: numberFlag('latency-rate', text('latency-rate'), 2_000),
    latencySeconds: numberFlag('latency-seconds', text('latency-seconds'), quick ? 2 : 10),
    memoryEvents: Math.round(numberFlag('memory-events', text('memory-events'), quick ? 50_000 : 1_000_000)),
    memorySeconds: numberFlag('memory-seconds', text('memory-seconds'), quick ? 4 : 15),
    rateSeconds: numberFlag('rate-seconds', text('rate-seconds'), quick ? 6 : 60),
    orderingRate: numberFlag('ordering-rate', text('ordering-rate'), 800),
    orderingUsers: Math.round(numberFlag('ordering-users', text('ordering-users'), 300)),
    orderingSeconds: numberFlag('ordering-seconds', text('ordering-seconds'), quick ? 40 : 150),
    profile: flags.profile === true,
    experiments: flags.experiments === true,
    experimentEvents: Math.round(numberFlag('experiment-events', text('experiment-events'), quick ? 20_000 : 60_000)),
    // ordering-failures runs minutes at a fixed rate: only when named.
    only: new Set<ScenarioName>((text('only')?.split(',') as ScenarioName[] | undefined) ?? SCENARIOS.filter((name) => name !== 'ordering-failures')),
    redis: text('redis') ?? DEFAULT_REDIS_URL,
    out: text('out') ?? fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url)),
  };
}

export type BenchOptions = ReturnType<typeof benchOptions>;

/** Issue 5: Braze's documented limit. */
export const RATE_LIMIT = { requests: 50_000, periodSeconds: 60 };
/** Longest a count-bounded throughput window may take. */
export const maxWindowSeconds = (options: BenchOptions) => (options.quick ? 15 : 60);

