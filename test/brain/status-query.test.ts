/**
 * The status page's newest decisions are read without sorting the journal (it runs on the
 * thread that takes webhooks): by rowid, newest first, on a real store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BRAIN_MIGRATIONS, JournalReader } from '../../brain/journal.js';
import { brainTriggers, RECENT_TRIGGERS_SQL } from '../../brain/status/source.js';
import { openStore } from '../../store/index.js';

test('the newest decisions come newest first, with no sort of the whole table', () => {
  const db = openStore(':memory:', { migrations: BRAIN_MIGRATIONS });
  try {
    const insert = db.prepare(
      `INSERT INTO brain_triggers (id, rule, job, params_json, coalesce_key, state, events, created_at, next_at) VALUES (?, 'r', 'j', '{}', NULL, 'queued', 1, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run(`decision-${String(i).padStart(4, '0')}`, 1_000 + i, 1_000 + i);
    })();
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${RECENT_TRIGGERS_SQL}`).all(30) as { detail: string }[]).map((r) => r.detail).join('; ');
    assert.doesNotMatch(plan, /TEMP B-TREE/, `the query sorts: ${plan}`);
    assert.deepEqual(brainTriggers(db, 3).map((t) => t.id), ['decision-0499', 'decision-0498', 'decision-0497']);
    assert.deepEqual(new JournalReader(db).recentTriggers(2).map((t) => t.id), ['decision-0499', 'decision-0498']);
    assert.equal(brainTriggers(db, 3)[0]?.createdAt, new Date(1_499).toISOString());
  } finally {
    db.close();
  }
});
