/**
 * The journal's group commit on a real store file: a delivery is answered, and its trigger
 * handed to the dispatcher, only once the WAL holding its commit was fdatasync'ed (done off
 * the event loop); an attempt record is on disk before its request; a failed sync refuses
 * every later write. Decision ids sort by time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brainConfigSchema } from '../../brain/index.js';
import { fromGithub } from '../../brain/events.js';
import { BRAIN_MIGRATIONS, decisionId, Journal } from '../../brain/journal.js';
import { decide } from '../../brain/rules.js';
import { parseEvent } from '../../plugins/github/webhooks.js';
import { openStore, type Db } from '../../store/index.js';
import { push } from './helpers.js';

const rules = brainConfigSchema.parse({
  sources: ['github'],
  jenkins: { url: 'http://127.0.0.1:9/', user: 'u' },
  rules: [{ name: 'main-push', on: ['push'], repo: 'octo/calc', branch: 'main', job: 'calc-test', params: { REVISION: '${revision}' } }],
}).rules;

function pushEvent(n: number) {
  const payload = push({ repo: 'octo/calc', branch: 'main', after: n.toString(16).padStart(40, '0') });
  return fromGithub(parseEvent('push', `delivery-${n}`, payload), `delivery-${n}`);
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('journal: group commit, on disk before the answer', () => {
  let dir: string;
  let db: Db;
  let journal: Journal;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-journal-'));
    db = openStore(join(dir, 'byoci.db'), { migrations: BRAIN_MIGRATIONS });
    journal = new Journal({ db, decide: (e) => decide(rules, e), coalesceMs: 1000 });
  });
  after(async () => {
    await journal.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a delivery is committed, then synced; its trigger is not due before the sync', async () => {
    let answered = false;
    const accepted = journal.accept(pushEvent(1), 100).then((r) => ((answered = true), r));
    await turn(); // the group commit ran; its fdatasync is under way in the thread pool
    const row = db.prepare(`SELECT id FROM brain_triggers`).get() as { id: string } | undefined;
    assert.ok(row, 'the decision is committed');
    assert.equal(answered, false, 'no answer before the sync');
    assert.deepEqual(journal.due(10), [], 'not handed to the dispatcher before the sync');
    assert.equal(journal.syncPending, true);
    const result = await accepted;
    assert.deepEqual(result, { outcome: 'accepted', triggers: [row.id] });
    assert.ok(journal.commits.syncs >= 1, 'an fdatasync completed before the answer');
    assert.equal(journal.syncPending, false);
    assert.deepEqual(journal.due(10), [row.id]);
  });

  test('deliveries of one turn share one commit and one sync', async () => {
    const commits = journal.commits.count;
    const syncs = journal.commits.syncs;
    const results = await Promise.all([2, 3, 4, 5].map((n) => journal.accept(pushEvent(n), 100)));
    assert.deepEqual(results.map((r) => r.outcome), ['accepted', 'accepted', 'accepted', 'accepted']);
    assert.equal(journal.commits.count - commits, 1);
    assert.equal(journal.commits.syncs - syncs, 1);
    assert.deepEqual(await journal.accept(pushEvent(2), 100), { outcome: 'duplicate' });
  });

  test('an attempt record is on disk before the attempt goes on', async () => {
    const [id] = journal.due(1);
    assert.ok(id);
    const syncs = journal.commits.syncs;
    const taken = await journal.beginAttempt(id);
    assert.equal(taken?.state, 'sending');
    assert.equal(taken?.attempts, 1);
    assert.equal(journal.commits.syncs - syncs, 1, 'beginAttempt waited for an fdatasync');
    assert.equal(await journal.beginAttempt(id), undefined, 'not pending any more: not taken twice');
  });

  test('a failed sync fails the delivery and every write after it', async () => {
    const other = openStore(join(dir, 'failing.db'), { migrations: BRAIN_MIGRATIONS });
    const failing = new Journal({ db: other, decide: (e) => decide(rules, e), coalesceMs: 1000 });
    await failing.accept(pushEvent(10), 100); // opens the WAL's descriptor
    // A descriptor that is not open stands in for a disk answering EIO.
    (failing as unknown as { walFd: number }).walFd = 2 ** 30;
    await assert.rejects(failing.accept(pushEvent(11), 100), /could not be synced to disk \(EBADF\): restart the brain/);
    await assert.rejects(failing.accept(pushEvent(12), 100), /could not be synced/);
    assert.match(String(failing.failure?.message), /restart the brain/);
    (failing as unknown as { walFd: number | undefined }).walFd = undefined;
    other.close();
  });
});

test('decision ids: UUIDs in the version 7 layout, in time order', () => {
  const a = decisionId(Date.parse('2026-12-01T10:00:00Z'));
  const b = decisionId(Date.parse('2026-12-01T10:00:00.001Z'));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b, `${a} sorts before ${b}`);
  assert.notEqual(decisionId(0), decisionId(0));
});
