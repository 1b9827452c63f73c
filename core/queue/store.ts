/**
 * The queue's durable state: every read and write of the `queue_*` tables goes through
 * here, each in one short transaction (no transaction is held across an effect: take the
 * lease, write the intent, do the effect outside, record the result). Writes that follow
 * each other with no effect between them share one transaction (`atOnce`): a landing
 * commits about 20 times instead of about 37, each commit an fsync.
 */
import type { Db } from '../../store/index.js';
import { hostname } from 'node:os';
import { ownerIsAlive, type ProcessOwner } from '../owner.js';

/** Where an entry stands. Open: queued, testing, pushed. Closed: the others. */
export type EntryState = 'queued' | 'testing' | 'pushed' | 'landed' | 'out' | 'superseded' | 'withdrawn';
export const OPEN_STATES: readonly EntryState[] = ['queued', 'testing', 'pushed'];

/** Where a run (one tested tree) stands. */
export type RunState =
  | 'fetching'
  | 'merging'
  | 'testing'
  | 'pushing'
  | 'reporting'
  | 'landed'
  | 'rejected'
  | 'retry'
  | 'error'
  | 'interrupted'
  | 'crashed'
  /** A speculative run thrown away: it held a culprit, or what it was built on did not land (detail says). */
  | 'discarded';
export const LIVE_RUN_STATES: readonly RunState[] = ['fetching', 'merging', 'testing', 'pushing', 'reporting'];

export interface EntryRow {
  id: number;
  target_key: string;
  proposal_id: string;
  forge: string;
  project: string;
  title: string;
  url: string;
  approved_revision: string | null;
  approved_at: string;
  approved_at_from: 'forge' | 'first-seen';
  enqueued_at: string;
  priority: number;
  priority_name: string;
  priority_from: string;
  state: EntryState;
  state_since: string;
  reason: string | null;
  attempts: number;
  landed_revision: string | null;
  finished_at: string | null;
}

export interface RunRow {
  id: number;
  target_key: string;
  project: string;
  bot_run: string;
  pid: number;
  pid_start: string;
  boot_id: string;
  attempt: number;
  state: RunState;
  trunk_revision: string | null;
  tree_revision: string | null;
  started_at: string;
  finished_at: string | null;
  test_ms: number | null;
  detail: string | null;
}

/** A container or sandbox a run's tests ran in (queue-2). */
export interface SandboxRow {
  backend: string;
  name: string;
  started_at: string;
}

export interface EffectRow {
  id: number;
  key: string;
  entry_id: number;
  run_id: number | null;
  kind: string;
  intent_at: string;
  done_at: string | null;
  result: string | null;
}

export interface LeaseRow {
  target_key: string;
  holder: string;
  pid: number;
  pid_start: string;
  boot_id: string;
  host: string;
  acquired_at: string;
  renewed_at: string;
}

export interface FreezeRow {
  target_key: string;
  reason: string;
  below: number | null;
  below_name: string | null;
  frozen_by: string;
  frozen_at: string;
}

export interface NewEntry {
  targetKey: string;
  proposalId: string;
  forge: string;
  project: string;
  title: string;
  url: string;
  approvedRevision?: string;
  approvedAt: string;
  approvedAtFrom: 'forge' | 'first-seen';
  priority: number;
  priorityName: string;
  priorityFrom: string;
  state?: EntryState;
  reason?: string;
}

export type LeaseResult = { ok: true } | { ok: false; holder: LeaseRow };

function now(): string {
  return new Date().toISOString();
}

export class QueueStore {
  constructor(
    readonly db: Db,
    readonly clock: () => string = now,
  ) {}

  /**
   * Runs `fn`'s writes as one transaction (one commit, one fsync of the WAL): for writes that
   * follow each other with no effect between them, so a crash leaves all of them or none.
   * Inside another transaction it is part of that one.
   */
  atOnce<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn).immediate();
  }

  // ---- targets -------------------------------------------------------------------------

  upsertTarget(t: { key: string; vcs: string; url: string; branch: string; project: string }): void {
    this.db
      .prepare(
        `INSERT INTO queue_targets (key, vcs, url, branch, project, seen_at) VALUES (@key, @vcs, @url, @branch, @project, @at)
         ON CONFLICT(key) DO UPDATE SET url = excluded.url, project = excluded.project, seen_at = excluded.seen_at`,
      )
      .run({ ...t, at: this.clock() });
  }

  // ---- entries -------------------------------------------------------------------------

  entry(id: number): EntryRow | undefined {
    return this.db.prepare('SELECT * FROM queue_entries WHERE id = ?').get(id) as EntryRow | undefined;
  }

  openEntry(targetKey: string, proposalId: string): EntryRow | undefined {
    return this.db
      .prepare(`SELECT * FROM queue_entries WHERE target_key = ? AND proposal_id = ? AND state IN ('queued', 'testing', 'pushed')`)
      .get(targetKey, proposalId) as EntryRow | undefined;
  }

  /** Open entries of a target in queue order: priority first, then first approved, first landed. */
  openEntries(targetKey: string): EntryRow[] {
    return this.db
      .prepare(
        `SELECT * FROM queue_entries WHERE target_key = ? AND state IN ('queued', 'testing', 'pushed')
         ORDER BY priority DESC, approved_at ASC, id ASC`,
      )
      .all(targetKey) as EntryRow[];
  }

  addEntry(e: NewEntry): EntryRow {
    const at = this.clock();
    const info = this.db
      .prepare(
        `INSERT INTO queue_entries (target_key, proposal_id, forge, project, title, url, approved_revision, approved_at,
           approved_at_from, enqueued_at, priority, priority_name, priority_from, state, state_since, reason)
         VALUES (@targetKey, @proposalId, @forge, @project, @title, @url, @approvedRevision, @approvedAt,
           @approvedAtFrom, @at, @priority, @priorityName, @priorityFrom, @state, @at, @reason)`,
      )
      .run({ ...e, approvedRevision: e.approvedRevision ?? null, state: e.state ?? 'queued', reason: e.reason ?? null, at });
    return this.entry(Number(info.lastInsertRowid))!;
  }

  /** Title, URL and priority as the forge and the config say now. */
  refreshEntry(id: number, fields: { title: string; url: string; priority: number; priorityName: string; priorityFrom: string }): void {
    this.db
      .prepare('UPDATE queue_entries SET title = @title, url = @url, priority = @priority, priority_name = @priorityName, priority_from = @priorityFrom WHERE id = @id')
      .run({ ...fields, id });
  }

  setState(id: number, state: EntryState, reason?: string | null, extra: { landedRevision?: string } = {}): void {
    const at = this.clock();
    const closed = !OPEN_STATES.includes(state);
    this.db
      .prepare(
        `UPDATE queue_entries SET state = @state, state_since = @at, reason = @reason,
           landed_revision = COALESCE(@landed, landed_revision), finished_at = CASE WHEN @closed THEN @at ELSE NULL END
         WHERE id = @id`,
      )
      .run({ id, state, reason: reason ?? null, at, landed: extra.landedRevision ?? null, closed: closed ? 1 : 0 });
  }

  /** Only the reason (what it waits for) changes; the state and its time stay. */
  setReason(id: number, reason: string | null): void {
    this.db.prepare('UPDATE queue_entries SET reason = ? WHERE id = ?').run(reason, id);
  }

  countAttempt(id: number): number {
    this.db.prepare('UPDATE queue_entries SET attempts = attempts + 1 WHERE id = ?').run(id);
    return this.entry(id)!.attempts;
  }

  resetAttempts(id: number): void {
    this.db.prepare('UPDATE queue_entries SET attempts = 0 WHERE id = ?').run(id);
  }

  // ---- runs and steps ------------------------------------------------------------------

  startRun(r: { targetKey: string; project: string; botRun: string; owner: ProcessOwner; attempt: number; entries: number[]; merges?: string[] }): RunRow {
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO queue_runs (target_key, project, bot_run, pid, pid_start, boot_id, attempt, state, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'fetching', ?)`,
        )
        .run(r.targetKey, r.project, r.botRun, r.owner.pid, r.owner.pidStart, r.owner.boot, r.attempt, this.clock());
      const id = Number(info.lastInsertRowid);
      const link = this.db.prepare('INSERT INTO queue_run_entries (run_id, entry_id, position, merge_revision) VALUES (?, ?, ?, ?)');
      r.entries.forEach((entryId, i) => link.run(id, entryId, i, r.merges?.[i] ?? null));
      for (const entryId of r.entries) this.setState(entryId, 'testing', null);
      return this.run(id)!;
    }).immediate();
  }

  run(id: number): RunRow | undefined {
    return this.db.prepare('SELECT * FROM queue_runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  runEntries(runId: number): number[] {
    return (this.db.prepare('SELECT entry_id FROM queue_run_entries WHERE run_id = ? ORDER BY position').all(runId) as { entry_id: number }[]).map(
      (r) => r.entry_id,
    );
  }

  updateRun(id: number, fields: { state?: RunState; trunkRevision?: string; treeRevision?: string; testMs?: number; detail?: string }): void {
    const at = this.clock();
    const final = fields.state !== undefined && !LIVE_RUN_STATES.includes(fields.state);
    this.db
      .prepare(
        `UPDATE queue_runs SET state = COALESCE(@state, state), trunk_revision = COALESCE(@trunk, trunk_revision),
           tree_revision = COALESCE(@tree, tree_revision), test_ms = COALESCE(@testMs, test_ms),
           detail = COALESCE(@detail, detail), finished_at = CASE WHEN @final THEN @at ELSE finished_at END
         WHERE id = @id`,
      )
      .run({
        id,
        state: fields.state ?? null,
        trunk: fields.trunkRevision ?? null,
        tree: fields.treeRevision ?? null,
        testMs: fields.testMs ?? null,
        detail: fields.detail ?? null,
        final: final ? 1 : 0,
        at,
      });
  }

  /**
   * Records the container or sandbox a run's tests run in (as its backend names it), when
   * the backend says it exists. Names are bounded (they are shown on the status page).
   */
  addSandbox(runId: number, sandbox: { backend: string; name: string }): void {
    this.db
      .prepare('INSERT INTO queue_run_sandboxes (run_id, backend, name, started_at) VALUES (?, ?, ?, ?)')
      .run(runId, String(sandbox.backend).slice(0, 64), String(sandbox.name).slice(0, 200), this.clock());
  }

  sandboxes(runId: number): SandboxRow[] {
    return this.db.prepare('SELECT backend, name, started_at FROM queue_run_sandboxes WHERE run_id = ? ORDER BY id').all(runId) as SandboxRow[];
  }

  /** Writes a step's intent; returns its id for `finishStep`. */
  beginStep(runId: number, step: string, detail?: Record<string, unknown>): number {
    const info = this.db
      .prepare('INSERT INTO queue_steps (run_id, step, started_at, detail) VALUES (?, ?, ?, ?)')
      .run(runId, step, this.clock(), detail ? JSON.stringify(detail) : null);
    return Number(info.lastInsertRowid);
  }

  finishStep(stepId: number, result: string, detail?: Record<string, unknown>): void {
    this.db
      .prepare('UPDATE queue_steps SET finished_at = ?, result = ?, detail = COALESCE(?, detail) WHERE id = ?')
      .run(this.clock(), result, detail ? JSON.stringify(detail) : null, stepId);
  }

  steps(runId: number): { step: string; started_at: string; finished_at: string | null; result: string | null; detail: string | null }[] {
    return this.db.prepare('SELECT step, started_at, finished_at, result, detail FROM queue_steps WHERE run_id = ? ORDER BY id').all(runId) as never;
  }

  /** Runs of a target still marked live whose process is dead: a kill -9 or a lost slave. */
  deadRuns(targetKey: string): RunRow[] {
    const live = this.db
      .prepare(`SELECT * FROM queue_runs WHERE target_key = ? AND state IN ('fetching', 'merging', 'testing', 'pushing', 'reporting')`)
      .all(targetKey) as RunRow[];
    return live.filter((r) => !ownerIsAlive({ pid: r.pid, pidStart: r.pid_start, boot: r.boot_id }));
  }

  /** Marks a dead run crashed, closes its open steps, and puts its entries back in the queue. */
  buryRun(run: RunRow, reason: string): void {
    this.db.transaction(() => {
      this.updateRun(run.id, { state: 'crashed', detail: reason });
      this.db.prepare(`UPDATE queue_steps SET finished_at = ?, result = 'crashed' WHERE run_id = ? AND finished_at IS NULL`).run(this.clock(), run.id);
      for (const entryId of this.runEntries(run.id)) {
        const entry = this.entry(entryId);
        if (entry?.state === 'testing') this.setState(entryId, 'queued', reason);
      }
    }).immediate();
  }

  /** Median test duration of the project's last passing runs (ms), for the heartbeat. */
  usualTestMs(project: string, last = 10): number | undefined {
    const rows = this.db
      .prepare(
        `SELECT test_ms FROM queue_runs WHERE project = ? AND test_ms IS NOT NULL AND state IN ('landed', 'retry', 'pushing', 'reporting')
         ORDER BY id DESC LIMIT ?`,
      )
      .all(project, last) as { test_ms: number }[];
    if (rows.length === 0) return undefined;
    const sorted = rows.map((r) => r.test_ms).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  // ---- effects -------------------------------------------------------------------------

  effect(key: string): EffectRow | undefined {
    return this.db.prepare('SELECT * FROM queue_effects WHERE key = ?').get(key) as EffectRow | undefined;
  }

  /** Records the intent of an effect before doing it; returns the existing row if any. */
  intend(key: string, e: { entryId: number; runId?: number; kind: string; payload?: unknown }): EffectRow {
    this.db
      .prepare('INSERT OR IGNORE INTO queue_effects (key, entry_id, run_id, kind, intent_at, result) VALUES (?, ?, ?, ?, ?, ?)')
      .run(key, e.entryId, e.runId ?? null, e.kind, this.clock(), e.payload === undefined ? null : JSON.stringify(e.payload));
    return this.effect(key)!;
  }

  done(key: string, result?: unknown): void {
    this.db
      .prepare('UPDATE queue_effects SET done_at = ?, result = COALESCE(?, result) WHERE key = ?')
      .run(this.clock(), result === undefined ? null : JSON.stringify(result), key);
  }

  /** Effects whose intent was written but whose result never was (the process died in between). */
  unfinishedEffects(targetKey: string): EffectRow[] {
    return this.db
      .prepare(
        `SELECT f.* FROM queue_effects f JOIN queue_entries e ON e.id = f.entry_id
         WHERE e.target_key = ? AND f.done_at IS NULL ORDER BY f.id`,
      )
      .all(targetKey) as EffectRow[];
  }

  // ---- lease ---------------------------------------------------------------------------

  lease(targetKey: string): LeaseRow | undefined {
    return this.db.prepare('SELECT * FROM queue_leases WHERE target_key = ?').get(targetKey) as LeaseRow | undefined;
  }

  /** Takes the target's lease unless a live process holds it. */
  acquire(targetKey: string, holder: string, owner: ProcessOwner): LeaseResult {
    return this.db.transaction((): LeaseResult => {
      const current = this.lease(targetKey);
      if (current && current.holder !== holder && leaseAlive(current)) return { ok: false, holder: current };
      const at = this.clock();
      this.db
        .prepare(
          `INSERT INTO queue_leases (target_key, holder, pid, pid_start, boot_id, host, acquired_at, renewed_at)
           VALUES (@key, @holder, @pid, @pidStart, @bootId, @host, @at, @at)
           ON CONFLICT(target_key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, pid_start = excluded.pid_start,
             boot_id = excluded.boot_id, host = excluded.host, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at`,
        )
        .run({ key: targetKey, holder, pid: owner.pid, pidStart: owner.pidStart, bootId: owner.boot, host: hostname(), at });
      return { ok: true };
    }).immediate();
  }

  renew(targetKey: string, holder: string): void {
    this.db.prepare('UPDATE queue_leases SET renewed_at = ? WHERE target_key = ? AND holder = ?').run(this.clock(), targetKey, holder);
  }

  release(targetKey: string, holder: string): void {
    this.db.prepare('DELETE FROM queue_leases WHERE target_key = ? AND holder = ?').run(targetKey, holder);
  }

  // ---- freezes -------------------------------------------------------------------------

  freeze(f: { targetKey: string; reason: string; below?: number; belowName?: string; by: string }): void {
    this.db
      .prepare(
        `INSERT INTO queue_freezes (target_key, reason, below, below_name, frozen_by, frozen_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(target_key) DO UPDATE SET reason = excluded.reason, below = excluded.below, below_name = excluded.below_name,
           frozen_by = excluded.frozen_by, frozen_at = excluded.frozen_at`,
      )
      .run(f.targetKey, f.reason, f.below ?? null, f.belowName ?? null, f.by, this.clock());
  }

  unfreeze(targetKey: string): boolean {
    return this.db.prepare('DELETE FROM queue_freezes WHERE target_key = ?').run(targetKey).changes > 0;
  }

  frozen(targetKey: string): FreezeRow | undefined {
    return this.db.prepare('SELECT * FROM queue_freezes WHERE target_key = ?').get(targetKey) as FreezeRow | undefined;
  }
}

/** Whether the lease's holder still runs. A holder on another host cannot be checked: alive. */
export function leaseAlive(lease: LeaseRow): boolean {
  if (lease.host !== hostname()) return true;
  return ownerIsAlive({ pid: lease.pid, pidStart: lease.pid_start, boot: lease.boot_id });
}
