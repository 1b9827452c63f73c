/**
 * The landing queue's tables in the slave's store (migrations `queue-N`, tables `queue_*`).
 *
 * - `queue_targets`: one row per target branch (the queue's key), for display.
 * - `queue_entries`: one approval of one proposal at one revision. Re-approval at another
 *   revision closes the entry (`superseded`) and opens a new one at the back.
 * - `queue_runs`: one attempt = one tested tree: the trunk tip it was merged onto, the merge
 *   (tested) revision, and the entries it contains (`queue_run_entries`, so that a run can
 *   later hold a batch, and several runs can be under test at once).
 * - `queue_steps`: every step a run reached (intent row written before the step, result after).
 * - `queue_effects`: every external effect (push, report), intent before, result after, keyed
 *   so that none is done twice.
 * - `queue_leases`: who lands on a target now (pid, start time, boot id, host).
 * - `queue_freezes`: frozen targets set with `byoci queue freeze`.
 * - `queue_run_sandboxes` (queue-2): the container or sandbox a run's tests ran in, as the
 *   backend named it (`TestPayload.onSandbox`): one row per container (a `test.retry` rerun
 *   gets a fresh one), so the queue can say where a run is tested.
 */
import type { Migration } from '../../store/index.js';

export const QUEUE_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'queue-1',
    up(db) {
      db.exec(`
        CREATE TABLE queue_targets (
          key TEXT PRIMARY KEY,
          vcs TEXT NOT NULL,
          url TEXT NOT NULL,
          branch TEXT NOT NULL,
          project TEXT NOT NULL,
          seen_at TEXT NOT NULL
        );
        CREATE TABLE queue_entries (
          id INTEGER PRIMARY KEY,
          target_key TEXT NOT NULL REFERENCES queue_targets(key),
          proposal_id TEXT NOT NULL,
          forge TEXT NOT NULL,
          project TEXT NOT NULL,
          title TEXT NOT NULL,
          url TEXT NOT NULL,
          approved_revision TEXT,
          approved_at TEXT NOT NULL,
          approved_at_from TEXT NOT NULL,
          enqueued_at TEXT NOT NULL,
          priority INTEGER NOT NULL,
          priority_name TEXT NOT NULL,
          priority_from TEXT NOT NULL,
          state TEXT NOT NULL,
          state_since TEXT NOT NULL,
          reason TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          landed_revision TEXT,
          finished_at TEXT
        );
        CREATE UNIQUE INDEX queue_entries_open ON queue_entries(target_key, proposal_id)
          WHERE state IN ('queued', 'testing', 'pushed');
        CREATE INDEX queue_entries_target ON queue_entries(target_key, state);
        CREATE TABLE queue_runs (
          id INTEGER PRIMARY KEY,
          target_key TEXT NOT NULL REFERENCES queue_targets(key),
          project TEXT NOT NULL,
          bot_run TEXT NOT NULL,
          pid INTEGER NOT NULL,
          pid_start TEXT NOT NULL,
          boot_id TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          state TEXT NOT NULL,
          trunk_revision TEXT,
          tree_revision TEXT,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          test_ms INTEGER,
          detail TEXT
        );
        CREATE INDEX queue_runs_target ON queue_runs(target_key, state);
        CREATE TABLE queue_run_entries (
          run_id INTEGER NOT NULL REFERENCES queue_runs(id),
          entry_id INTEGER NOT NULL REFERENCES queue_entries(id),
          position INTEGER NOT NULL,
          PRIMARY KEY (run_id, entry_id)
        );
        CREATE TABLE queue_steps (
          id INTEGER PRIMARY KEY,
          run_id INTEGER NOT NULL REFERENCES queue_runs(id),
          step TEXT NOT NULL,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          result TEXT,
          detail TEXT
        );
        CREATE TABLE queue_effects (
          id INTEGER PRIMARY KEY,
          key TEXT NOT NULL UNIQUE,
          entry_id INTEGER NOT NULL REFERENCES queue_entries(id),
          run_id INTEGER REFERENCES queue_runs(id),
          kind TEXT NOT NULL,
          intent_at TEXT NOT NULL,
          done_at TEXT,
          result TEXT
        );
        CREATE TABLE queue_leases (
          target_key TEXT PRIMARY KEY,
          holder TEXT NOT NULL,
          pid INTEGER NOT NULL,
          pid_start TEXT NOT NULL,
          boot_id TEXT NOT NULL,
          host TEXT NOT NULL,
          acquired_at TEXT NOT NULL,
          renewed_at TEXT NOT NULL
        );
        CREATE TABLE queue_freezes (
          target_key TEXT PRIMARY KEY,
          reason TEXT NOT NULL,
          below INTEGER,
          below_name TEXT,
          frozen_by TEXT NOT NULL,
          frozen_at TEXT NOT NULL
        );
      `);
    },
  },
  {
    id: 'queue-2',
    up(db) {
      db.exec(`
        CREATE TABLE queue_run_sandboxes (
          id INTEGER PRIMARY KEY,
          run_id INTEGER NOT NULL REFERENCES queue_runs(id),
          backend TEXT NOT NULL,
          name TEXT NOT NULL,
          started_at TEXT NOT NULL
        );
        CREATE INDEX queue_run_sandboxes_run ON queue_run_sandboxes(run_id);
      `);
    },
  },
  {
    id: 'queue-3',
    up(db) {
      db.exec(`ALTER TABLE queue_run_entries ADD COLUMN merge_revision TEXT;`);
    },
  },
]);
