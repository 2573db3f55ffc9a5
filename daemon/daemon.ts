// The daemon: connect, make sure the streams exist, load the destinations folder, run one
// SyncRunner per enabled sync; reload on request; drain and stop.
import { join } from 'node:path';
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamClient, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { DaemonSettings } from './config/index.js';
import { Handovers, handoverSubject, InFlightGate, SyncRunner } from './consumer/index.js';
import { DEFAULT_SHARED_DECODES_MAX_BYTES, DEFAULT_SHARED_DECODES_MAX_ENTRIES } from './defaults.js';
import { SharedDecodes, type SharedDecodeCounts } from './events/index.js';
import type { Logger } from './log.js';
import { DeadLetterReader, maxPayloadOf } from './dead-letter/index.js';
import { RateShare, rateShareSubject } from './limit/index.js';
import { connectNats, ensureStreams, planStorage, StateRepair, untilJetStreamAnswers, type NatsSession, type StoragePlan } from './nats/index.js';
import { catalogFacts, formatProblem, loadDestinations, sameSyncTls, syncEgressHosts, syncTlsProblems, type LoadedDestination, type LoadedSync, type LoadProblem } from './registry/index.js';
import { HttpSender } from './send/index.js';
import { authSettingsProblems } from './auth/index.js';
import { SyncStats, type DaemonView, type DaemonViewSource } from './telemetry/index.js';
import type { GitopsView } from './gitops/index.js';

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
  /** ordering "user": what this daemon's runners and the other daemons' tell each other they hand back. */
  private handovers: Handovers | undefined;
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
  /** The branch of the config repository this daemon follows, when it follows one (set by the run path). */
  gitops: (() => GitopsView) | undefined;
  /** The console's read of the DEAD stream, through this daemon's connection (newest first). */
  readonly deadLetters: DeadLetterReader;
  /** What the dead-letter stream reserves, sized to the server's JetStream store at start. */
  storage: StoragePlan | undefined;
  /** When the events stream this daemon reads was made (a stream made again has another time). */
  private eventsCreated: string | undefined;
  /** Notices that NATS lost the streams or consumers, and makes them again. */
  private readonly repair: StateRepair;

  constructor(
    readonly settings: DaemonSettings,
    readonly log: Logger,
  ) {
    this.deadLetters = new DeadLetterReader(() => this.jsm, settings.stream.deadLetterStream);
    this.sender = new HttpSender({ connectTimeoutMs: settings.connectTimeoutMs, requestTimeoutMs: settings.requestTimeoutMs, allowedHosts: settings.egressAllowList });
    this.repair = new StateRepair({ repair: () => this.repairState(), connected: () => this.connected, log });
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
      logoFile: destination.logoFile,
      catalog: catalogFacts(destination),
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
          : this.repair.failing !== undefined
            ? this.repair.failing
            : notConsuming.length > 0
            ? `not consuming: ${notConsuming.join(', ')}`
            : deadLettersFailing.length > 0
              ? `dead letters cannot be written (the dead-letter stream refuses them) for ${deadLettersFailing.map((sync) => `${sync.id} since ${sync.deadLettersFailingSince!.toISOString()}`).join(', ')}`
              : this.repair.checking;
    return { startedAt: this.startedAt, connected, ready: notReady === undefined, notReady, reloads: this.reloads, lastReload: this.lastReload, sharedDecodes: this.decodeCounts, gitops: this.gitops?.(), destinations };
  }

  consumerInfo(syncId: string): Promise<ConsumerInfo | undefined> {
    return this.runners.get(syncId)?.consumerInfo() ?? Promise.resolve(undefined);
  }

  countAgedOut(syncId: string, consumer: ConsumerInfo, firstSeq: number): void {
    this.runners.get(syncId)?.countAgedOut(consumer, firstSeq);
  }

  async eventStreamInfo(): Promise<StreamInfo | undefined> {
    // Not connected yet (jsm is set once JetStream answers at start).
    if (this.jsm === undefined) return undefined;
    return this.jsm.streams.info(this.settings.stream.name);
  }

  async eventPublishedAt(seq: number): Promise<Date | undefined> {
    if (this.jsm === undefined) return undefined;
    const message = await this.jsm.streams.getMessage(this.settings.stream.name, { seq }).catch(() => null);
    return message?.time;
  }

  /** The errors that keep a destinations folder from running here: what start refuses and a reload
   *  rejects (schema, templates, secrets and CA bundles this environment cannot resolve). */
  async problemsOf(dir: string): Promise<LoadProblem[]> {
    const loaded = await loadDestinations(dir, { resolveSecrets: true, variables: this.settings.variables });
    return [...loaded.problems.filter((problem) => problem.severity === 'error'), ...unresolvedSecretProblems(loaded.destinations).values()].flat();
  }

  async start(): Promise<void> {
    // Load first: a bad folder is fatal at start-up, before anything connects.
    const loaded = await loadDestinations(this.settings.destinationsDir, { resolveSecrets: true, variables: this.settings.variables });
    const problems = [...loaded.problems.filter((problem) => problem.severity === 'error'), ...unresolvedSecretProblems(loaded.destinations).values()].flat();
    if (problems.length > 0) throw new DestinationsInvalidError(problems);
    for (const destination of loaded.destinations) this.destinations.set(destination.slug, destination);
    this.secrets = undefined;
    this.log.info('loaded destinations', {
      destinations: loaded.destinations.map((destination) => ({ slug: destination.slug, version: destination.version, syncs: destination.syncs.map((sync) => sync.name) })),
    });

    const session = (this.session = await connectNats(this.settings.nats, this.log, this.settings.baseDir, this.settings.file));
    try {
      await this.startOn(session);
    } catch (error) {
      // Nothing was taken yet: the process ends (a storage budget that does not fit, say) without a connection that reconnects forever.
      this.session = undefined;
      await session.close().catch(() => undefined);
      throw error;
    }
    this.log.info('daemon ready', { syncs: [...this.runners.keys()] });
  }

  /** Streams, then the rate share, then one runner per enabled sync. */
  private async startOn(session: NatsSession): Promise<void> {
    this.js = jetstream(session.connection);
    // On a cluster in the middle of an election, JetStream answers "temporarily unavailable" or not
    // at all for a few seconds: wait that out (bounded) instead of failing the start.
    const connection = session.connection;
    this.jsm = await untilJetStreamAnswers(() => jetstreamManager(connection), { what: 'JetStream', log: this.log });
    // The dead-letter stream's reservation must leave the events stream room: sized to the server.
    const storage = (this.storage = await untilJetStreamAnswers(() => planStorage(this.jsm, this.settings.stream, this.log), { what: 'the JetStream store', log: this.log }));
    const streams = await untilJetStreamAnswers(() => ensureStreams(this.jsm, this.settings.stream, this.log, { deadLetterMaxBytes: storage.deadLetterMaxBytes }), { what: 'the streams', log: this.log });
    this.eventsCreated = streams.events.created;
    // Made in this same start: a sync's new consumer starts at its first message, whatever its startAt
    // (events published between the two would otherwise be skipped).
    const streamJustMade = streams.created.includes(this.settings.stream.name);
    // A server may come back without its store: after each reconnect, check and make again what it lost.
    session.onReconnect(() => this.repair.check('reconnected to NATS', true));
    // Before the first runner: a sync's share of its rate limit is known before its first request.
    this.rateShare = new RateShare(
      session.connection,
      rateShareSubject(this.settings.stream.name),
      () => this.enabledSyncs().map((sync) => sync.id),
      (shares) => {
        for (const [id, share] of shares) this.runners.get(id)?.shareRate(share);
      },
      this.log,
    );
    await this.rateShare.start();
    this.handovers = new Handovers(session.connection, handoverSubject(this.settings.stream.name), this.settings.stream.ackWaitMs, this.log);
    this.handovers.start();
    const enabled = this.enabledSyncs();
    this.decodes = this.sharedDecodes(enabled.length);
    for (const sync of enabled) await this.startRunner(sync, streamJustMade);
  }

  private enabledSyncs(): LoadedSync[] {
    return [...this.destinations.values()].flatMap((destination) => destination.syncs.filter((sync) => sync.enabled));
  }

  /** Syncs on one stream decode each event once between them; a sync alone has no cache at all. */
  private sharedDecodes(readers: number): SharedDecodes | undefined {
    if (readers < 2) return undefined;
    return new SharedDecodes({ readers, maxEntries: DEFAULT_SHARED_DECODES_MAX_ENTRIES, maxBytes: DEFAULT_SHARED_DECODES_MAX_BYTES, counts: this.decodeCounts });
  }

  /**
   * Checks the streams and every running sync's consumer (and identify memory), making again what is
   * missing: a stream made again is read from its first message. Returns what it made (StateRepair logs it).
   */
  private async repairState(): Promise<string[]> {
    const streams = await ensureStreams(this.jsm, this.settings.stream, this.log, { deadLetterMaxBytes: this.storage?.deadLetterMaxBytes, onlyMissing: true });
    const made = streams.created.map((name) => `stream ${name}`);
    const replaced = streams.events.created !== this.eventsCreated;
    this.eventsCreated = streams.events.created;
    for (const runner of this.runners.values()) made.push(...(await runner.repair(replaced)));
    return made;
  }

  private async startRunner(sync: LoadedSync, streamJustMade = false): Promise<void> {
    let stats = this.syncStats.get(sync.id);
    if (!stats) this.syncStats.set(sync.id, (stats = new SyncStats()));
    let gate = this.gates.get(sync.destination.slug);
    if (!gate) this.gates.set(sync.destination.slug, (gate = new InFlightGate(this.settings.maxInFlightPerDestination, this.settings.maxInFlightPerSync)));
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
      lost: (why) => this.repair.check(why),
      handovers: this.handovers,
    });
    if (this.rateShare) runner.shareRate(this.rateShare.shareOf(sync.id));
    await runner.start(streamJustMade);
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
    const loaded = await loadDestinations(this.settings.destinationsDir, { resolveSecrets: true, variables: this.settings.variables });
    const secretProblemsBySlug = unresolvedSecretProblems(loaded.destinations);
    const secretProblems = [...secretProblemsBySlug.values()].flat();
    const badSlugs = new Set([...loaded.rejected, ...secretProblemsBySlug.keys()]);
    const next = new Map<string, LoadedDestination>();
    for (const destination of loaded.destinations) if (!badSlugs.has(destination.slug)) next.set(destination.slug, destination);
    // A rejected folder keeps its last good version.
    for (const slug of badSlugs) {
      const previous = this.destinations.get(slug);
      if (previous) next.set(slug, previous);
    }
    const result: ReloadResult = { ok: badSlugs.size === 0, rejected: [...badSlugs], problems: [...loaded.problems, ...secretProblems], started: [], stopped: [], kept: [] };
    const stopping: Array<Promise<unknown>> = [];
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
      // The replacement starts once the old one has stopped pulling and said what it still has
      // (ordering "user": the new one holds those users' later events until they are back).
      stopping.push(runner.stopPulling().catch(() => undefined));
    }
    await Promise.all(stopping);
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
    // No new checks; one running finds the runners stopping (their repair steps then do nothing).
    this.repair.stop();
    // The others take this daemon's share of the rate limits back at once.
    await this.rateShare?.stop();
    this.log.info('stopping: draining in-flight deliveries', { drainTimeoutMs: this.settings.drainTimeoutMs });
    await Promise.all([...this.runners.values()].map((runner) => runner.drain(this.settings.drainTimeoutMs)));
    this.runners.clear();
    await this.sender.close();
    this.handovers?.stop();
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

/** The daemon cannot run a sync whose secret or CA bundle it cannot read: that is an error of its
 *  folder. Keyed by the destination's slug, so a reload rejects exactly that folder (never guessed
 *  back from a file path: `hook` is a prefix of `hook-eu`). */
function unresolvedSecretProblems(destinations: LoadedDestination[]): Map<string, LoadProblem[]> {
  const bySlug = new Map<string, LoadProblem[]>();
  for (const destination of destinations) {
    const problems = destination.syncs
      .filter((sync) => sync.enabled)
      .flatMap((sync) =>
        [...sync.parameters.unresolved]
          .map(([name, why]): LoadProblem => ({ file: sync.file, severity: 'error', pointer: `/parameters/${name}`, message: `secret parameter ${name}: ${why}` }))
          .concat(syncTlsProblems(sync), authSettingsProblems(sync)),
      );
    if (problems.length > 0) bySlug.set(destination.slug, problems);
  }
  return bySlug;
}
