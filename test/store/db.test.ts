import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StoreError, openStore, type Migration } from '../../store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const v1: Migration[] = [{ id: 'demo-1', up: (db) => db.exec('CREATE TABLE demo_items (id INTEGER PRIMARY KEY, name TEXT)') }];
const v2: Migration[] = [...v1, { id: 'demo-2', up: (db) => db.exec('ALTER TABLE demo_items ADD COLUMN size INTEGER') }];

test('openStore creates the file, applies migrations once and in order, WAL + synchronous FULL', () => {
  const path = join(dir, 'sub', 'a.db');
  const db = openStore(path, { migrations: v1 });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2);
  db.prepare('INSERT INTO demo_items (name) VALUES (?)').run('x');
  db.close();
  const again = openStore(path, { migrations: v2 });
  const ids = again.prepare('SELECT id FROM schema_migrations ORDER BY id').all();
  assert.deepEqual(ids, [{ id: 'demo-1' }, { id: 'demo-2' }]);
  assert.deepEqual(again.prepare('SELECT name, size FROM demo_items').all(), [{ name: 'x', size: null }]);
  again.close();
});

test('a store migrated by a newer byoci is refused, naming the migration', () => {
  const path = join(dir, 'newer.db');
  openStore(path, { migrations: v2 }).close();
  assert.throws(() => openStore(path, { migrations: v1 }), (error: unknown) => {
    assert.ok(error instanceof StoreError);
    assert.match(error.message, /demo-2/);
    assert.match(error.hint ?? '', /newer byoci/);
    return true;
  });
});

test('features migrate independently in one database', () => {
  const path = join(dir, 'shared.db');
  openStore(path, { migrations: v1 }).close();
  const other: Migration[] = [{ id: 'other-1', up: (db) => db.exec('CREATE TABLE other_x (k TEXT)') }];
  const db = openStore(path, { migrations: other });
  assert.equal((db.prepare("SELECT count(*) n FROM sqlite_master WHERE name IN ('demo_items','other_x')").get() as { n: number }).n, 2);
  db.close();
});

test('a failing migration leaves nothing half-applied', () => {
  const path = join(dir, 'failing.db');
  const bad: Migration[] = [{ id: 'bad-1', up: (db) => { db.exec('CREATE TABLE bad_t (k TEXT)'); throw new Error('boom'); } }];
  assert.throws(() => openStore(path, { migrations: bad }), /boom/);
  const db = openStore(path, { migrations: [] });
  assert.equal((db.prepare("SELECT count(*) n FROM sqlite_master WHERE name = 'bad_t'").get() as { n: number }).n, 0);
  db.close();
});

test('a committed write survives kill -9 of the writer', () => {
  const path = join(dir, 'killed.db');
  openStore(path, { migrations: v1 }).close();
  const script = `
    import { openStore } from ${JSON.stringify(join(process.cwd(), 'store/index.ts'))};
    const db = openStore(${JSON.stringify(path)}, { migrations: [{ id: 'demo-1', up() {} }] });
    db.prepare('INSERT INTO demo_items (name) VALUES (?)').run('committed');
    process.kill(process.pid, 'SIGKILL');`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const db = openStore(path, { migrations: v1 });
  assert.deepEqual(db.prepare('SELECT name FROM demo_items').all(), [{ name: 'committed' }]);
  db.close();
});

test('processes opening one new store at once each apply a migration at most once (no "table already exists")', async () => {
  const path = join(dir, 'race.db');
  const go = join(dir, 'race.go');
  // Each child starts, says it is ready (its modules loaded), then spins until `go` exists,
  // so that their opens meet at the same moment.
  const script = `
    import { existsSync, writeSync } from 'node:fs';
    import { openStore } from ${JSON.stringify(join(process.cwd(), 'store/index.ts'))};
    writeSync(1, 'ready\\n');
    const until = Date.now() + 30000;
    while (!existsSync(${JSON.stringify(go)}) && Date.now() < until) {}
    const db = openStore(${JSON.stringify(path)}, { migrations: [
      { id: 'demo-1', up: (db) => db.exec('CREATE TABLE demo_items (id INTEGER PRIMARY KEY, name TEXT)') },
      { id: 'demo-2', up: (db) => db.exec('CREATE TABLE demo_more (id INTEGER PRIMARY KEY)') },
    ] });
    db.close();`;
  const { spawn } = await import('node:child_process');
  const ready: Promise<void>[] = [];
  const children = Array.from({ length: 6 }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
    // Ready once it says so; a child that ends before that fails the test with its stderr.
    ready.push(
      new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        void closed.then((r) => reject(new Error(`a child ended before it was ready (exit ${r.code}): ${r.stderr}`)));
      }),
    );
    return closed;
  });
  await Promise.all(ready); // every child is up and spinning
  const { writeFileSync } = await import('node:fs');
  writeFileSync(go, '');
  const results = await Promise.all(children);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const db = openStore(path, { migrations: [] });
  assert.deepEqual(db.prepare('SELECT id FROM schema_migrations ORDER BY id').all(), [{ id: 'demo-1' }, { id: 'demo-2' }]);
  db.close();
});
