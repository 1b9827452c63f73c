/**
 * The test-results ledger's part of the page (tables `tests_*`, core/test-report): flaky
 * tests through its own `flakiest()`, and the tests that failed in a proposal's last run.
 */
import { flakiest } from '../../core/test-report/index.js';
import type { Db } from '../../store/index.js';
import type { FlakeView } from './view.js';

function hasLedger(db: Db): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tests_runs'`).get() !== undefined;
}

/** Tests that failed in the proposal's last full run and did not pass on a rerun of that tree. */
export function failingTests(db: Db, project: string, proposal: string, limit = 20): string[] {
  if (!hasLedger(db)) return [];
  const last = db
    .prepare(`SELECT revision, run_id FROM tests_runs WHERE project = ? AND proposal = ? AND attempt = 0 ORDER BY id DESC LIMIT 1`)
    .get(project, proposal) as { revision: string; run_id: string } | undefined;
  if (!last) return [];
  const rows = db
    .prepare(
      `SELECT t.test_id FROM tests_results t JOIN tests_runs r ON r.id = t.run
       WHERE r.project = @project AND r.revision = @revision AND r.run_id = @run
       GROUP BY t.test_id HAVING SUM(t.status = 'fail') > 0 AND SUM(t.status = 'pass') = 0
       ORDER BY t.test_id LIMIT @limit`,
    )
    .all({ project, revision: last.revision, run: last.run_id, limit }) as { test_id: string }[];
  return rows.map((r) => r.test_id);
}

export function flakes(db: Db, project: string, limit = 10): FlakeView[] {
  if (!hasLedger(db)) return [];
  return flakiest(db, { project, limit }).map((f) => ({
    test: f.testId,
    flakes: f.flakyTrees,
    runs: f.trees,
    lastSeen: f.lastAt,
  }));
}
