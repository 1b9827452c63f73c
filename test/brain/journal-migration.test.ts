/**
 * Migration brain-5 on a store written before it (brain-1..4): the index of every decision
 * by (coalesce_key, state) becomes a partial index of the pending decisions that have a key.
 * The rows written before show on the status page and in /metrics as they did, a land event
 * still joins the pending decision of its target written before the migration, and a
 * decision leaves the index once it is taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { brainConfigSchema, metricsText, statusView } from '../../brain/index.js';
import { fromGithub } from '../../brain/events.js';
import { BRAIN_MIGRATIONS, Journal } from '../../brain/journal.js';
import { Counters } from '../../brain/metrics.js';
import { decide } from '../../brain/rules.js';
import { QUEUE_MIGRATIONS } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../../core/test-report/index.js';
import { parseEvent } from '../../plugins/github/webhooks.js';
import { openStore } from '../../store/index.js';
import { approval, rulesFor } from './helpers.js';

const rules = brainConfigSchema.parse({ sources: ['github'], jenkins: { url: 'http://127.0.0.1:9/', user: 'u' }, rules: rulesFor() }).rules;
const OTHERS = [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS];

function approvalEvent(delivery: string) {
  return fromGithub(parseEvent('pull_request_review', delivery, approval({ repo: 'Codertocat/Hello-World', number: 7, base: 'master' })), delivery);
}

const indexes = (db: ReturnType<typeof openStore>) =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'brain_triggers' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);

describe('journal migration brain-5', () => {
  test('a brain-4 store migrates; its rows show on the status page and in /metrics; land events still join its pending decision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-brain5-'));
    const path = join(dir, 'byoci.db');
    const now = Date.now();
    try {
      // The store as the brain left it before brain-5 (rows written as Journal wrote them).
      const old = openStore(path, { migrations: [...OTHERS, ...BRAIN_MIGRATIONS.filter((m) => m.id !== 'brain-5')] });
      assert.ok(indexes(old).includes('brain_triggers_coalesce'));
      const delivery = old.prepare(
        `INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', ?, 'pull_request_review', 'pr-approved', 'Codertocat/Hello-World', 's', '{}', 100, ?)`,
      );
      const trigger = old.prepare(
        `INSERT INTO brain_triggers (id, rule, job, params_json, coalesce_key, state, events, created_at, next_at, attempts, queue_url) VALUES (?, ?, ?, '{}', ?, ?, 1, ?, ?, ?, ?)`,
      );
      const link = old.prepare(`INSERT INTO brain_trigger_deliveries (trigger_id, source, delivery_id) VALUES (?, 'github', ?)`);
      old.transaction(() => {
        delivery.run('old-1', now - 60_000);
        trigger.run('old-sent', 'hello-land', 'hello-land', 'land:hello-land', 'queued', now - 60_000, now - 59_000, 1, 'http://jenkins/queue/item/1/');
        link.run('old-sent', 'old-1');
        old.prepare(`INSERT INTO brain_attempts (trigger_id, attempt, at, outcome, detail) VALUES ('old-sent', 1, ?, 'queued', 'x')`).run(now - 59_000);
        delivery.run('old-2', now - 100);
        trigger.run('old-pending', 'hello-land', 'hello-land', 'land:hello-land', 'pending', now - 100, now + 60_000, 0, null);
        link.run('old-pending', 'old-2');
        delivery.run('old-3', now - 50);
        trigger.run('old-push', 'hello-push', 'hello-test', null, 'pending', now - 50, now - 50, 0, null);
        link.run('old-push', 'old-3');
      })();
      old.close();

      const db = openStore(path, { migrations: [...OTHERS, ...BRAIN_MIGRATIONS] });
      try {
        const names = indexes(db);
        assert.ok(names.includes('brain_triggers_pending_key'), names.join(' '));
        assert.ok(!names.includes('brain_triggers_coalesce'), names.join(' '));
        assert.deepEqual(
          (db.prepare(`SELECT id FROM brain_triggers INDEXED BY brain_triggers_pending_key WHERE coalesce_key IS NOT NULL AND state = 'pending'`).all() as { id: string }[]).map((r) => r.id),
          ['old-pending'],
          'the index holds the pending decisions with a key only',
        );

        const view = statusView(db);
        assert.equal(view.deliveries, 3);
        assert.deepEqual(
          view.triggers.map((t) => [t.id, t.state]),
          [
            ['old-push', 'pending'],
            ['old-pending', 'pending'],
            ['old-sent', 'queued'],
          ],
        );
        const metrics = metricsText(db, new Counters(), {}, now);
        assert.match(metrics, /^byoci_brain_triggers\{job="hello-land",state="pending"\} 1$/m);
        assert.match(metrics, /^byoci_brain_triggers\{job="hello-land",state="queued"\} 1$/m);
        assert.match(metrics, /^byoci_brain_triggers\{job="hello-test",state="pending"\} 1$/m);
        assert.match(metrics, /^byoci_brain_journaled_deliveries\{source="github",kind="pr-approved"\} 3$/m);

        const journal = new Journal({ db, decide: (e) => decide(rules, e), coalesceMs: 1000 });
        try {
          // Joins the decision pending from before the migration (one build for the burst).
          assert.deepEqual(await journal.accept(approvalEvent('new-1'), 100), { outcome: 'accepted', triggers: ['old-pending'] });
          assert.equal(journal.trigger('old-pending')?.events, 2);
          assert.equal(statusView(db).triggers.find((t) => t.id === 'old-pending')?.events, 2);
          // Taken: out of the index, so the next land event makes a decision of its own.
          assert.equal((await journal.beginAttempt('old-pending'))?.state, 'sending');
          const next = await journal.accept(approvalEvent('new-2'), 100);
          assert.equal(next.outcome, 'accepted');
          const [id] = next.outcome === 'accepted' ? next.triggers : [];
          assert.ok(id && id !== 'old-pending', `a new decision, not ${id}`);
          assert.equal(journal.trigger(id)?.coalesceKey, 'land:hello-land');
          assert.deepEqual(
            (db.prepare(`SELECT id FROM brain_triggers INDEXED BY brain_triggers_pending_key WHERE coalesce_key IS NOT NULL AND state = 'pending'`).all() as { id: string }[]).map((r) => r.id),
            [id],
          );
          // A redelivery of a delivery from before the migration is still a duplicate.
          assert.deepEqual(await journal.accept(approvalEvent('old-2'), 100), { outcome: 'duplicate' });
        } finally {
          await journal.close();
        }
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
