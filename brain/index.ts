/**
 * The brain: receives Launchpad and GitHub webhooks, journals them in the shared store,
 * turns them into Jenkins builds by the configured rules, and serves the status page.
 * It holds the webhook secrets and the Jenkins API token only: no forge write token.
 *
 * `startBrain()` is what `byoci brain` runs; tests start it in-process or as a child.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { BrainStartupError } from './errors.js';
import type { Logger } from '../core/index.js';
import { openStore, type Db, type Migration } from '../store/index.js';
import { BRAIN_SECRETS, type BrainConfig, type SourceName } from './config.js';
import { startCheckpointer } from './checkpoint.js';
import { BRAIN_MIGRATIONS, JournalReader, journalCounts, type AcceptResult, type JournalCounts } from './journal.js';
import { startCountsReader } from './counts-reader.js';
import { startRetention, type PurgeCounts, type RetentionOptions } from './retention.js';
import { startJournalThread } from './journal-client.js';
import { createWriter, writerHealth, type JournalHealth } from './writer.js';
import type { BrainEvent } from './events.js';
import { Counters, exposition, labelText, type Metric } from './metrics.js';
import { decide } from './rules.js';
import { createBrainServer } from './server.js';
import { brainStatsFromEnv, type BrainStats } from './stats.js';
import { QUEUE_MIGRATIONS } from '../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../core/test-report/index.js';
import { readQueue, type QueueViewOptions } from './status/queue.js';
import { statusView } from './status/source.js';
import type { StatusView } from './status/view.js';

export { BRAIN_MIGRATIONS } from './journal.js';
export { brainConfigSchema, BRAIN_SECRETS, type BrainConfig } from './config.js';
export { renderStatusPage } from './status/html.js';
export { statusView } from './status/source.js';
export type { QueueViewOptions } from './status/queue.js';
export type { StatusView } from './status/view.js';

export { BrainStartupError } from './errors.js';
export { checkStoreWritable, dropPrivileges, resolveAccount, type Account } from './privileges.js';

export interface BrainSecrets {
  github?: string;
  launchpad?: string;
  jenkinsToken?: string;
}

export interface StartBrainOptions {
  config: BrainConfig;
  /** Absolute path of the shared store. */
  storePath: string;
  secrets: BrainSecrets;
  log: Logger;
  /** How the queue's part of the page is read (history, failing tests, flakes). */
  queue?: QueueViewOptions;
  /** Other features' migrations to apply too (the store is shared). */
  migrations?: readonly Migration[];
  /** A socket already bound (bindBrain), e.g. before dropping root; else brain.listen is bound here. */
  listener?: NetServer;
  /** The journal retention's pace and clock (tests; brain.retention says how long). */
  retention?: Pick<RetentionOptions, 'batchRows' | 'pauseMs' | 'intervalMs' | 'now'>;
}

/** Binds brain.listen; the brain's HTTP server takes the socket over (startBrain `listener`). */
export async function bindBrain(listen: BrainConfig['listen']): Promise<NetServer> {
  const socket = createNetServer();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new BrainStartupError(`cannot listen on ${listen.host}:${listen.port}: ${error.code ?? error.message}`)));
    socket.listen(listen.port, listen.host, () => resolve());
  });
  return socket;
}

export interface Brain {
  url: string;
  /** The intake thread's connection to the store. */
  db: Db;
  /** The journal's rows. */
  journal: Pick<JournalReader, 'trigger' | 'recentTriggers'>;
  dispatcher: { idle(): Promise<void> };
  /** brain.retention's rounds (retention.ts): `runNow` runs one and says what it deleted. */
  retention: { runNow(): Promise<PurgeCounts> };
  status(): StatusView;
  close(): Promise<void>;
}

/** Every secret the config needs, or a startup error naming each missing one. */
export function checkSecrets(config: BrainConfig, secrets: BrainSecrets): void {
  const missing: string[] = [];
  for (const source of config.sources) if (!secrets[source]) missing.push(BRAIN_SECRETS[source]);
  if (!secrets.jenkinsToken) missing.push(BRAIN_SECRETS.jenkins);
  if (missing.length) {
    throw new BrainStartupError(
      `missing secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: the brain never accepts unsigned webhooks (set with \`byoci secrets set ${missing[0]}\`)`,
    );
  }
}

/** What the HTTP server needs of the journal and the dispatcher, on this thread or on the journal thread. */
interface Engine {
  accept(event: BrainEvent, bodyBytes: number): Promise<AcceptResult>;
  health(): Promise<JournalHealth>;
  idle(): Promise<void>;
  journal: Pick<JournalReader, 'trigger' | 'recentTriggers'>;
  /**
   * performance.now(), on this thread, of the last delivery handed to accept (the retention's
   * batches wait for a gap in the webhooks). On one thread it is the Journal's own field, which
   * the dispatcher reads too (it yields to a burst). With the journal thread, that field lives
   * on the other thread, in its performance.now() (a worker's clock starts with the worker):
   * the journal client records its own when it hands a delivery over.
   */
  lastDeliveryAt(): number;
  /** Starts the dispatcher (after the server listens). */
  start(): void;
  close(): Promise<void>;
  readonly failure?: Error | undefined;
}

/** The journal, the dispatcher and the WAL checkpoint worker on this thread (the default). */
function localEngine(db: Db, options: StartBrainOptions, counters: Counters, stats: BrainStats | undefined): Engine {
  const { config, log } = options;
  const checkpointer = options.storePath === ':memory:' ? undefined : startCheckpointer(db, options.storePath, { log: log.child('store') });
  const writer = createWriter({
    db,
    config,
    jenkinsToken: options.secrets.jenkinsToken as string,
    log: (part) => log.child(part),
    onOutcome: (job, outcome) => counters.inc('byoci_brain_triggers_total', { job, outcome }),
    stats,
  });
  const { journal, jenkins, dispatcher: d } = writer;
  return {
    accept: (event, bodyBytes) => journal.accept(event, bodyBytes),
    health: async () => writerHealth(writer),
    idle: () => d.idle(),
    journal,
    lastDeliveryAt: () => journal.lastDeliveryAt,
    start() {
      d.start();
    },
    async close() {
      d.stop();
      await d.drain();
      jenkins.close();
      await journal.close();
      await checkpointer?.stop();
    },
  };
}

/**
 * BYOCI_BRAIN_THREADS=1 (an experiment, see README "Brain"): the journal, the dispatcher and
 * the WAL checkpoints on the journal thread (journal-thread.ts), this thread only reads.
 */
async function threadEngine(db: Db, options: StartBrainOptions, counters: Counters): Promise<Engine> {
  const { config } = options;
  if (options.storePath === ':memory:') throw new BrainStartupError('BYOCI_BRAIN_THREADS=1 needs the store on disk (store.path), not :memory: (the journal thread opens the same file)');
  const thread = await startJournalThread({
    storePath: options.storePath,
    config: { rules: config.rules, coalesce: config.coalesce, jenkins: config.jenkins },
    jenkinsToken: options.secrets.jenkinsToken as string,
    log: options.log,
    onOutcome: (job, outcome) => counters.inc('byoci_brain_triggers_total', { job, outcome }),
  });
  return {
    accept: (event, bodyBytes) => thread.accept(event, bodyBytes),
    health: () => thread.health(),
    idle: () => thread.idle(),
    journal: new JournalReader(db),
    lastDeliveryAt: () => thread.lastDeliveryAt,
    start() {}, // the thread starts its dispatcher once ready
    close: () => thread.close(),
    get failure() {
      return thread.failure;
    },
  };
}

export async function startBrain(options: StartBrainOptions): Promise<Brain> {
  const { config, log } = options;
  checkSecrets(config, options.secrets);
  const db = openStore(options.storePath, { migrations: [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS, ...(options.migrations ?? []), ...BRAIN_MIGRATIONS] });
  const counters = new Counters();
  const queueOptions = options.queue ?? {};
  const stats = brainStatsFromEnv();
  const threaded = process.env.BYOCI_BRAIN_THREADS === '1';
  let engine: Engine;
  try {
    engine = threaded ? await threadEngine(db, options, counters) : localEngine(db, options, counters, stats);
  } catch (error) {
    db.close();
    throw error;
  }
  const status = () => statusView(db, queueOptions);
  const countsReader = startCountsReader(db, options.storePath, log.child('metrics'));
  const secrets: Partial<Record<SourceName, string>> = {};
  for (const source of config.sources) secrets[source] = options.secrets[source] as string;
  const started = Date.now();
  const server = createBrainServer({
    journal: engine,
    secrets,
    maxBodyBytes: config.maxBodyBytes,
    log: log.child('http'),
    counters,
    status,
    metrics: async () => metricsText(db, counters, queueOptions, Date.now(), await countsReader.counts()),
    ...(stats ? { stats } : {}),
    health: async () => {
      const uptimeSeconds = Math.round((Date.now() - started) / 1000);
      if (engine.failure) return { ok: false, uptimeSeconds, error: engine.failure.message };
      const h = await engine.health();
      return { ok: !h.failure, uptimeSeconds, threads: threaded ? 2 : 1, inFlight: h.inFlight, nextDue: h.nextDue, ...(h.failure ? { error: h.failure } : {}), groupCommits: h.groupCommits };
    },
  });
  const listener = options.listener ?? (await bindBrain(config.listen).catch(async (error) => {
    await engine.close();
    await countsReader.stop();
    db.close();
    throw error;
  }));
  await new Promise<void>((resolve) => server.listen(listener, () => resolve()));
  engine.start();
  const retention = startRetention({
    db,
    storePath: options.storePath,
    retentionMs: config.retention,
    log: log.child('retention'),
    lastDeliveryAt: () => engine.lastDeliveryAt(),
    onPurged: (n) => {
      for (const [table, count] of Object.entries(n)) if (count) counters.inc('byoci_brain_purged_rows_total', { table }, count);
    },
    ...options.retention,
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/`;
  log.info('brain listening', { url, store: options.storePath, sources: config.sources.join(','), rules: config.rules.length, threads: threaded ? 2 : 1 });
  return {
    url,
    db,
    journal: engine.journal,
    dispatcher: { idle: () => engine.idle() },
    retention,
    status,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      await retention.stop();
      await engine.close();
      await countsReader.stop();
      db.close();
      stats?.stop();
    },
  };
}

/** /metrics: this process's counters plus gauges read from the store. */
export function metricsText(db: Db, counters: Counters, queueOptions: QueueViewOptions = {}, now = Date.now(), counts: JournalCounts = journalCounts(db)): string {
  const queue = readQueue(db, queueOptions);
  const metrics: Metric[] = [
    {
      name: 'byoci_brain_deliveries_total',
      help: 'Webhook deliveries answered by this process, by source and outcome (accepted, duplicate, ping, or the HTTP status of a refusal).',
      type: 'counter',
      samples: counters.series('byoci_brain_deliveries_total'),
    },
    {
      name: 'byoci_brain_journaled_deliveries',
      help: 'Deliveries in the journal, by source and event kind.',
      type: 'gauge',
      samples: counts.deliveries.map((d) => [labelText({ source: d.source, kind: d.kind }), d.count]),
    },
    {
      name: 'byoci_brain_triggers_total',
      help: 'Trigger attempts of this process, by job and outcome (queued, found: already in Jenkins, failed).',
      type: 'counter',
      samples: counters.series('byoci_brain_triggers_total'),
    },
    {
      name: 'byoci_brain_triggers',
      help: 'Trigger decisions in the journal, by job and state (pending, sending, queued, started).',
      type: 'gauge',
      samples: counts.triggers.map((t) => [labelText({ job: t.job, state: t.state }), t.count]),
    },
    {
      name: 'byoci_brain_trigger_failures',
      help: 'Failed trigger attempts in the journal, by job.',
      type: 'gauge',
      samples: counts.failedAttempts.map((f) => [labelText({ job: f.job }), f.count]),
    },
    {
      name: 'byoci_brain_purged_rows_total',
      help: 'Journal rows deleted by brain.retention in this process, by table (deliveries, links, triggers, attempts, routes).',
      type: 'counter',
      samples: counters.series('byoci_brain_purged_rows_total'),
    },
    {
      name: 'byoci_brain_oldest_pending_trigger_seconds',
      help: 'Age of the oldest trigger not yet accepted by Jenkins, by job.',
      type: 'gauge',
      samples: counts.triggers
        .filter((t) => (t.state === 'pending' || t.state === 'sending') && t.oldest !== null)
        .map((t) => [labelText({ job: t.job, state: t.state }), Math.max(0, (now - (t.oldest as number)) / 1000)]),
    },
    {
      name: 'byoci_queue_length',
      help: 'Proposals in the landing queue, by target.',
      type: 'gauge',
      samples: queue.targets.map((t) => [labelText({ target: t.key }), t.queue.length]),
    },
    {
      name: 'byoci_queue_wait_seconds',
      help: 'How long the longest-waiting queued proposal has waited, by target (0: none waiting).',
      type: 'gauge',
      samples: queue.targets.map((t) => {
        const queued = t.queue.filter((e) => e.state === 'queued').map((e) => Date.parse(e.since));
        const since = queued.length ? Math.min(...queued) : undefined;
        return [labelText({ target: t.key }), since !== undefined ? Math.max(0, (now - since) / 1000) : 0];
      }),
    },
  ];
  return exposition(metrics);
}
