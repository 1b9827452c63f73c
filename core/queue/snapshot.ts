/**
 * The one read function of the queue: every target's queue in order, with what each entry
 * waits for, what is under test since when, why entries were taken out, the freeze, the
 * lease and the last landings. Plain JSON; `byoci queue --json` prints exactly this, and
 * the brain's status page renders it.
 */
import type { Db } from '../../store/index.js';
import { ownerIsAlive } from '../owner.js';
import { LIVE_RUN_STATES, leaseAlive, type EntryRow, type FreezeRow, type LeaseRow, type RunRow, type SandboxRow } from './store.js';

export interface RunSnapshot {
  id: number;
  attempt: number;
  state: string;
  /** The trunk tip the tree was merged onto. */
  trunkRevision: string | null;
  /** The tested merge. */
  treeRevision: string | null;
  startedAt: string;
  /** For a run still marked under way: whether its bot still runs (false: killed, buried by the next run). */
  alive?: boolean;
  /** The last step reached and whether it finished. */
  step: { name: string; startedAt: string; result: string | null } | null;
  /** Entries this run contains, in order (proposal ids): more than one is a batch (or a part of one). */
  proposals: string[];
  /** When it ended (absent while it runs). */
  finishedAt: string | null;
  /** Test time, once tested. */
  testMs: number | null;
  /** What the run came to, in words (tests failed: …, suspected flake …, push refused …). */
  detail: string | null;
  /**
   * The containers or sandboxes its tests ran in, as the backend named them (a `test.retry`
   * rerun has its own); the last is the current one. Empty before the test starts, or when
   * the backend does not say.
   */
  sandboxes: { backend: string; name: string; since: string }[];
}

export interface EntrySnapshot {
  /** 1-based position among the target's open entries; absent for closed ones. */
  position?: number;
  entry: number;
  proposal: string;
  forge: string;
  project: string;
  title: string;
  url: string;
  /** queued | testing | pushed | landed | out | superseded | withdrawn */
  state: string;
  since: string;
  /** What a queued entry waits for, or why a closed one left the queue. */
  reason: string | null;
  waitingFor?: string;
  underTestSince?: string;
  attempts: number;
  priority: string;
  priorityFrom: string;
  approvedAt: string;
  approvedAtFrom: string;
  approvedRevision: string | null;
  landedRevision: string | null;
  run?: RunSnapshot;
  /** Ids of every run (tested tree) this approval was in, oldest first: a bisection shows its path. */
  runs: number[];
}

export interface LandingSnapshot {
  entry: number;
  proposal: string;
  forge: string;
  title: string;
  revision: string | null;
  landedAt: string;
  approvedAt: string;
  /** From approval to landing. */
  waitedMs: number;
  /** From the first attempt's start to landing. */
  landingMs: number | null;
  /** Test time of the landing attempt. */
  testMs: number | null;
  attempts: number;
}

export interface TargetSnapshot {
  key: string;
  vcs: string;
  url: string;
  branch: string;
  project: string;
  freeze: { reason: string; below: string | null; by: string; since: string } | null;
  lease: { holder: string; pid: number; host: string; since: string; renewedAt: string; alive: boolean } | null;
  entries: EntrySnapshot[];
  landings: LandingSnapshot[];
  takenOut: EntrySnapshot[];
  /**
   * Runs under way on the target (several at once when tested side by side): which
   * proposals, since when, which step, on which container. A dead bot's run shows until
   * the next run buries it.
   */
  running: RunSnapshot[];
  /** The last finished runs (batches, their bisection parts, single landings), newest first. */
  recentRuns: RunSnapshot[];
}

export interface QueueSnapshot {
  generatedAt: string;
  targets: TargetSnapshot[];
  /** Every freeze in force, also those set on a target or project no run has seen yet. */
  freezes: { target: string; reason: string; below: string | null; by: string; since: string }[];
}

export interface SnapshotOptions {
  /** Only this target (a key, or a project name: all its targets). */
  target?: string;
  /** How many landings and taken-out entries per target (default 10). */
  history?: number;
}

function ms(from: string, to: string): number {
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

function lastRun(db: Db, entryId: number): RunRow | undefined {
  return db
    .prepare('SELECT r.* FROM queue_runs r JOIN queue_run_entries x ON x.run_id = r.id WHERE x.entry_id = ? ORDER BY r.id DESC LIMIT 1')
    .get(entryId) as RunRow | undefined;
}

function runSnapshot(db: Db, run: RunRow): RunSnapshot {
  const step = db.prepare('SELECT step, started_at, result FROM queue_steps WHERE run_id = ? ORDER BY id DESC LIMIT 1').get(run.id) as
    | { step: string; started_at: string; result: string | null }
    | undefined;
  const proposals = (
    db
      .prepare('SELECT e.proposal_id FROM queue_run_entries x JOIN queue_entries e ON e.id = x.entry_id WHERE x.run_id = ? ORDER BY x.position')
      .all(run.id) as { proposal_id: string }[]
  ).map((r) => r.proposal_id);
  return {
    id: run.id,
    attempt: run.attempt,
    state: run.state,
    trunkRevision: run.trunk_revision,
    treeRevision: run.tree_revision,
    startedAt: run.started_at,
    ...(LIVE_RUN_STATES.includes(run.state) ? { alive: ownerIsAlive({ pid: run.pid, pidStart: run.pid_start, boot: run.boot_id }) } : {}),
    step: step ? { name: step.step, startedAt: step.started_at, result: step.result } : null,
    proposals,
    finishedAt: run.finished_at,
    testMs: run.test_ms,
    detail: run.detail,
    sandboxes: (db.prepare('SELECT backend, name, started_at FROM queue_run_sandboxes WHERE run_id = ? ORDER BY id').all(run.id) as SandboxRow[]).map((x) => ({
      backend: x.backend,
      name: x.name,
      since: x.started_at,
    })),
  };
}

function runIds(db: Db, entryId: number): number[] {
  return (db.prepare('SELECT run_id FROM queue_run_entries WHERE entry_id = ? ORDER BY run_id').all(entryId) as { run_id: number }[]).map((r) => r.run_id);
}

function entrySnapshot(db: Db, e: EntryRow, position?: number): EntrySnapshot {
  const run = lastRun(db, e.id);
  return {
    ...(position !== undefined ? { position } : {}),
    entry: e.id,
    proposal: e.proposal_id,
    forge: e.forge,
    project: e.project,
    title: e.title,
    url: e.url,
    state: e.state,
    since: e.state_since,
    reason: e.reason,
    ...(e.state === 'testing' && run ? { underTestSince: run.started_at } : {}),
    attempts: e.attempts,
    priority: e.priority_name,
    priorityFrom: e.priority_from,
    approvedAt: e.approved_at,
    approvedAtFrom: e.approved_at_from,
    approvedRevision: e.approved_revision,
    landedRevision: e.landed_revision,
    ...(run ? { run: runSnapshot(db, run) } : {}),
    runs: runIds(db, e.id),
  };
}

/** What a queued entry waits for, given the freeze and the entries ahead of it. */
function waitingFor(entry: EntrySnapshot, ahead: EntrySnapshot[], freeze: TargetSnapshot['freeze'], rank: (name: string) => number): string | undefined {
  if (entry.state === 'testing') return undefined;
  if (entry.state === 'pushed') return 'the report of its landing (it is on the target)';
  if (freeze && (freeze.below === null || rank(entry.priority) < rank(freeze.below))) {
    return `the target to be unfrozen (${freeze.reason}${freeze.below ? `; only ${freeze.below} and above land` : ''})`;
  }
  const testing = ahead.find((a) => a.state === 'testing' || a.state === 'pushed');
  if (testing) return `${testing.proposal} ahead of it (${testing.state === 'testing' ? 'under test' : 'landed, being reported'})`;
  if (entry.reason) return entry.reason;
  if (ahead.length) return `${ahead.length} entr${ahead.length === 1 ? 'y' : 'ies'} ahead of it`;
  return 'the next land run';
}

function targetsOf(db: Db, filter?: string): { key: string; vcs: string; url: string; branch: string; project: string }[] {
  const all = db.prepare('SELECT key, vcs, url, branch, project FROM queue_targets ORDER BY project, key').all() as {
    key: string;
    vcs: string;
    url: string;
    branch: string;
    project: string;
  }[];
  if (!filter) return all;
  return all.filter((t) => t.key === filter || t.project === filter);
}

/** The freeze that applies to a target: one set on its key, else one set on its project. */
export function freezeOf(db: Db, key: string, project: string): FreezeRow | undefined {
  return db
    .prepare('SELECT * FROM queue_freezes WHERE target_key IN (?, ?) ORDER BY target_key = ? DESC LIMIT 1')
    .get(key, project, key) as FreezeRow | undefined;
}

/** The queue state of every target (or of one), as plain JSON. */
export function queueSnapshot(db: Db, options: SnapshotOptions = {}): QueueSnapshot {
  const history = options.history ?? 10;
  const read = db.transaction((): QueueSnapshot => {
    const targets: TargetSnapshot[] = [];
    for (const t of targetsOf(db, options.target)) {
      const f = freezeOf(db, t.key, t.project);
      const l = db.prepare('SELECT * FROM queue_leases WHERE target_key = ?').get(t.key) as LeaseRow | undefined;
      const freeze = f ? { reason: f.reason, below: f.below_name, by: f.frozen_by, since: f.frozen_at } : null;
      const ranks = new Map<string, number>();
      const open = db
        .prepare(
          `SELECT * FROM queue_entries WHERE target_key = ? AND state IN ('queued', 'testing', 'pushed')
           ORDER BY priority DESC, approved_at ASC, id ASC`,
        )
        .all(t.key) as EntryRow[];
      for (const e of open) ranks.set(e.priority_name, e.priority);
      if (f?.below_name != null && f.below != null) ranks.set(f.below_name, f.below);
      const rank = (name: string) => ranks.get(name) ?? 0;
      const entries: EntrySnapshot[] = [];
      open.forEach((e, i) => {
        const snap = entrySnapshot(db, e, i + 1);
        const wait = waitingFor(snap, entries, freeze, rank);
        entries.push(wait ? { ...snap, waitingFor: wait } : snap);
      });
      const landed = db
        .prepare(`SELECT * FROM queue_entries WHERE target_key = ? AND state = 'landed' ORDER BY finished_at DESC, id DESC LIMIT ?`)
        .all(t.key, history) as EntryRow[];
      const landings = landed.map((e): LandingSnapshot => {
        const first = db
          .prepare('SELECT MIN(r.started_at) AS at FROM queue_runs r JOIN queue_run_entries x ON x.run_id = r.id WHERE x.entry_id = ?')
          .get(e.id) as { at: string | null };
        const last = lastRun(db, e.id);
        const landedAt = e.finished_at ?? e.state_since;
        return {
          entry: e.id,
          proposal: e.proposal_id,
          forge: e.forge,
          title: e.title,
          revision: e.landed_revision,
          landedAt,
          approvedAt: e.approved_at,
          waitedMs: ms(e.approved_at, landedAt),
          landingMs: first.at ? ms(first.at, landedAt) : null,
          testMs: last?.test_ms ?? null,
          attempts: e.attempts,
        };
      });
      const out = db
        .prepare(`SELECT * FROM queue_entries WHERE target_key = ? AND state = 'out' ORDER BY finished_at DESC, id DESC LIMIT ?`)
        .all(t.key, history) as EntryRow[];
      const live = db
        .prepare(`SELECT * FROM queue_runs WHERE target_key = ? AND state IN (${LIVE_RUN_STATES.map(() => '?').join(', ')}) ORDER BY id`)
        .all(t.key, ...LIVE_RUN_STATES) as RunRow[];
      const finished = db
        .prepare(`SELECT * FROM queue_runs WHERE target_key = ? AND state NOT IN (${LIVE_RUN_STATES.map(() => '?').join(', ')}) ORDER BY id DESC LIMIT ?`)
        .all(t.key, ...LIVE_RUN_STATES, history) as RunRow[];
      targets.push({
        ...t,
        freeze,
        lease: l ? { holder: l.holder, pid: l.pid, host: l.host, since: l.acquired_at, renewedAt: l.renewed_at, alive: leaseAlive(l) } : null,
        entries,
        landings,
        takenOut: out.map((e) => entrySnapshot(db, e)),
        running: live.map((r) => runSnapshot(db, r)),
        recentRuns: finished.map((r) => runSnapshot(db, r)),
      });
    }
    const freezes = (db.prepare('SELECT * FROM queue_freezes ORDER BY target_key').all() as FreezeRow[]).map((f) => ({
      target: f.target_key,
      reason: f.reason,
      below: f.below_name,
      by: f.frozen_by,
      since: f.frozen_at,
    }));
    return { generatedAt: new Date().toISOString(), targets, freezes };
  });
  return read();
}
