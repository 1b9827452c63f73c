/**
 * The retention's worker thread (started by retention.ts): a connection of its own to the
 * store, one batch of deletes per message. Its commits do not sync (synchronous=NORMAL:
 * in WAL mode never corrupt; a delete lost to a power loss is done again at the next
 * round), so the write lock is held for the deletes only, not for an fsync; the journal's
 * next fdatasync covers them anyway.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/index.js';
import { Purger, type PurgeRequest } from './retention.js';

const port = parentPort;
if (!port) throw new Error('brain/retention-worker.ts runs as a worker thread (see retention.ts)');

try {
  const db = openStore((workerData as { storePath: string }).storePath, { migrations: [], busyTimeoutMs: 5_000 }); // the intake thread migrated it
  db.pragma('synchronous = NORMAL');
  const purger = new Purger(db);
  port.on('message', (m: { t: 'batch'; id: number; request: PurgeRequest } | { t: 'stop' }) => {
    if (m.t === 'stop') {
      db.close();
      port.close();
      return;
    }
    try {
      port.postMessage({ t: 'done', id: m.id, result: purger.batch(m.request) });
    } catch (error) {
      port.postMessage({ t: 'error', id: m.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  port.postMessage({ t: 'ready' });
} catch (error) {
  port.postMessage({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
}
