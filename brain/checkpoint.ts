/**
 * WAL checkpoints off the intake thread. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1000 WAL pages and, with synchronous=FULL, fsyncs the database file
 * there: one delivery in a hundred would wait for it. The brain turns that off on its own
 * connection and runs `PRAGMA wal_checkpoint(PASSIVE)` from a worker thread with a
 * connection of its own instead (PASSIVE never blocks a writer; the next writer restarts a
 * fully checkpointed WAL from its beginning). If the worker fails, the automatic checkpoint
 * is switched back on so the WAL cannot grow without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/index.js';
import type { Db } from '../store/index.js';
import { stopWorker } from './module-worker.js';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
let last = 0;
const tick = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.checkpointed !== last) { last = r.checkpointed; parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed }); }
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); tick(); db.close(); parentPort.close(); } });
`;

export interface Checkpointer {
  /** Last checkpoint seen: WAL frames and frames copied into the database. */
  readonly last: { log: number; checkpointed: number } | undefined;
  stop(): Promise<void>;
}

export function startCheckpointer(db: Db, path: string, options: { intervalMs?: number; log: Logger }): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, path, intervalMs: options.intervalMs ?? 200 } });
  db.pragma('wal_autocheckpoint = 0');
  let last: { log: number; checkpointed: number } | undefined;
  let failed = false;
  const fallBack = (why: string) => {
    if (failed) return;
    failed = true;
    options.log.warn('WAL checkpoint worker failed: automatic checkpoints back on the intake thread', { error: why });
    try {
      db.pragma('wal_autocheckpoint = 1000');
    } catch {
      // the store is closing
    }
  };
  worker.on('message', (m: { log?: number; checkpointed?: number; error?: string }) => {
    if (m.error) fallBack(m.error);
    else last = { log: m.log ?? 0, checkpointed: m.checkpointed ?? 0 };
  });
  worker.on('error', (e) => fallBack(e.message));
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!stopping) fallBack(`exited with code ${code}`);
      resolve();
    }),
  );
  worker.unref();
  return {
    get last() {
      return last;
    },
    async stop() {
      stopping = true;
      worker.ref(); // keeps the process alive until the last checkpoint is done
      await stopWorker(worker, exited, 'stop');
    },
  };
}
