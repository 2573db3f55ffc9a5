// The daemon: connect, make sure the streams exist, load the destinations folder, run one
// SyncRunner per enabled sync; reload on request; drain and stop.
import { join } from 'node:path';
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { DaemonSettings } from './config/index.js';
import { InFlightGate, SyncRunner } from './consumer/index.js';
import { DEFAULT_SHARED_DECODES_MAX_BYTES, DEFAULT_SHARED_DECODES_MAX_ENTRIES } from './defaults.js';
import { SharedDecodes, type SharedDecodeCounts } from './events/index.js';
import type { Logger } from './log.js';
import { DeadLetterReader, maxPayloadOf } from './dead-letter/index.js';
import { RateShare, rateShareSubject } from './limit/index.js';
import { connectNats, ensureStreams, untilJetStreamAnswers, type NatsSession } from './nats/index.js';
import { formatProblem, loadDestinations, sameSyncTls, syncEgressHosts, syncTlsProblems, type LoadedDestination, type LoadedSync, type LoadProblem } from './registry/index.js';
import { HttpSender } from './send/index.js';
import { signingSecretProblems } from './signing/index.js';
import { SyncStats, type DaemonView, type DaemonViewSource } from './telemetry/index.js';

export class DestinationsInvalidError extends Error {
  override name = 'DestinationsInvalidError';
  constructor(readonly problems: LoadProblem[]) {
    super(`the destinations folder has errors:\n${problems.map((problem) => formatProblem(problem)).join('\n')}`);
  }
}

export interface ReloadResult {
  ok: boolean;
  rejected: string[];
  problems: LoadProblem[];
  started: string[];
  stopped: string[];
  kept: string[];
}

export class Daemon implements DaemonViewSource {
  private session: NatsSession | undefined;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private readonly sender: HttpSender;
  private destinations = new Map<string, LoadedDestination>();
  /** secretValues() of `of`, the destinations map it was worked out from (a reload replaces the map). */
  private secrets: { of: Map<string, LoadedDestination>; values: string[] } | undefined;
  readonly runners = new Map<string, SyncRunner>();
  /** Counters per sync id, kept across reloads (a replaced runner's tail still counts). */
  readonly syncStats = new Map<string, SyncStats>();
  /** In-flight gates per destination slug, shared by its syncs and kept across reloads. */
  private readonly gates = new Map<string, InFlightGate>();
  /** Which other daemons run the same syncs: each sync's limiter paces at its share of the rate. */
  private rateShare: RateShare | undefined;
  /** The running syncs' decoded events, shared (none with one sync); made again when a reload changes who runs. */
  private decodes: SharedDecodes | undefined;
  /** Shared decodes' hits and misses, for /metrics (kept across reloads). */
  readonly decodeCounts: SharedDecodeCounts = { hits: 0, misses: 0 };

  /** Reloads by result, for /metrics. */
  readonly reloads = { ok: 0, rejected: 0, failed: 0 };
  private reloading: Promise<ReloadResult> | undefined;
  readonly startedAt = new Date();
  lastReload: (ReloadResult & { at: Date }) | undefined;
  private stopping = false;
  /** The console's read of the DEAD stream, through this daemon's connection (newest first). */
  readonly deadLetters: DeadLetterReader;

  constructor(
    readonly settings: DaemonSettings,
    readonly log: Logger,
  ) {
    this.deadLetters = new DeadLetterReader(() => this.jsm, settings.stream.deadLetterStream);
    this.sender = new HttpSender({ connectTimeoutMs: settings.connectTimeoutMs, requestTimeoutMs: settings.requestTimeoutMs, allowedHosts: settings.egressAllowList });
  }

  /** Every secret value of every loaded sync, for the logger's redaction (asked on every log line,
   *  so worked out once per set of loaded destinations). */
  secretValues(): string[] {
    if (this.secrets?.of !== this.destinations) {
      const values = [...this.destinations.values()].flatMap((destination) => destination.syncs.flatMap((sync) => [...sync.parameters.secretValues]));
      this.secrets = { of: this.destinations, values };
    }
    return this.secrets.values;
  }

  /** Connected to NATS now (false while the connection is down and reconnecting). */
  get connected(): boolean {
    return this.session?.connected ?? false;
  }

  get loadedDestinations(): LoadedDestination[] {
    return [...this.destinations.values()];
  }

  /** The read model every view shows (/destinations, /metrics, `destinations status`). */
  view(): DaemonView {
    const connected = this.connected;
    const notConsuming: string[] = [];
    const destinations = this.loadedDestinations.map((destination) => ({
      slug: destination.slug,
      name: destination.definition.name,
      // For the console's catalog:
      category: destination.definition.category,
      summary: destination.definition.summary,
      logoFile: join(destination.dir, destination.definition.logo ?? 'logo.png'),
      version: destination.version,
      requests: { inFlight: this.gates.get(destination.slug)?.inFlight ?? 0, max: this.settings.maxInFlightPerDestination },
      syncs: destination.syncs.map((sync) => {
        const runner = this.runners.get(sync.id);
        if (sync.enabled && !runner) notConsuming.push(sync.id);
        return {
          id: sync.id,
          enabled: sync.enabled,
          running: runner !== undefined && runner.sync === sync,
          consumer: runner?.consumerName,
          egressHosts: syncEgressHosts(sync),
          parkedAt: runner?.parkedAt,
          limiter: runner?.limiterState,
          deadLettersFailingSince: runner?.deadLettersFailingSince,
          circuit: runner?.circuit,
          stats: this.syncStats.get(sync.id),
        };
      }),
    }));
    const disconnectedAt = this.session?.disconnectedAt;
    const deadLettersFailing = destinations.flatMap((destination) => destination.syncs.filter((sync) => sync.deadLettersFailingSince));
    const notReady = this.stopping
      ? 'stopping'
      : !this.session
        ? 'starting: not connected to NATS yet'
        : !connected
          ? `NATS disconnected${disconnectedAt ? ` since ${disconnectedAt.toISOString()}` : ''}`
          : notConsuming.length > 0
            ? `not consuming: ${notConsuming.join(', ')}`
            : deadLettersFailing.length > 0
              ? `dead letters cannot be written (the dead-letter stream refuses them) for ${deadLettersFailing.map((sync) => `${sync.id} since ${sync.deadLettersFailingSince!.toISOString()}`).join(', ')}`
              : undefined;
    return { startedAt: this.startedAt, connected, ready: notReady === undefined, notReady, reloads: this.reloads, lastReload: this.lastReload, sharedDecodes: this.decodeCounts, destinations };
  }

  consumerInfo(syncId: string): Promise<ConsumerInfo | undefined> {
    return this.runners.get(syncId)?.consumerInfo() ?? Promise.resolve(undefined);
  }

  async start(): Promise<void> {
    // Load first: a bad folder is fatal at start-up, before anything connects.
    const loaded = await loadDestinations(this.settings.destinationsDir, { resolveSecrets: true });
    const problems = [...loaded.problems.filter((problem) => problem.severity === 'error'), ...unresolvedSecretProblems(loaded.destinations)];
    if (problems.length > 0) throw new DestinationsInvalidError(problems);
    for (const destination of loaded.destinations) this.destinations.set(destination.slug, destination);
    this.secrets = undefined;
    this.log.info('loaded destinations', {
      destinations: loaded.destinations.map((destination) => ({ slug: destination.slug, version: destination.version, syncs: destination.syncs.map((sync) => sync.name) })),
    });

    this.session = await connectNats(this.settings.nats, this.log, this.settings.baseDir);
    this.js = jetstream(this.session.connection);
    // On a cluster in the middle of an election, JetStream answers "temporarily unavailable" or not
    // at all for a few seconds: wait that out (bounded) instead of failing the start.
    const connection = this.session.connection;
    this.jsm = await untilJetStreamAnswers(() => jetstreamManager(connection), { what: 'JetStream', log: this.log });
    await untilJetStreamAnswers(() => ensureStreams(this.jsm, this.settings.stream, this.log), { what: 'the streams', log: this.log });
    // Before the first runner: a sync's share of its rate limit is known before its first request.
    this.rateShare = new RateShare(
      this.session.connection,
      rateShareSubject(this.settings.stream.name),
      () => this.enabledSyncs().map((sync) => sync.id),
      (shares) => {
        for (const [id, share] of shares) this.runners.get(id)?.shareRate(share);
      },
      this.log,
    );
    await this.rateShare.start();
    const enabled = this.enabledSyncs();
    this.decodes = this.sharedDecodes(enabled.length);
    for (const sync of enabled) await this.startRunner(sync);
    this.log.info('daemon ready', { syncs: [...this.runners.keys()] });
  }

  private enabledSyncs(): LoadedSync[] {
    return [...this.destinations.values()].flatMap((destination) => destination.syncs.filter((sync) => sync.enabled));
  }

  /** Syncs on one stream decode each event once between them; a sync alone has no cache at all. */
  private sharedDecodes(readers: number): SharedDecodes | undefined {
    if (readers < 2) return undefined;
    return new SharedDecodes({ readers, maxEntries: DEFAULT_SHARED_DECODES_MAX_ENTRIES, maxBytes: DEFAULT_SHARED_DECODES_MAX_BYTES, counts: this.decodeCounts });
  }

  private async startRunner(sync: LoadedSync): Promise<void> {
    let stats = this.syncStats.get(sync.id);
    if (!stats) this.syncStats.set(sync.id, (stats = new SyncStats()));
    let gate = this.gates.get(sync.destination.slug);
    if (!gate) this.gates.set(sync.destination.slug, (gate = new InFlightGate(this.settings.maxInFlightPerDestination)));
    const connection = this.session!.connection;
    const runner = new SyncRunner(sync, {
      js: this.js,
      jsm: this.jsm,
      settings: this.settings,
      sender: this.sender,
      log: this.log,
      stats,
      gate,
      maxPayload: maxPayloadOf(connection),
      decodes: this.decodes,
    });
    if (this.rateShare) runner.shareRate(this.rateShare.shareOf(sync.id));
    await runner.start();
    this.runners.set(sync.id, runner);
  }

  /** Re-reads the destinations folder. A folder with errors keeps its last good version; a changed
   *  sync's old runner stops pulling and finishes what it has while the new one takes over. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload()
      .then(
        (result) => {
          this.reloads[result.ok ? 'ok' : 'rejected'] += 1;
          return result;
        },
        (error: unknown) => {
          this.reloads.failed += 1;
          throw error;
        },
      )
      .finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    const loaded = await loadDestinations(this.settings.destinationsDir, { resolveSecrets: true });
    const secretProblems = unresolvedSecretProblems(loaded.destinations);
    const badSlugs = new Set([...loaded.rejected, ...secretProblems.map((problem) => slugOfProblem(problem, loaded.destinations))]);
    const next = new Map<string, LoadedDestination>();
    for (const destination of loaded.destinations) if (!badSlugs.has(destination.slug)) next.set(destination.slug, destination);
    // A rejected folder keeps its last good version.
    for (const slug of badSlugs) {
      const previous = this.destinations.get(slug);
      if (previous) next.set(slug, previous);
    }
    const result: ReloadResult = { ok: badSlugs.size === 0, rejected: [...badSlugs], problems: [...loaded.problems, ...secretProblems], started: [], stopped: [], kept: [] };
    const wanted = new Map<string, LoadedSync>();
    for (const destination of next.values()) for (const sync of destination.syncs) if (sync.enabled) wanted.set(sync.id, sync);

    for (const [id, runner] of this.runners) {
      const replacement = wanted.get(id);
      if (replacement && sameSync(runner.sync, replacement)) {
        result.kept.push(id);
        continue;
      }
      this.runners.delete(id);
      result.stopped.push(id);
      // In-flight deliveries of the old version finish in the background; nothing is dropped.
      void runner.drain(this.settings.drainTimeoutMs).catch((error) => this.log.error('draining an old sync failed', { sync: id, error }));
    }
    this.destinations = next;
    // Who reads the stream changed: a new cache counts the readers, and the old one goes with the old runners.
    if (result.stopped.length > 0 || [...wanted.keys()].some((id) => !this.runners.has(id))) {
      this.decodes = this.sharedDecodes(wanted.size);
      for (const runner of this.runners.values()) runner.shareDecodes(this.decodes);
    }
    for (const [id, sync] of wanted) {
      if (this.runners.has(id)) continue;
      await this.startRunner(sync);
      result.started.push(id);
    }
    // The other daemons learn which syncs this one runs now (their shares of the rate follow).
    this.rateShare?.announce();
    this.lastReload = { ...result, at: new Date() };
    if (result.ok) this.log.info('reloaded destinations', { started: result.started, stopped: result.stopped, kept: result.kept.length });
    else this.log.error('reload rejected some destinations; their last good version keeps running', { rejected: result.rejected, problems: result.problems.map((problem) => formatProblem(problem)) });
    return result;
  }

  /** Stops pulling everywhere, lets in-flight deliveries finish within the drain bound, releases
   *  the rest back to JetStream, and closes the connection. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // The others take this daemon's share of the rate limits back at once.
    await this.rateShare?.stop();
    this.log.info('stopping: draining in-flight deliveries', { drainTimeoutMs: this.settings.drainTimeoutMs });
    await Promise.all([...this.runners.values()].map((runner) => runner.drain(this.settings.drainTimeoutMs)));
    this.runners.clear();
    await this.sender.close();
    await this.session?.close();
    this.log.info('stopped');
  }
}

function sameSync(a: LoadedSync, b: LoadedSync): boolean {
  return a.destination.version === b.destination.version && JSON.stringify(a.definition) === JSON.stringify(b.definition) && sameSecrets(a, b) && sameSyncTls(a, b);
}

function sameSecrets(a: LoadedSync, b: LoadedSync): boolean {
  return a.parameters.secretValues.length === b.parameters.secretValues.length && a.parameters.secretValues.every((value, index) => value === b.parameters.secretValues[index]);
}

/** The daemon cannot run a sync whose secret or CA bundle it cannot read: that is an error of its folder. */
function unresolvedSecretProblems(destinations: LoadedDestination[]): LoadProblem[] {
  return destinations.flatMap((destination) =>
    destination.syncs
      .filter((sync) => sync.enabled)
      .flatMap((sync) =>
        [...sync.parameters.unresolved]
          .map(([name, why]): LoadProblem => ({ file: sync.file, severity: 'error', pointer: `/parameters/${name}`, message: `secret parameter ${name}: ${why}` }))
          .concat(syncTlsProblems(sync), signingSecretProblems(sync)),
      ),
  );
}

function slugOfProblem(problem: LoadProblem, destinations: LoadedDestination[]): string {
  return destinations.find((destination) => problem.file.startsWith(destination.dir))?.slug ?? problem.file;
}
