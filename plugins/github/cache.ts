/**
 * The durable cache of conditional requests: each GET answer's ETag and body, kept in the
 * slave's store (table `github_etags`, migration `github-1`), so that the next run (every
 * few minutes, a new process) asks `If-None-Match` and GitHub answers 304, which does not
 * count against the rate limit. Entries unused for a week are dropped when it opens.
 */
import { openStore, type Db, type Migration } from '../../core/index.js';
import type { CachedAnswer, ConditionalCache } from './client.js';

export const GITHUB_MIGRATIONS: readonly Migration[] = [
  {
    id: 'github-1',
    up(db) {
      db.exec(`CREATE TABLE github_etags (
        key TEXT PRIMARY KEY,
        etag TEXT NOT NULL,
        answer TEXT NOT NULL,
        used_at INTEGER NOT NULL
      )`);
    },
  },
];

const WEEK_MS = 7 * 24 * 3600 * 1000;

export interface StoreCache extends ConditionalCache {
  close(): void;
}

export function openCache(path: string, now = () => Date.now()): StoreCache {
  const db: Db = openStore(path, { migrations: GITHUB_MIGRATIONS });
  // A cache: losing the last answers to a power cut costs a few requests, not correctness,
  // so this connection does not sync every commit; answers are written in batches.
  db.pragma('synchronous = NORMAL');
  db.prepare('DELETE FROM github_etags WHERE used_at < ?').run(now() - WEEK_MS);
  const select = db.prepare('SELECT etag, answer, used_at FROM github_etags WHERE key = ?');
  const touch = db.prepare('UPDATE github_etags SET used_at = ? WHERE key = ?');
  const upsert = db.prepare(
    'INSERT INTO github_etags (key, etag, answer, used_at) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, answer = excluded.answer, used_at = excluded.used_at',
  );
  const pending = new Map<string, CachedAnswer>();
  const flush = db.transaction(() => {
    for (const [key, answer] of pending) upsert.run(key, answer.etag, JSON.stringify({ headers: answer.headers, data: answer.data }), now());
    pending.clear();
  });
  return {
    get(key) {
      const kept = pending.get(key);
      if (kept) return kept;
      const row = select.get(key) as { etag: string; answer: string; used_at: number } | undefined;
      if (!row) return undefined;
      // Marked as used at most once a day: a poll of unchanged answers writes (and syncs) nothing.
      if (now() - row.used_at > WEEK_MS / 7) touch.run(now(), key);
      const { headers, data } = JSON.parse(row.answer) as Omit<CachedAnswer, 'etag'>;
      return { etag: row.etag, headers, data };
    },
    set(key, answer) {
      pending.set(key, answer);
      if (pending.size >= 50) flush();
    },
    close() {
      flush();
      db.close();
    },
  };
}
