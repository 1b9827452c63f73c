/**
 * The journal's retention (`brain.retention`, default 90 days): deliveries older than that
 * whose every decision is finished, the finished decisions (queued or started in Jenkins)
 * older than that with their links and attempts, and commit → branch routes older than that
 * are deleted, so a long-running brain's store (and /metrics' scans, and a backup of the
 * store, which also holds the landing queue) stops growing with its history.
 *
 * Never deleted: a decision still pending or sending, and a delivery linked to one (its id
 * must stay a duplicate while its decision may still be sent; see journal.ts). Once a
 * delivery is deleted a redelivery of its id would be accepted as new: the retention is at
 * least the forges' redelivery windows (config.ts RETENTION_MIN_MS). PR → base routes are
 * kept (one row per PR, its newest; each pull_request event learns it again). Commit →
 * branch routes go after 90 days whatever the retention: with `forever` too, the rounds then
 * delete those only.
 *
 * Off the intake path: the deletes run in a worker thread (retention-worker.ts) with a
 * connection of its own, in transactions of at most `batchRows` rows (100: ~2 ms of the
 * write lock at the median on a journal of 120,000 deliveries, where 500 took ~9 ms), one batch at a time, the next only after a pause and not
 * while webhooks arrive less than 50 ms apart (each of them waits for the journal's group
 * commit, which would wait for the lock). The intake thread only runs the check that finds
 * nothing to do (index lookups) at start and every `intervalMs` (5 minutes). A failure
 * is logged and retried at the next round; it never stops the brain.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../core/index.js';
import type { Db } from '../store/index.js';
import { brainWorker, stopWorker } from './module-worker.js';

const DAY_MS = 86_400_000;
/** Commit → branch routes go after 90 days anyway, also with `forever` (one row per pushed commit: they would pile up). */
const ROUTE_MAX_MS = 90 * DAY_MS;
/** A pending decision made up to this long after the cutoff keeps its deliveries (clock steps). */
const CLOCK_MARGIN_MS = DAY_MS;

export const RETENTION_DEFAULTS = {
  /** Rows deleted in one transaction at most. */
  batchRows: 100,
  /** Between two batches of one round. */
  pauseMs: 25,
  /** Between rounds. */
  intervalMs: 5 * 60_000,
  /** Webhooks closer together than this are a burst: the next batch waits for a gap. */
  burstGapMs: 50,
  /** ...but not longer than this (a steady flood would otherwise stop the retention). */
  maxDeferMs: 2_000,
};

export interface PurgeCounts {
  deliveries: number;
  links: number;
  triggers: number;
  attempts: number;
  routes: number;
}

/** Where the last batch stopped in the rows it keeps (old deliveries of pending decisions, PR routes). */
export interface PurgeCursor {
  delivery: [at: number, rowid: number];
  route: [at: number, rowid: number];
}

export interface PurgeRequest {
  /** Received, due or learnt before this (ms since the epoch): old enough to go. */
  cutoff: number;
  /** Commit → branch routes learnt before this go. */
  routeCutoff: number;
  rows: number;
  cursor: PurgeCursor;
}

export interface PurgeResult extends PurgeCounts {
  /** Whether a batch stopped at its limit: call again with `cursor`. */
  more: boolean;
  cursor: PurgeCursor;
  /** How long the batch held the write transaction. */
  ms: number;
}

export const START_CURSOR: PurgeCursor = { delivery: [-Infinity, 0], route: [-Infinity, 0] };

export function zeroCounts(): PurgeCounts {
  return { deliveries: 0, links: 0, triggers: 0, attempts: 0, routes: 0 };
}

/** The deletes of one batch, on one connection (the worker's; inline for a store in memory). */
export class Purger {
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      // On brain_triggers_due (state, next_at): next_at >= created_at, so these were also made before the cutoff.
      finished: db.prepare(`SELECT id FROM brain_triggers WHERE state = ? AND next_at < ? ORDER BY next_at LIMIT ?`).pluck(),
      links: db.prepare(`DELETE FROM brain_trigger_deliveries WHERE rowid IN (SELECT rowid FROM brain_trigger_deliveries WHERE trigger_id = ? LIMIT ?)`),
      attempts: db.prepare(`DELETE FROM brain_attempts WHERE rowid IN (SELECT rowid FROM brain_attempts WHERE trigger_id = ? LIMIT ?)`),
      trigger: db.prepare(`DELETE FROM brain_triggers WHERE id = ? AND state IN ('queued', 'started')`),
      // A delivery is linked only to decisions made at or before its arrival: those of an old
      // delivery were made before the cutoff. Pending ones are few (the backlog).
      blocked: db.prepare(
        `SELECT l.source || char(10) || l.delivery_id FROM brain_triggers t JOIN brain_trigger_deliveries l ON l.trigger_id = t.id
         WHERE t.state IN ('pending', 'sending') AND t.created_at < ?`,
      ).pluck(),
      deliveries: db.prepare(
        `SELECT rowid, source, delivery_id AS id, received_at AS at FROM brain_deliveries
         WHERE received_at < ? AND (received_at, rowid) > (?, ?) ORDER BY received_at, rowid LIMIT ?`,
      ),
      delivery: db.prepare(`DELETE FROM brain_deliveries WHERE rowid = ?`),
      routes: db.prepare(
        `SELECT rowid, key, learnt_at AS at FROM brain_routes WHERE learnt_at < ? AND (learnt_at, rowid) > (?, ?) ORDER BY learnt_at, rowid LIMIT ?`,
      ),
      route: db.prepare(`DELETE FROM brain_routes WHERE rowid = ?`),
    };
  }

  /**
   * Whether anything may be old enough to go (index lookups, on the intake thread). The
   * routes' look steps over the PR routes learnt before `routeCutoff` (one per PR not seen
   * for that long) once: `prSeen` remembers how far they go, and the next look starts there
   * (measured with 10,000 such PR routes: 1.8 ms the first time, then ~0.1 ms; 100,000: 27 ms,
   * then ~0.2 ms). Sound because a route only ever gets newer (learnt again, it moves to
   * now), so no commit route can appear among the rows already looked at.
   */
  static hasWork(db: Db, cutoff: number, routeCutoff: number, prSeen: { at: number; rowid: number }): boolean {
    if (
      db.prepare(`SELECT 1 FROM brain_deliveries WHERE received_at < ? LIMIT 1`).get(cutoff) ??
      db.prepare(`SELECT 1 FROM brain_triggers WHERE state = 'queued' AND next_at < ? LIMIT 1`).get(cutoff) ??
      db.prepare(`SELECT 1 FROM brain_triggers WHERE state = 'started' AND next_at < ? LIMIT 1`).get(cutoff)
    ) {
      return true;
    }
    if (db.prepare(`SELECT 1 FROM brain_routes WHERE learnt_at < ? AND (learnt_at, rowid) > (?, ?) AND key LIKE 'rev:%' LIMIT 1`).get(routeCutoff, prSeen.at, prSeen.rowid)) return true;
    // None: every route before the cutoff is a PR route (a route learnt meanwhile is learnt now, after it).
    const last = db.prepare(`SELECT learnt_at AS at, rowid FROM brain_routes WHERE learnt_at < ? ORDER BY learnt_at DESC, rowid DESC LIMIT 1`).get(routeCutoff) as { at: number; rowid: number } | undefined;
    if (last) Object.assign(prSeen, last);
    return false;
  }

  /** One transaction: at most `rows` rows deleted, and as many kept rows looked at. */
  batch(request: PurgeRequest): PurgeResult {
    const started = performance.now();
    const out = this.db.transaction(() => this.run(request)).immediate();
    return { ...out, ms: performance.now() - started };
  }

  private run({ cutoff, routeCutoff, rows, cursor }: PurgeRequest): Omit<PurgeResult, 'ms'> {
    const n = zeroCounts();
    let budget = rows;
    let more = false;
    // Finished decisions, with their links and attempts first (foreign keys).
    triggers: for (const state of ['queued', 'started']) {
      for (const id of this.s.finished.all(state, cutoff, budget) as string[]) {
        const links = this.s.links.run(id, budget).changes;
        n.links += links;
        budget -= links;
        if (budget <= 0) {
          more = true;
          break triggers;
        }
        const attempts = this.s.attempts.run(id, budget).changes;
        n.attempts += attempts;
        budget -= attempts;
        if (budget <= 0) {
          more = true;
          break triggers;
        }
        n.triggers += this.s.trigger.run(id).changes;
        if (--budget <= 0) {
          more = true;
          break triggers;
        }
      }
    }
    const next: PurgeCursor = { delivery: cursor.delivery, route: cursor.route };
    if (budget > 0) {
      const rowsSeen = this.s.deliveries.all(cutoff, ...cursor.delivery, rows) as { rowid: number; source: string; id: string; at: number }[];
      // In this transaction, so no decision can be made or taken between this and the deletes.
      const blocked = new Set(rowsSeen.length ? (this.s.blocked.all(cutoff + CLOCK_MARGIN_MS) as string[]) : []);
      for (const d of rowsSeen) {
        if (budget <= 0) break;
        next.delivery = [d.at, d.rowid];
        if (blocked.has(`${d.source}\n${d.id}`)) continue;
        n.deliveries += this.s.delivery.run(d.rowid).changes;
        budget--;
      }
      if (rowsSeen.length === rows || budget <= 0) more = true;
    }
    if (budget > 0) {
      const rowsSeen = this.s.routes.all(routeCutoff, ...cursor.route, rows) as { rowid: number; key: string; at: number }[];
      for (const r of rowsSeen) {
        if (budget <= 0) break;
        next.route = [r.at, r.rowid];
        if (!r.key.startsWith('rev:')) continue;
        n.routes += this.s.route.run(r.rowid).changes;
        budget--;
      }
      if (rowsSeen.length === rows || budget <= 0) more = true;
    }
    return { ...n, more, cursor: next };
  }
}

export interface RetentionOptions {
  /** The intake thread's connection: the cheap check, and the deletes themselves for a store in memory. */
  db: Db;
  storePath: string;
  /** ms; null (`forever`): keep everything but the commit → branch routes older than 90 days. */
  retentionMs: number | null;
  log: Logger;
  /** performance.now() of the last delivery handed to the journal. */
  lastDeliveryAt: () => number;
  /** Called with what each round deleted (for /metrics). */
  onPurged?: (counts: PurgeCounts) => void;
  now?: () => number;
  batchRows?: number;
  pauseMs?: number;
  intervalMs?: number;
}

export interface Retention {
  /** Runs a round now (after the one under way, if any); resolves with what it deleted. */
  runNow(): Promise<PurgeCounts>;
  /** Rounds finished so far, with and without deletions. */
  readonly rounds: number;
  stop(): Promise<void>;
}

type FromWorker = { t: 'ready' } | { t: 'failed'; error: string } | { t: 'done'; id: number; result: PurgeResult } | { t: 'error'; id: number; error: string };


/** Batches on the worker thread, one at a time. */
class WorkerBatches {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private waiting: { id: number; resolve(r: PurgeResult): void; reject(e: Error): void } | undefined;
  private nextId = 1;
  private dead: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(storePath: string) {
    this.worker = brainWorker(import.meta.url, 'retention-worker', { storePath });
    this.worker.unref();
    let ready!: { resolve(): void; reject(e: Error): void };
    this.ready = new Promise<void>((resolve, reject) => (ready = { resolve, reject }));
    const fail = (error: Error) => {
      if (this.dead) return;
      this.dead = error;
      ready.reject(error);
      this.waiting?.reject(error);
      this.waiting = undefined;
    };
    this.worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') ready.resolve();
      else if (m.t === 'failed') fail(new Error(m.error));
      else if (this.waiting?.id === m.id) {
        const w = this.waiting;
        this.waiting = undefined;
        if (m.t === 'done') w.resolve(m.result);
        else w.reject(new Error(m.error));
      }
    });
    this.worker.on('error', (e) => fail(e));
    this.exited = new Promise<void>((resolve) =>
      this.worker.once('exit', (code) => {
        fail(new Error(`the retention worker exited with code ${code}`));
        resolve();
      }),
    );
  }

  get failed(): boolean {
    return this.dead !== undefined;
  }

  /** One batch; the worker keeps the process alive while it is under way (idle, it does not). */
  async batch(request: PurgeRequest): Promise<PurgeResult> {
    this.worker.ref();
    try {
      await this.ready;
      if (this.dead) throw this.dead;
      return await new Promise<PurgeResult>((resolve, reject) => {
        const id = this.nextId++;
        this.waiting = { id, resolve, reject };
        this.worker.postMessage({ t: 'batch', id, request });
      });
    } finally {
      this.worker.unref();
    }
  }

  async stop(): Promise<void> {
    await stopWorker(this.worker, this.exited, { t: 'stop' });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the rounds: the first now, then every `intervalMs` (with `retentionMs` null too: see ROUTE_MAX_MS). */
export function startRetention(options: RetentionOptions): Retention {
  const { db, log, retentionMs } = options;
  const now = options.now ?? Date.now;
  const batchRows = options.batchRows ?? RETENTION_DEFAULTS.batchRows;
  const pauseMs = options.pauseMs ?? RETENTION_DEFAULTS.pauseMs;
  const intervalMs = options.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
  let stopped = false;
  let rounds = 0;
  let timer: NodeJS.Timeout | undefined;
  let worker: WorkerBatches | undefined;
  let current: Promise<PurgeCounts> = Promise.resolve(zeroCounts());
  const inline = options.storePath === ':memory:' ? new Purger(db) : undefined;
  /** The PR routes hasWork has looked at (see there). */
  const prSeen = { at: -Infinity, rowid: 0 };

  const batch = (request: PurgeRequest): Promise<PurgeResult> => {
    if (inline) return Promise.resolve(inline.batch(request));
    if (!worker || worker.failed) worker = new WorkerBatches(options.storePath);
    return worker.batch(request);
  };

  /** Until webhooks have paused for a burst gap, or maxDeferMs. */
  const gap = async () => {
    const since = performance.now();
    while (!stopped && performance.now() - options.lastDeliveryAt() < RETENTION_DEFAULTS.burstGapMs && performance.now() - since < RETENTION_DEFAULTS.maxDeferMs) {
      await sleep(RETENTION_DEFAULTS.burstGapMs);
    }
  };

  async function round(): Promise<PurgeCounts> {
    const total = zeroCounts();
    if (stopped) return total;
    const at = now();
    // forever: nothing is old enough but the commit → branch routes.
    const cutoff = retentionMs === null ? -Infinity : at - retentionMs;
    const routeCutoff = at - Math.min(retentionMs ?? ROUTE_MAX_MS, ROUTE_MAX_MS);
    const t0 = performance.now();
    let batches = 0;
    let longest = 0;
    try {
      if (!Purger.hasWork(db, cutoff, routeCutoff, prSeen)) return total;
      let cursor = START_CURSOR;
      for (;;) {
        await gap();
        if (stopped) break;
        const r = await batch({ cutoff, routeCutoff, rows: batchRows, cursor });
        batches++;
        longest = Math.max(longest, r.ms);
        for (const k of Object.keys(total) as (keyof PurgeCounts)[]) total[k] += r[k];
        cursor = r.cursor;
        if (!r.more) break;
        await sleep(pauseMs);
      }
    } catch (error) {
      log.warn('journal retention failed: retried at the next round', { error: (error as Error).message, retryInMs: intervalMs });
    } finally {
      rounds++;
    }
    const deleted = total.deliveries + total.links + total.triggers + total.attempts + total.routes;
    if (deleted) {
      log.info('journal retention: deleted what is older than brain.retention', {
        ...total,
        ...(retentionMs === null ? {} : { before: new Date(cutoff).toISOString() }),
        routesBefore: new Date(routeCutoff).toISOString(),
        batches,
        ...(stopped ? { interrupted: true } : {}),
        longestBatchMs: Math.round(longest * 10) / 10,
        ms: Math.round(performance.now() - t0),
      });
      options.onPurged?.(total);
    }
    return total;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runNow().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  const runNow = (): Promise<PurgeCounts> => (current = current.then(round, round));

  void runNow().finally(schedule);
  return {
    runNow,
    get rounds() {
      return rounds;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current.catch(() => undefined);
      await worker?.stop();
    },
  };
}
