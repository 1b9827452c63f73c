/**
 * The slave's durable store: one SQLite database (better-sqlite3) shared by the landing
 * queue, the brain's delivery journal and the flake ledger. Each feature owns its tables and
 * declares them as migrations with ids of its own (`queue-1`, `brain-1`, …); `openStore`
 * applies the missing ones in order, each in a transaction, and records them in
 * `schema_migrations`. A database written by a newer byoci (a migration id this one does not
 * know) is refused rather than guessed at.
 *
 * Durability: WAL journal with `synchronous = FULL`, so a committed transaction survives
 * kill -9 and power loss; `busy_timeout` lets two processes (two bots, a bot and the brain)
 * share the file. This module imports nothing from core/ or plugins/.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/** One schema step of a feature. `up` runs inside a transaction; never edit a released one. */
export interface Migration {
  /** Unique across features: `<feature>-<n>`, e.g. `queue-1`. */
  id: string;
  up(db: Db): void;
}

/** Codes of the operator-error catalogue (core/errors.ts, docs/errors.md) a store error carries. */
export type StoreErrorCode = 'store-unusable' | 'store-newer' | 'store-locked';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly code: StoreErrorCode = 'store-unusable',
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

function storeCode(error: unknown): StoreErrorCode {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? 'store-locked' : 'store-unusable';
}

export interface OpenStoreOptions {
  /** Migrations of every feature that will use this handle, in order per feature. */
  migrations: readonly Migration[];
  /** Milliseconds a writer waits for another process's lock. Default 10 s. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Opens (creating it and its directory when missing) and migrates the store at `path`. */
export function openStore(path: string, options: OpenStoreOptions): Db {
  if (!options.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  } catch (error) {
    throw new StoreError(`cannot open the store ${path}: ${(error as Error).message}`, 'check that the directory exists and is writable by the slave user', storeCode(error));
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    if (!options.readonly) migrate(db, options.migrations);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    throw new StoreError(`cannot use the store ${path}: ${(error as Error).message}`, undefined, storeCode(error));
  }
}

/** Applies every migration not yet recorded, in the order given. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new StoreError(`migration ${m.id} is declared twice`);
    ids.add(m.id);
  }
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id),
  );
  const features = new Set(migrations.map((m) => featureOf(m.id)));
  for (const id of applied) {
    if (features.has(featureOf(id)) && !ids.has(id)) {
      throw new StoreError(
        `the store has migration ${id}, which this byoci does not know`,
        'it was written by a newer byoci: upgrade this slave, or point the store path elsewhere',
        'store-newer',
      );
    }
  }
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  const recorded = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      // Another process opening the same new store may have applied it while this one
      // waited for the write lock: look again under the lock.
      if (recorded.get(m.id)) return;
      m.up(db);
      record.run(m.id, new Date().toISOString());
    }).immediate();
  }
}

function featureOf(id: string): string {
  return id.replace(/-\d+$/, '');
}
