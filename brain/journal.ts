/**
 * The brain's journal in the shared store (tables `brain_*`, migrations `brain-N`).
 *
 * - A delivery is accepted when its row is committed (WAL, synchronous=FULL): the HTTP
 *   answer waits for that commit. Deliveries arriving together share one transaction and
 *   one fsync (group commit: every write queued in one turn of the event loop).
 * - The trigger decisions a delivery leads to are written in the same transaction, so a
 *   delivery is never accepted without its decisions, nor decided twice (its id is the
 *   primary key: a redelivery is a duplicate).
 * - A land decision joins the target's pending trigger when there is one (a burst gives one
 *   build); the trigger becomes due once the target had no event for `coalesce` ms, at
 *   most 10 × `coalesce` after the burst's first event.
 * - The dispatcher journals each attempt before sending it and the outcome after
 *   (dispatcher.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/index.js';
import type { Db, Migration } from '../store/index.js';
import type { BrainEvent } from './events.js';
import type { Decision } from './rules.js';

export const BRAIN_MIGRATIONS: readonly Migration[] = [
  {
    id: 'brain-1',
    up(db) {
      db.exec(`
        CREATE TABLE brain_deliveries (
          source TEXT NOT NULL,
          delivery_id TEXT NOT NULL,
          name TEXT NOT NULL,
          kind TEXT NOT NULL,
          repo TEXT NOT NULL,
          summary TEXT NOT NULL,
          event_json TEXT NOT NULL,
          body_bytes INTEGER NOT NULL,
          received_at INTEGER NOT NULL,
          PRIMARY KEY (source, delivery_id)
        );
        CREATE INDEX brain_deliveries_received ON brain_deliveries (received_at);
        CREATE TABLE brain_triggers (
          id TEXT PRIMARY KEY,
          rule TEXT NOT NULL,
          job TEXT NOT NULL,
          params_json TEXT NOT NULL,
          coalesce_key TEXT,
          state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'queued', 'started')),
          events INTEGER NOT NULL DEFAULT 1,
          created_at INTEGER NOT NULL,
          next_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          sent_at INTEGER,
          queue_url TEXT,
          build_url TEXT,
          found_by TEXT
        );
        CREATE INDEX brain_triggers_due ON brain_triggers (state, next_at);
        CREATE INDEX brain_triggers_coalesce ON brain_triggers (coalesce_key, state);
        CREATE TABLE brain_trigger_deliveries (
          trigger_id TEXT NOT NULL REFERENCES brain_triggers (id),
          source TEXT NOT NULL,
          delivery_id TEXT NOT NULL,
          PRIMARY KEY (trigger_id, source, delivery_id)
        );
        CREATE INDEX brain_trigger_deliveries_delivery ON brain_trigger_deliveries (source, delivery_id);
        CREATE TABLE brain_attempts (
          trigger_id TEXT NOT NULL REFERENCES brain_triggers (id),
          attempt INTEGER NOT NULL,
          at INTEGER NOT NULL,
          outcome TEXT NOT NULL,
          detail TEXT NOT NULL,
          PRIMARY KEY (trigger_id, attempt)
        );
      `);
    },
  },
  {
    // What later events need but do not carry: a PR's base branch (issue_comment, check_run
    // name the PR only) and the branch a commit was pushed to (Launchpad ci:build names the
    // commit only). Learnt from the deliveries that do carry it; the latest delivery wins.
    id: 'brain-2',
    up(db) {
      db.exec(`
        CREATE TABLE brain_routes (
          source TEXT NOT NULL,
          repo TEXT NOT NULL,
          key TEXT NOT NULL,
          branch TEXT NOT NULL,
          delivery_id TEXT NOT NULL,
          learnt_at INTEGER NOT NULL,
          PRIMARY KEY (source, repo, key)
        );
        CREATE INDEX brain_routes_learnt ON brain_routes (learnt_at);
      `);
    },
  },
  {
    // Retries first (see Journal.due): their pending rows by due time, without a sort.
    id: 'brain-3',
    up(db) {
      db.exec(`CREATE INDEX brain_triggers_retry ON brain_triggers (next_at) WHERE state = 'pending' AND attempts > 0`);
    },
  },
];

/** Commit → branch routes older than this are forgotten (PR → base routes are kept). */
const REVISION_ROUTE_DAYS = 90;

export type TriggerState = 'pending' | 'sending' | 'queued' | 'started';

export interface TriggerRow {
  id: string;
  rule: string;
  job: string;
  params: Record<string, string>;
  coalesceKey: string | null;
  state: TriggerState;
  events: number;
  createdAt: number;
  nextAt: number;
  attempts: number;
  lastError: string | null;
  sentAt: number | null;
  queueUrl: string | null;
  buildUrl: string | null;
  foundBy: string | null;
}

interface RawTrigger {
  id: string;
  rule: string;
  job: string;
  params_json: string;
  coalesce_key: string | null;
  state: TriggerState;
  events: number;
  created_at: number;
  next_at: number;
  attempts: number;
  last_error: string | null;
  sent_at: number | null;
  queue_url: string | null;
  build_url: string | null;
  found_by: string | null;
}

function toRow(r: RawTrigger): TriggerRow {
  return {
    id: r.id,
    rule: r.rule,
    job: r.job,
    params: JSON.parse(r.params_json) as Record<string, string>,
    coalesceKey: r.coalesce_key,
    state: r.state,
    events: r.events,
    createdAt: r.created_at,
    nextAt: r.next_at,
    attempts: r.attempts,
    lastError: r.last_error,
    sentAt: r.sent_at,
    queueUrl: r.queue_url,
    buildUrl: r.build_url,
    foundBy: r.found_by,
  };
}

export type AcceptResult = { outcome: 'accepted'; triggers: string[] } | { outcome: 'duplicate' };

interface Op {
  run(): unknown;
  /** Must survive power loss before the promise settles (deliveries); else kill -9 is enough. */
  durable: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export interface JournalOptions {
  db: Db;
  /** Where a delivery's branch came from when the journal supplied it, or that it is unknown. */
  log?: Logger;
  /** The decisions of an event (rules.ts `decide` bound to the config). */
  decide(event: BrainEvent): Decision[];
  coalesceMs: number;
  now?: () => number;
  /** Called after each commit that added or joined triggers. */
  onTriggers?: () => void;
}

export class Journal {
  readonly db: Db;
  private readonly now: () => number;
  private ops: Op[] = [];
  /** performance.now() of the last delivery handed to accept() (the dispatcher yields to a burst). */
  lastDeliveryAt = -Infinity;
  private scheduled = false;
  private readonly statements;

  constructor(private readonly options: JournalOptions) {
    this.db = options.db;
    this.now = options.now ?? Date.now;
    const db = this.db;
    this.statements = {
      insertDelivery: db.prepare(
        `INSERT OR IGNORE INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at)
         VALUES (@source, @delivery, @name, @kind, @repo, @summary, @json, @bodyBytes, @at)`,
      ),
      findPending: db.prepare(`SELECT id FROM brain_triggers WHERE coalesce_key = ? AND state = 'pending' ORDER BY created_at LIMIT 1`),
      // A burst ends when its target has been quiet for `coalesce`, or 10 windows after it began.
      joinTrigger: db.prepare(
        `UPDATE brain_triggers SET events = events + 1, next_at = MIN(created_at + @max, MAX(next_at, @at + @window)) WHERE id = @id`,
      ),
      insertTrigger: db.prepare(
        `INSERT INTO brain_triggers (id, rule, job, params_json, coalesce_key, state, events, created_at, next_at)
         VALUES (@id, @rule, @job, @params, @key, 'pending', 1, @at, @due)`,
      ),
      link: db.prepare(`INSERT OR IGNORE INTO brain_trigger_deliveries (trigger_id, source, delivery_id) VALUES (?, ?, ?)`),
      take: db.prepare(`UPDATE brain_triggers SET state = 'sending', attempts = attempts + 1 WHERE id = ? AND state = 'pending'`),
      get: db.prepare(`SELECT * FROM brain_triggers WHERE id = ?`),
      attempt: db.prepare(`INSERT INTO brain_attempts (trigger_id, attempt, at, outcome, detail) VALUES (?, ?, ?, 'sending', '')`),
      queued: db.prepare(
        `UPDATE brain_triggers SET state = @state, sent_at = @at, queue_url = @queueUrl, build_url = @buildUrl, found_by = @foundBy, last_error = NULL WHERE id = @id`,
      ),
      outcome: db.prepare(`UPDATE brain_attempts SET outcome = ?, detail = ? WHERE trigger_id = ? AND attempt = ?`),
      failed: db.prepare(`UPDATE brain_triggers SET state = 'pending', next_at = ?, last_error = ? WHERE id = ?`),
      build: db.prepare(`UPDATE brain_triggers SET state = 'started', build_url = ? WHERE id = ? AND state IN ('queued', 'started')`),
      dueRetries: db.prepare(`SELECT * FROM brain_triggers WHERE state = 'pending' AND attempts > 0 AND next_at <= ? ORDER BY next_at LIMIT ?`),
      due: db.prepare(`SELECT * FROM brain_triggers WHERE state = 'pending' AND attempts = 0 AND next_at <= ? ORDER BY next_at LIMIT ?`),
      nextDue: db.prepare(`SELECT MIN(next_at) AS at FROM brain_triggers WHERE state = 'pending'`),
      learn: db.prepare(
        `INSERT INTO brain_routes (source, repo, key, branch, delivery_id, learnt_at) VALUES (@source, @repo, @key, @branch, @delivery, @at)
         ON CONFLICT (source, repo, key) DO UPDATE SET branch = excluded.branch, delivery_id = excluded.delivery_id, learnt_at = excluded.learnt_at`,
      ),
      route: db.prepare(`SELECT branch, delivery_id AS delivery FROM brain_routes WHERE source = ? AND repo = ? AND key = ?`),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
    };
  }

  /**
   * Group commit: `op` runs with every other write queued before the event loop's next
   * check phase in one transaction, and the promise settles once that transaction is
   * committed (fsync'ed when any op is durable). No timer: while a commit's fsync blocks
   * this thread the deliveries arriving meanwhile wait in the socket buffers, are read in
   * the next poll phase and all share the next commit.
   */
  write<T>(op: () => T, durable = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.ops.push({ run: op, durable, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every write queued since the last flush in one transaction. */
  flush(): void {
    this.scheduled = false;
    const ops = this.ops;
    this.ops = [];
    if (!ops.length) return;
    const started = performance.now();
    // Only the dispatcher's bookkeeping: committed without an fsync (it survives kill -9; a
    // power loss can only lose records the check-before-resend recovers). A later durable
    // commit fsyncs them too.
    const relaxed = !ops.some((op) => op.durable);
    if (relaxed) this.statements.syncNormal.run();
    let values: unknown[] | undefined;
    try {
      // Fast path: all ops in one transaction, no savepoint each.
      values = this.db.transaction(() => ops.map((op) => op.run())).immediate();
    } catch {
      values = undefined;
    } finally {
      if (relaxed) this.statements.syncFull.run();
    }
    if (values) {
      this.commits.observe(ops.length, performance.now() - started);
      ops.forEach((op, i) => op.resolve(values[i]));
      return;
    }
    // One op failed and rolled the whole batch back: each op alone, so only the failing one fails.
    for (const op of ops) {
      try {
        if (!op.durable) this.statements.syncNormal.run();
        op.resolve(this.db.transaction(op.run).immediate());
      } catch (error) {
        op.reject(error as Error);
      } finally {
        if (!op.durable) this.statements.syncFull.run();
      }
    }
  }

  /** Group commits so far: count, ops, time spent committing (for /metrics and the bench). */
  readonly commits = {
    count: 0,
    ops: 0,
    ms: 0,
    maxMs: 0,
    observe(ops: number, ms: number) {
      this.count++;
      this.ops += ops;
      this.ms += ms;
      if (ms > this.maxMs) this.maxMs = ms;
    },
  };

  /** Journals a delivery and its decisions; resolves once committed, with its triggers. */
  async accept(event: BrainEvent, bodyBytes: number): Promise<AcceptResult> {
    this.lastDeliveryAt = performance.now();
    const result = await this.write(() => this.acceptNow(event, bodyBytes));
    if (result.outcome === 'accepted' && result.triggers.length) this.options.onTriggers?.();
    return result;
  }

  /** Forgets commit → branch routes older than REVISION_ROUTE_DAYS (run at start). */
  pruneRoutes(now = this.now()): number {
    return this.db.prepare(`DELETE FROM brain_routes WHERE key LIKE 'rev:%' AND learnt_at < ?`).run(now - REVISION_ROUTE_DAYS * 86_400_000).changes;
  }

  /** Routes this event teaches: a PR's base branch, the branch each pushed commit went to. */
  private learn(e: BrainEvent, at: number): void {
    const repo = e.source === 'github' ? e.repo.toLowerCase() : (e.routeRepo ?? e.repo);
    const put = (key: string, branch: string) => this.statements.learn.run({ source: e.source, repo, key, branch, delivery: e.delivery, at });
    if (e.learns) for (const [key, branch] of Object.entries(e.learns)) put(key, branch);
  }

  /**
   * An event that names no branch but a PR (a comment, a check run) or a commit (a
   * Launchpad CI build): the branch learnt from an earlier delivery, else unchanged (its
   * rules then match every branch of the repository) and logged.
   */
  private route(e: BrainEvent): BrainEvent {
    if (e.branches.length || !e.routeBy || e.kind === 'ignored' || e.kind === 'ping') return e;
    const repo = e.source === 'github' ? e.repo.toLowerCase() : (e.routeRepo ?? e.repo);
    const found = this.statements.route.get(e.source, repo, e.routeBy) as { branch: string; delivery: string } | undefined;
    if (!found) {
      this.options.log?.info('no branch known for this delivery: rules of every branch of the repository apply', {
        source: e.source,
        delivery: e.delivery,
        repo: e.repo,
        key: e.routeBy,
      });
      return e;
    }
    return { ...e, branches: [found.branch], routedFrom: found.delivery };
  }

  private acceptNow(delivered: BrainEvent, bodyBytes: number): AcceptResult {
    const at = this.now();
    const e = this.route(delivered);
    const inserted = this.statements.insertDelivery.run({
      source: e.source,
      delivery: e.delivery,
      name: e.name,
      kind: e.kind,
      repo: e.repo,
      summary: e.summary,
      json: JSON.stringify(e),
      bodyBytes,
      at,
    });
    if (inserted.changes === 0) return { outcome: 'duplicate' };
    this.learn(e, at);
    const triggers: string[] = [];
    for (const d of this.options.decide(e)) {
      let id: string | undefined;
      if (d.coalesceKey) {
        id = (this.statements.findPending.get(d.coalesceKey) as { id: string } | undefined)?.id;
        if (id) this.statements.joinTrigger.run({ id, at, window: this.options.coalesceMs, max: 10 * this.options.coalesceMs });
      }
      if (!id) {
        id = randomUUID();
        this.statements.insertTrigger.run({
          id,
          rule: d.rule,
          job: d.job,
          params: JSON.stringify(d.params),
          key: d.coalesceKey ?? null,
          at,
          due: d.coalesceKey ? at + this.options.coalesceMs : at,
        });
      }
      this.statements.link.run(id, e.source, e.delivery);
      triggers.push(id);
    }
    return { outcome: 'accepted', triggers };
  }

  // --- what the dispatcher journals -------------------------------------------------------

  /** Attempts cut short by a crash go back to pending (their attempt count is kept). */
  recoverInterrupted(): number {
    return this.db.prepare(`UPDATE brain_triggers SET state = 'pending' WHERE state = 'sending'`).run().changes;
  }

  /**
   * Due triggers, retries first: a retry may have to find its earlier attempt among the
   * job's newest builds (Jenkins.find, at most `lookback`), so it must not wait behind a
   * backlog of first attempts that would push that build out of reach.
   */
  due(limit: number, now = this.now()): TriggerRow[] {
    const retries = this.statements.dueRetries.all(now, limit) as RawTrigger[];
    const first = retries.length < limit ? (this.statements.due.all(now, limit - retries.length) as RawTrigger[]) : [];
    return [...retries, ...first].map(toRow);
  }

  /** The earliest time a pending trigger is due, if any. */
  nextDue(): number | undefined {
    const row = this.statements.nextDue.get() as { at: number | null };
    return row.at ?? undefined;
  }

  /** Journals the intent: attempt n of this trigger starts now. Undefined when it is not pending any more. */
  beginAttempt(id: string): Promise<TriggerRow | undefined> {
    return this.write(() => {
      if (!this.statements.take.run(id).changes) return undefined;
      const row = toRow(this.statements.get.get(id) as RawTrigger);
      this.statements.attempt.run(id, row.attempts, this.now());
      return row;
    }, false);
  }

  /** Jenkins has the build: queued at `queueUrl` (sent now, or found there by the check). */
  recordQueued(id: string, attempt: number, queueUrl: string, foundBy: 'sent' | 'queue' | 'build', buildUrl?: string): Promise<void> {
    return this.write(() => {
      this.statements.queued.run({ id, at: this.now(), queueUrl, buildUrl: buildUrl ?? null, foundBy, state: buildUrl ? 'started' : 'queued' });
      this.statements.outcome.run(foundBy === 'sent' ? 'queued' : `found in ${foundBy}`, buildUrl ?? queueUrl, id, attempt);
    }, false);
  }

  recordBuild(id: string, buildUrl: string): Promise<void> {
    return this.write(() => {
      this.statements.build.run(buildUrl, id);
    }, false);
  }

  /** The attempt failed: pending again, due at `nextAt`. */
  recordFailure(id: string, attempt: number, error: string, nextAt: number): Promise<void> {
    return this.write(() => {
      this.statements.failed.run(nextAt, error, id);
      this.statements.outcome.run('failed', error, id, attempt);
    }, false);
  }

  // --- what the status page and /metrics read ---------------------------------------------

  trigger(id: string): TriggerRow | undefined {
    const row = this.statements.get.get(id) as RawTrigger | undefined;
    return row ? toRow(row) : undefined;
  }

  recentTriggers(limit = 50): TriggerRow[] {
    return (this.db.prepare(`SELECT * FROM brain_triggers ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(limit) as RawTrigger[]).map(toRow);
  }
}

/** Counts the status page and /metrics show, straight from the store (any process). */
export function journalCounts(db: Db): {
  deliveries: { source: string; kind: string; count: number }[];
  triggers: { job: string; state: string; count: number; oldest: number | null }[];
  failedAttempts: { job: string; count: number }[];
} {
  return {
    deliveries: db.prepare(`SELECT source, kind, COUNT(*) AS count FROM brain_deliveries GROUP BY source, kind ORDER BY source, kind`).all() as {
      source: string;
      kind: string;
      count: number;
    }[],
    triggers: db
      .prepare(`SELECT job, state, COUNT(*) AS count, MIN(created_at) AS oldest FROM brain_triggers GROUP BY job, state ORDER BY job, state`)
      .all() as { job: string; state: string; count: number; oldest: number | null }[],
    failedAttempts: db
      .prepare(
        `SELECT t.job AS job, COUNT(*) AS count FROM brain_attempts a JOIN brain_triggers t ON t.id = a.trigger_id WHERE a.outcome = 'failed' GROUP BY t.job ORDER BY t.job`,
      )
      .all() as { job: string; count: number }[],
  };
}
