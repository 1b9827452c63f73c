/**
 * Test reports of a run (JUnit XML, subunit v2), the rerun of failed ids, the flake
 * ledger and the words of a verdict. Used by core's bot and by `byoci flakes`.
 */
import { openStore, type Db } from '../../store/db.js';
import type { Logger } from '../logger.js';
import { TESTS_MIGRATIONS, recordRun, type RunRecord } from './ledger.js';

export { runTests, retryCommand, rerunnable } from './retry.js';
export { readReports, summarise, summariseArtefacts, describeFailures } from './summary.js';
export { TESTS_MIGRATIONS, flakiest, recordRun } from './ledger.js';
export type { Flake, FlakeEvidence, RunRecord } from './ledger.js';
export { blockingFailures, failureWords, failuresForgiven, forgivenWords } from './verdict.js';

/**
 * The flake ledger of one bot run: the store opened on first use, closed at shutdown; or,
 * while the queue has the same store open (a landing), that connection (`borrow`), so a
 * landing opens the store once.
 */
export class Ledger {
  #db: Db | undefined;
  #borrowed: Db | undefined;
  constructor(readonly path: string) {}

  get db(): Db {
    if (this.#borrowed?.open) return this.#borrowed;
    this.#db ??= openStore(this.path, { migrations: TESTS_MIGRATIONS });
    return this.#db;
  }

  /** Uses `db` (the same store, TESTS_MIGRATIONS applied, owned by the caller) until the returned function is called. */
  borrow(db: Db): () => void {
    this.#borrowed = db;
    return () => {
      if (this.#borrowed === db) this.#borrowed = undefined;
    };
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}

/** Records a run in the ledger; a broken store is logged and never changes the outcome. */
export function recordTestRun(ledger: Ledger, record: RunRecord, log: Logger): void {
  try {
    recordRun(ledger.db, record);
  } catch (error) {
    log.warn('flake ledger: could not record the test run', { store: ledger.path, error: (error as Error).message });
  }
}
