/**
 * The flake ledger, in the slave's store (store/db.ts, migrations `tests-N`, tables
 * `tests_*`): every test id's status in every run, per project and tested revision (the
 * merged tree). A flake is a test that passed and failed on one revision: same tree,
 * different results, which only the test or its environment can explain.
 */
import type { Db, Migration } from '../../store/db.js';
import type { TestCase } from './cases.js';

export const TESTS_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'tests-1',
    up(db: Db) {
      db.exec(`
        CREATE TABLE tests_runs (
          id INTEGER PRIMARY KEY,
          project TEXT NOT NULL,
          revision TEXT NOT NULL,
          proposal TEXT,
          run_id TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          exit_code INTEGER NOT NULL,
          at TEXT NOT NULL
        );
        CREATE INDEX tests_runs_tree ON tests_runs (project, revision);
        CREATE TABLE tests_results (
          run INTEGER NOT NULL REFERENCES tests_runs (id) ON DELETE CASCADE,
          test_id TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skip')),
          PRIMARY KEY (run, test_id)
        );
        CREATE INDEX tests_results_id ON tests_results (test_id);
      `);
    },
  },
]);

export interface RunRecord {
  project: string;
  revision: string;
  proposal?: string;
  runId: string;
  /** 0 for the full run, 1… for reruns of failed ids. */
  attempt: number;
  exitCode: number;
  cases: readonly TestCase[];
  at?: Date;
}

/** Records one run and its cases in one transaction. */
export function recordRun(db: Db, record: RunRecord): number {
  const insertRun = db.prepare(
    'INSERT INTO tests_runs (project, revision, proposal, run_id, attempt, exit_code, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertCase = db.prepare('INSERT OR REPLACE INTO tests_results (run, test_id, status) VALUES (?, ?, ?)');
  return db.transaction(() => {
    const info = insertRun.run(
      record.project,
      record.revision,
      record.proposal ?? null,
      record.runId,
      record.attempt,
      record.exitCode,
      (record.at ?? new Date()).toISOString(),
    );
    const run = Number(info.lastInsertRowid);
    for (const c of record.cases) insertCase.run(run, c.id, c.status);
    return run;
  })();
}

export interface FlakeEvidence {
  revision: string;
  passes: number;
  failures: number;
  proposal: string | null;
  lastAt: string;
}

export interface Flake {
  project: string;
  testId: string;
  /** Revisions on which the test both passed and failed. */
  flakyTrees: number;
  /** Revisions on which it ran at all. */
  trees: number;
  passes: number;
  failures: number;
  lastAt: string;
  evidence: FlakeEvidence[];
}

/** The flakiest tests: most revisions with both results first, then the most recent. */
export function flakiest(db: Db, options: { project?: string; limit?: number; evidence?: number } = {}): Flake[] {
  const perTree = `
    SELECT r.project, t.test_id, r.revision,
           SUM(t.status = 'pass') AS passes, SUM(t.status = 'fail') AS failures,
           MAX(r.at) AS last_at, MAX(r.proposal) AS proposal
    FROM tests_results t JOIN tests_runs r ON r.id = t.run
    WHERE (@project IS NULL OR r.project = @project)
    GROUP BY r.project, t.test_id, r.revision`;
  const rows = db
    .prepare(
      `WITH trees AS (${perTree})
       SELECT project, test_id, SUM(passes > 0 AND failures > 0) AS flaky_trees, COUNT(*) AS trees,
              SUM(passes) AS passes, SUM(failures) AS failures, MAX(last_at) AS last_at
       FROM trees GROUP BY project, test_id HAVING flaky_trees > 0
       ORDER BY flaky_trees DESC, last_at DESC, test_id LIMIT @limit`,
    )
    .all({ project: options.project ?? null, limit: options.limit ?? 20 }) as {
    project: string;
    test_id: string;
    flaky_trees: number;
    trees: number;
    passes: number;
    failures: number;
    last_at: string;
  }[];
  const evidence = db.prepare(
    `WITH trees AS (${perTree})
     SELECT revision, passes, failures, proposal, last_at FROM trees
     WHERE project = @p AND test_id = @id AND passes > 0 AND failures > 0
     ORDER BY last_at DESC LIMIT @n`,
  );
  return rows.map((row) => ({
    project: row.project,
    testId: row.test_id,
    flakyTrees: row.flaky_trees,
    trees: row.trees,
    passes: row.passes,
    failures: row.failures,
    lastAt: row.last_at,
    evidence: (
      evidence.all({ project: null, p: row.project, id: row.test_id, n: options.evidence ?? 3 }) as {
        revision: string;
        passes: number;
        failures: number;
        proposal: string | null;
        last_at: string;
      }[]
    ).map((e) => ({ revision: e.revision, passes: e.passes, failures: e.failures, proposal: e.proposal, lastAt: e.last_at })),
  }));
}
