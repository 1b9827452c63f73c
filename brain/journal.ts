/**
 * The brain's journal in the shared store (tables `brain_*`, migrations `brain-N`).
 *
 * - A delivery is accepted when its row is committed and the WAL holding that commit is
 *   on disk (fdatasync, what synchronous=FULL does at every commit): the HTTP answer waits
 *   for both. Deliveries arriving together share one transaction (group commit: every write
 *   queued in one turn of the event loop), and the fdatasync runs off the event loop (libuv's
 *   thread pool), one at a time, covering every commit made before it started: while one is
 *   under way the next requests are read, decided and committed (see Journal.flush).
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
import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
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
  {
    // First attempts by due time, without stepping over the retries (the planner took the
    // (state, next_at) index for both queries of Journal.due and filtered row by row: 0.7 ms
    // per call with a backlog of 3,000). From here on attempt records are durable before
    // their request is sent (Journal.beginAttempt): decisions older than this migration are
    // checked in Jenkins before a first send (Journal.durableAttemptsSince).
    // The index of links by delivery goes: nothing reads it, and its random keys (delivery
    // ids) cost every delivery a WAL page of its own (an operator's lookup by delivery scans).
    id: 'brain-4',
    up(db) {
      db.exec(`
        CREATE INDEX brain_triggers_first ON brain_triggers (next_at) WHERE state = 'pending' AND attempts = 0;
        DROP INDEX brain_trigger_deliveries_delivery;
      `);
    },
  },
  {
    // Pending land decisions by coalesce key (Journal.findPending), and only those: the index
    // of every decision by (coalesce_key, state) took a WAL page in each delivery's commit
    // (a decision with no key, of a rule without `land`, went in it too) and another each
    // time a decision changed state. Now a decision is in it while it is pending with a key.
    id: 'brain-5',
    up(db) {
      db.exec(`
        DROP INDEX brain_triggers_coalesce;
        CREATE INDEX brain_triggers_pending_key ON brain_triggers (coalesce_key, created_at) WHERE coalesce_key IS NOT NULL AND state = 'pending';
      `);
    },
  },
];

/**
 * A decision id: a UUID in the version 7 layout (RFC 9562: the time in ms first, then
 * random bits), so decisions made one after the other share the index pages their rows
 * and links go to (a random id put each insert on a page of its own: more WAL per commit).
 */
export function decisionId(now: number): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

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
  /** Called with each fdatasync's duration (ms). */
  onSync?: (ms: number) => void;
}

/** A durable write committed, waiting for the fdatasync that makes it survive power loss. */
interface Committed {
  op: Op;
  value: unknown;
  /** Triggers it added or joined: not handed to the dispatcher before they are on disk. */
  triggers: string[];
}

/** A committed op: a non-durable one settles now, a durable one waits in `committed` for its fdatasync. */
function settle(op: Op, value: unknown, committed: Committed[]): void {
  if (!op.durable) return op.resolve(value);
  const triggers = value && typeof value === 'object' && Array.isArray((value as { triggers?: unknown }).triggers) ? (value as { triggers: string[] }).triggers : [];
  committed.push({ op, value, triggers });
}

export class Journal {
  readonly db: Db;
  private readonly now: () => number;
  private ops: Op[] = [];
  /** performance.now() of the last delivery handed to accept() (the dispatcher yields to a burst). */
  lastDeliveryAt = -Infinity;
  private scheduled = false;
  private readonly statements;
  /** The WAL file this connection commits to (undefined: an in-memory store, nothing to sync). */
  private readonly wal: string | undefined;
  private walFd: number | undefined;
  /** Durable writes committed since the fdatasync under way started (the next one covers them). */
  private unsyncedOps: Committed[] = [];
  /** Triggers of commits not yet on disk: due() skips them. */
  private readonly unsynced = new Set<string>();
  private syncing: Promise<void> | undefined;
  /** Set when an fdatasync failed: the journal then refuses every write (see flush). */
  failure: Error | undefined;
  /** Decisions made before this time (ms) may have attempts journaled without an fsync (before brain-4). */
  readonly durableAttemptsSince: number;

  constructor(private readonly options: JournalOptions) {
    this.db = options.db;
    this.now = options.now ?? Date.now;
    const db = this.db;
    this.wal = !db.memory && db.name && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal' ? `${db.name}-wal` : undefined;
    const applied = db.prepare(`SELECT applied_at FROM schema_migrations WHERE id = 'brain-4'`).get() as { applied_at: string } | undefined;
    this.durableAttemptsSince = applied ? Date.parse(applied.applied_at) : Infinity;
    this.statements = {
      // Positional parameters on the intake path: binding an object by names costs more.
      insertDelivery: db.prepare(
        `INSERT OR IGNORE INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // On its partial index (brain-5).
      findPending: db
        .prepare(`SELECT id FROM brain_triggers INDEXED BY brain_triggers_pending_key WHERE coalesce_key = ? AND state = 'pending' ORDER BY created_at LIMIT 1`)
        .pluck(),
      // A burst ends when its target has been quiet for `coalesce`, or 10 windows after it began.
      joinTrigger: db.prepare(`UPDATE brain_triggers SET events = events + 1, next_at = MIN(created_at + ?, MAX(next_at, ? + ?)) WHERE id = ?`),
      insertTrigger: db.prepare(
        `INSERT INTO brain_triggers (id, rule, job, params_json, coalesce_key, state, events, created_at, next_at)
         VALUES (?, ?, ?, ?, ?, 'pending', 1, ?, ?)`,
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
      // Each on its partial index (brain-3, brain-4): the planner would otherwise take (state, next_at).
      dueRetries: db
        .prepare(`SELECT id FROM brain_triggers INDEXED BY brain_triggers_retry WHERE state = 'pending' AND attempts > 0 AND next_at <= ? ORDER BY next_at LIMIT ?`)
        .pluck(),
      due: db.prepare(`SELECT id FROM brain_triggers INDEXED BY brain_triggers_first WHERE state = 'pending' AND attempts = 0 AND next_at <= ? ORDER BY next_at LIMIT ?`).pluck(),
      nextDue: db.prepare(`SELECT MIN(next_at) AS at FROM brain_triggers WHERE state = 'pending'`),
      learn: db.prepare(
        `INSERT INTO brain_routes (source, repo, key, branch, delivery_id, learnt_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, repo, key) DO UPDATE SET branch = excluded.branch, delivery_id = excluded.delivery_id, learnt_at = excluded.learnt_at`,
      ),
      route: db.prepare(`SELECT branch, delivery_id AS delivery FROM brain_routes WHERE source = ? AND repo = ? AND key = ?`),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      // The group commit's transaction (db.transaction() would build its wrapper at each flush).
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  /**
   * Group commit: `op` runs with every other write queued before the event loop's next
   * check phase in one transaction. A durable op's promise settles once that transaction
   * is on disk: the commit itself runs without a sync (synchronous=NORMAL, which in WAL mode
   * writes the frames and never corrupts) and the WAL is then fdatasync'ed from libuv's
   * thread pool. Only one fdatasync is under way at a time; commits made meanwhile wait for
   * the next one, which covers them all (fdatasync flushes the file, whatever wrote it). No
   * timer: the deliveries that arrive meanwhile are read in the next poll phase and share the
   * next commit. Non-durable ops (the dispatcher's bookkeeping after a request) settle at
   * their commit: they survive kill -9, and a power loss can only lose records the
   * check-before-resend recovers.
   */
  write<T>(op: () => T, durable = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.ops.push({ run: op, durable, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every write queued since the last flush in one transaction; starts the sync of durable ones. */
  flush(): void {
    this.scheduled = false;
    const ops = this.ops;
    this.ops = [];
    if (!ops.length) return;
    if (this.failure) {
      for (const op of ops) op.reject(this.failure);
      return;
    }
    const started = performance.now();
    let values: unknown[] | undefined;
    // Without a WAL to sync afterwards (a store in memory, or not in WAL mode) a durable
    // batch commits with synchronous=FULL itself.
    const relaxed = this.wal !== undefined || !ops.some((op) => op.durable);
    if (relaxed) this.statements.syncNormal.run();
    try {
      // Fast path: all ops in one transaction, no savepoint each.
      values = this.transaction(() => ops.map((op) => op.run()));
    } catch {
      values = undefined;
    }
    const committed: Committed[] = [];
    try {
      if (values) {
        this.commits.observe(ops.length, performance.now() - started);
        for (let i = 0; i < ops.length; i++) settle(ops[i] as Op, values[i], committed);
      } else {
        // One op failed and rolled the whole batch back: each op alone, so only the failing one fails.
        for (const op of ops) {
          let value: unknown;
          try {
            value = this.transaction(op.run);
          } catch (error) {
            op.reject(error as Error);
            continue;
          }
          settle(op, value, committed);
        }
      }
    } finally {
      if (relaxed) this.statements.syncFull.run();
    }
    if (!committed.length) return;
    if (!this.wal) {
      for (const c of committed) c.op.resolve(c.value);
      return;
    }
    for (const c of committed) for (const t of c.triggers) this.unsynced.add(t);
    this.unsyncedOps.push(...committed);
    this.sync();
  }

  /** Runs `fn` in a write transaction (BEGIN IMMEDIATE): committed when it returns, rolled back when it throws. */
  private transaction<T>(fn: () => T): T {
    const { begin, commit, rollback } = this.statements;
    begin.run();
    try {
      const value = fn();
      commit.run();
      return value;
    } catch (error) {
      if (this.db.inTransaction) rollback.run();
      throw error;
    }
  }

  /** Whether commits wait for their fdatasync (their triggers are skipped by due() until then). */
  get syncPending(): boolean {
    return this.unsynced.size > 0;
  }

  /** Starts an fdatasync of the WAL for the commits waiting for one, unless one is under way. */
  private sync(): void {
    if (this.syncing || !this.unsyncedOps.length) return;
    const batch = this.unsyncedOps;
    this.unsyncedOps = [];
    const started = performance.now();
    this.syncing = new Promise<void>((done) => {
      const finish = (error: NodeJS.ErrnoException | null) => {
        this.syncing = undefined;
        for (const c of batch) for (const t of c.triggers) this.unsynced.delete(t);
        if (error) {
          // What was written may never reach the disk (and Linux may report the next fsync
          // clean): refuse every write from now on; a restart reads what the disk has.
          this.failure = new Error(`the journal's WAL could not be synced to disk (${error.code ?? error.message}): restart the brain`);
          this.options.log?.error('fdatasync of the WAL failed: the journal refuses every write until the brain is restarted', { error: error.message });
          for (const c of [...batch, ...this.unsyncedOps.splice(0)]) c.op.reject(this.failure);
        } else {
          this.commits.synced(performance.now() - started);
          this.options.onSync?.(performance.now() - started);
          for (const c of batch) c.op.resolve(c.value);
          this.sync();
        }
        done();
      };
      try {
        fdatasync(this.walFile(), finish);
      } catch (error) {
        finish(error as NodeJS.ErrnoException);
      }
    });
  }

  /**
   * The WAL's file descriptor, opened at the first durable commit (the file exists then),
   * when the directory is synced once too (a new WAL's name must survive as well, as
   * SQLite does for a journal it creates). It stays open: SQLite never deletes the WAL while
   * a connection (this one) is open, and a reset rewrites the same file.
   */
  private walFile(): number {
    if (this.walFd === undefined) {
      const fd = openSync(this.wal as string, 'r');
      const dir = openSync(dirname(this.wal as string), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
      this.walFd = fd;
    }
    return this.walFd;
  }

  /** Commits what is queued and waits for its sync (shutdown); closes the WAL descriptor. */
  async close(): Promise<void> {
    this.flush();
    while (this.syncing) await this.syncing;
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
  }

  /** Group commits so far: commits (time on the event loop) and WAL syncs (off it), for /healthz and the bench. */
  readonly commits = {
    count: 0,
    ops: 0,
    ms: 0,
    maxMs: 0,
    syncs: 0,
    syncMs: 0,
    syncMaxMs: 0,
    observe(ops: number, ms: number) {
      this.count++;
      this.ops += ops;
      this.ms += ms;
      if (ms > this.maxMs) this.maxMs = ms;
    },
    synced(ms: number) {
      this.syncs++;
      this.syncMs += ms;
      if (ms > this.syncMaxMs) this.syncMaxMs = ms;
    },
  };

  /** Journals a delivery and its decisions; resolves once committed, with its triggers. */
  async accept(event: BrainEvent, bodyBytes: number): Promise<AcceptResult> {
    this.lastDeliveryAt = performance.now();
    const result = await this.write(() => this.acceptNow(event, bodyBytes));
    if (result.outcome === 'accepted' && result.triggers.length) this.options.onTriggers?.();
    return result;
  }

  /** Routes this event teaches: a PR's base branch, the branch each pushed commit went to. */
  private learn(e: BrainEvent, at: number): void {
    const repo = e.source === 'github' ? e.repo.toLowerCase() : (e.routeRepo ?? e.repo);
    if (e.learns) for (const [key, branch] of Object.entries(e.learns)) this.statements.learn.run(e.source, repo, key, branch, e.delivery, at);
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
    // Object.assign: in Node 20's V8 `{ ...e, branches }` costs ~1 us per property added after the spread.
    return Object.assign({}, e, { branches: [found.branch], routedFrom: found.delivery });
  }

  private acceptNow(delivered: BrainEvent, bodyBytes: number): AcceptResult {
    const at = this.now();
    const e = this.route(delivered);
    const inserted = this.statements.insertDelivery.run(e.source, e.delivery, e.name, e.kind, e.repo, e.summary, JSON.stringify(e), bodyBytes, at);
    if (inserted.changes === 0) return { outcome: 'duplicate' };
    this.learn(e, at);
    const triggers: string[] = [];
    for (const d of this.options.decide(e)) {
      let id: string | undefined;
      if (d.coalesceKey) {
        id = this.statements.findPending.get(d.coalesceKey) as string | undefined;
        if (id) this.statements.joinTrigger.run(10 * this.options.coalesceMs, at, this.options.coalesceMs, id);
      }
      if (!id) {
        id = decisionId(at);
        this.statements.insertTrigger.run(id, d.rule, d.job, JSON.stringify(d.params), d.coalesceKey ?? null, at, d.coalesceKey ? at + this.options.coalesceMs : at);
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
   * Ids of due triggers (not those in `skip`, nor those whose commit is not on disk yet),
   * retries first: a retry may have to find its earlier attempt among the
   * job's newest builds (Jenkins.find, at most `lookback`), so it must not wait behind a
   * backlog of first attempts that would push that build out of reach.
   */
  due(limit: number, now = this.now(), skip: ReadonlySet<string> = new Set()): string[] {
    const out: string[] = [];
    for (const statement of [this.statements.dueRetries, this.statements.due]) {
      if (out.length >= limit) break;
      const rows = statement.all(now, limit - out.length + skip.size + this.unsynced.size) as string[];
      for (const id of rows) {
        if (out.length >= limit) break;
        if (!skip.has(id) && !this.unsynced.has(id)) out.push(id);
      }
    }
    return out;
  }

  /** The earliest time a pending trigger is due, if any. */
  nextDue(): number | undefined {
    const row = this.statements.nextDue.get() as { at: number | null };
    return row.at ?? undefined;
  }

  /**
   * Journals the intent: attempt n of this trigger starts now; resolves once that is on
   * disk, so a decision whose record shows no attempt was never sent (after a crash or a
   * power loss it needs no check in Jenkins). Undefined when it is not pending any more.
   */
  beginAttempt(id: string): Promise<TriggerRow | undefined> {
    return this.write(() => {
      if (!this.statements.take.run(id).changes) return undefined;
      const row = toRow(this.statements.get.get(id) as RawTrigger);
      this.statements.attempt.run(id, row.attempts, this.now());
      return row;
    });
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
    return (this.db.prepare(`SELECT * FROM brain_triggers ORDER BY rowid DESC LIMIT ?`).all(limit) as RawTrigger[]).map(toRow);
  }
}

/** The journal's rows read on a connection of their own (the intake thread: the journal thread writes). */
export class JournalReader {
  private readonly get;
  private readonly recent;
  constructor(readonly db: Db) {
    this.get = db.prepare(`SELECT * FROM brain_triggers WHERE id = ?`);
    this.recent = db.prepare(`SELECT * FROM brain_triggers ORDER BY rowid DESC LIMIT ?`);
  }

  trigger(id: string): TriggerRow | undefined {
    const row = this.get.get(id) as RawTrigger | undefined;
    return row ? toRow(row) : undefined;
  }

  recentTriggers(limit = 50): TriggerRow[] {
    return (this.recent.all(limit) as RawTrigger[]).map(toRow);
  }
}

/** Counts the status page and /metrics show, straight from the store (any process). */
/** What /metrics reads from the journal: counts by group, over the whole history. */
export interface JournalCounts {
  deliveries: { source: string; kind: string; count: number }[];
  triggers: { job: string; state: string; count: number; oldest: number | null }[];
  failedAttempts: { job: string; count: number }[];
}

/**
 * The queries behind JournalCounts. Each scans its table (the journal keeps every delivery),
 * so the brain runs them on a connection of their own in a worker thread (counts-reader.ts),
 * not on the thread that takes webhooks.
 */
export const JOURNAL_COUNTS_SQL = {
  deliveries: `SELECT source, kind, COUNT(*) AS count FROM brain_deliveries GROUP BY source, kind ORDER BY source, kind`,
  triggers: `SELECT job, state, COUNT(*) AS count, MIN(created_at) AS oldest FROM brain_triggers GROUP BY job, state ORDER BY job, state`,
  failedAttempts: `SELECT t.job AS job, COUNT(*) AS count FROM brain_attempts a JOIN brain_triggers t ON t.id = a.trigger_id WHERE a.outcome = 'failed' GROUP BY t.job ORDER BY t.job`,
} as const;

export function journalCounts(db: Db): JournalCounts {
  return {
    deliveries: db.prepare(JOURNAL_COUNTS_SQL.deliveries).all() as JournalCounts['deliveries'],
    triggers: db.prepare(JOURNAL_COUNTS_SQL.triggers).all() as JournalCounts['triggers'],
    failedAttempts: db.prepare(JOURNAL_COUNTS_SQL.failedAttempts).all() as JournalCounts['failedAttempts'],
  };
}
