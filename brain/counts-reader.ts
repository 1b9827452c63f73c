/**
 * /metrics' counts off the intake thread. They are GROUP BY scans over the whole journal
 * (every delivery is kept): measured ~200 ms at 100,000 deliveries and ~1.7 s at 400,000 on
 * the 2-core test machine. Run on the thread that takes webhooks, every scrape would stall
 * intake that long. A worker thread runs them on a connection of its own instead (WAL: a
 * reader never blocks the writer, and sees the last commit); the intake thread only awaits
 * the answer. If the worker fails, the counts are read on the calling thread again (logged
 * once), so /metrics keeps answering.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/index.js';
import type { Db } from '../store/index.js';
import { JOURNAL_COUNTS_SQL, journalCounts, type JournalCounts } from './journal.js';
import { stopWorker } from './module-worker.js';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const q = Object.fromEntries(Object.entries(workerData.sql).map(([k, sql]) => [k, db.prepare(sql)]));
parentPort.on('message', (m) => {
  if (m === 'stop') { db.close(); parentPort.close(); return; }
  try {
    parentPort.postMessage({ id: m.id, counts: { deliveries: q.deliveries.all(), triggers: q.triggers.all(), failedAttempts: q.failedAttempts.all() } });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

/** Longest wait for the worker's answer before the counts are read on the calling thread. */
const ANSWER_MS = 30_000;

export interface CountsReader {
  counts(): Promise<JournalCounts>;
  /** Whether the counts come from the worker (false: it failed, read inline). */
  readonly offThread: boolean;
  stop(): Promise<void>;
}

/** A reader for the store at `path` (`:memory:`: no worker, read inline on `db`). */
export function startCountsReader(db: Db, path: string, log: Logger): CountsReader {
  if (path === ':memory:') return { counts: async () => journalCounts(db), offThread: false, stop: async () => {} };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, path, sql: JOURNAL_COUNTS_SQL } });
  worker.unref();
  const waiting = new Map<number, { resolve: (c: JournalCounts) => void; timer: NodeJS.Timeout }>();
  let next = 0;
  let failed = false;
  let stopping = false;
  const inline = () => journalCounts(db);
  const fail = (why: string) => {
    if (failed || stopping) return;
    failed = true;
    log.warn('the metrics counts worker failed: /metrics reads the counts on the intake thread', { error: why });
    for (const [id, w] of waiting) {
      clearTimeout(w.timer);
      waiting.delete(id);
      w.resolve(inline());
    }
  };
  worker.on('message', (m: { id: number; counts?: JournalCounts; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    clearTimeout(w.timer);
    if (m.counts) w.resolve(m.counts);
    else {
      fail(m.error ?? 'no answer');
      w.resolve(inline());
    }
  });
  worker.on('error', (e) => fail(e.message));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      fail(`exited with code ${code}`);
      resolve();
    }),
  );
  return {
    get offThread() {
      return !failed;
    },
    counts() {
      if (failed || stopping) return Promise.resolve(inline());
      return new Promise<JournalCounts>((resolve) => {
        const id = next++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          log.warn('the metrics counts worker did not answer in time: read on the intake thread', { ms: ANSWER_MS });
          resolve(inline());
        }, ANSWER_MS);
        timer.unref();
        waiting.set(id, { resolve, timer });
        worker.postMessage({ id });
      });
    },
    async stop() {
      stopping = true;
      for (const [id, w] of waiting) {
        clearTimeout(w.timer);
        waiting.delete(id);
        w.resolve(inline());
      }
      await stopWorker(worker, exited, 'stop');
    },
  };
}
