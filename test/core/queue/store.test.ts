import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../../core/config.js';
import { ConfigError, formatProblem } from '../../../core/errors.js';
import { processOwner } from '../../../core/owner.js';
import { QUEUE_MIGRATIONS, QueueStore, openQueueStore, queueSnapshot, targetKey } from '../../../core/queue/index.js';
import { openStore } from '../../../store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-queue-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function newStore(name: string): QueueStore {
  return new QueueStore(openStore(join(dir, `${name}.db`), { migrations: QUEUE_MIGRATIONS }));
}

const TARGET = { key: 'git:/srv/trunk#main', vcs: 'git', url: '/srv/trunk.git', branch: 'main', project: 'calc' };

function entry(store: QueueStore, id: string, approvedAt: string, priority = 1) {
  return store.addEntry({
    targetKey: TARGET.key, proposalId: id, forge: 'local', project: 'calc', title: `t ${id}`, url: `u ${id}`,
    approvedRevision: 'a'.repeat(40), approvedAt, approvedAtFrom: 'forge', priority, priorityName: priority > 1 ? 'high' : 'normal', priorityFrom: 'default',
  });
}

describe('queue store', () => {
  test('target keys: one per branch across URL spellings of one repository', () => {
    assert.equal(targetKey({ vcs: 'git', url: 'https://git.launchpad.net/brz', branch: 'master' }), 'git:git.launchpad.net/brz#master');
    assert.equal(targetKey({ vcs: 'git', url: 'git+ssh://vila@git.launchpad.net/brz/', branch: 'master' }), 'git:git.launchpad.net/brz#master');
    assert.equal(targetKey({ vcs: 'git', url: 'git@GitHub.com:owner/repo.git', branch: 'main' }), 'git:github.com/owner/repo#main');
    assert.equal(targetKey({ vcs: 'git', url: 'https://github.com/owner/repo.git', branch: 'main' }), 'git:github.com/owner/repo#main');
    assert.equal(targetKey({ vcs: 'git', url: 'file:///srv/trunk.git', branch: 'main' }), targetKey({ vcs: 'git', url: '/srv/trunk.git/', branch: 'main' }));
    assert.notEqual(targetKey({ vcs: 'git', url: '/srv/trunk.git', branch: 'main' }), targetKey({ vcs: 'git', url: '/srv/trunk.git', branch: 'next' }));
    assert.equal(targetKey({ vcs: 'bzr', url: 'lp:brz', branch: '' }), 'bzr:lp:brz');
  });

  test('order: priority first, then approval time, whatever the insertion order', () => {
    const store = newStore('order');
    store.upsertTarget(TARGET);
    entry(store, 'local:A', '2026-01-01T10:00:02.000Z');
    entry(store, 'local:C', '2026-01-01T10:00:03.000Z');
    entry(store, 'local:B', '2026-01-01T10:00:01.000Z');
    assert.deepEqual(store.openEntries(TARGET.key).map((e) => e.proposal_id), ['local:B', 'local:A', 'local:C']);
    entry(store, 'local:D', '2026-01-01T10:00:04.000Z', 2);
    assert.deepEqual(store.openEntries(TARGET.key).map((e) => e.proposal_id), ['local:D', 'local:B', 'local:A', 'local:C']);
    const snap = queueSnapshot(store.db);
    assert.deepEqual(snap.targets[0]!.entries.map((e) => [e.position, e.proposal, e.priority]), [
      [1, 'local:D', 'high'], [2, 'local:B', 'normal'], [3, 'local:A', 'normal'], [4, 'local:C', 'normal'],
    ]);
    assert.equal(snap.targets[0]!.entries[0]!.waitingFor, 'the next land run');
    assert.equal(snap.targets[0]!.entries[1]!.waitingFor, '1 entry ahead of it');
  });

  test('one open entry per proposal and target', () => {
    const store = newStore('unique');
    store.upsertTarget(TARGET);
    const first = entry(store, 'local:1', '2026-01-01T10:00:00.000Z');
    assert.throws(() => entry(store, 'local:1', '2026-01-01T10:00:05.000Z'), /UNIQUE/);
    store.setState(first.id, 'superseded', 're-approved');
    assert.equal(entry(store, 'local:1', '2026-01-01T10:00:05.000Z').state, 'queued');
  });

  test('lease: a live holder is named; a dead one is taken over', () => {
    const store = newStore('lease');
    const me = processOwner();
    assert.deepEqual(store.acquire(TARGET.key, 'run-a', me), { ok: true });
    const second = store.acquire(TARGET.key, 'run-b', me);
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.holder.holder, 'run-a');
    // A holder whose process is gone (pid start time differs) no longer holds it.
    store.db.prepare("UPDATE queue_leases SET pid_start = 'gone'").run();
    assert.deepEqual(store.acquire(TARGET.key, 'run-b', me), { ok: true });
    store.release(TARGET.key, 'run-b');
    assert.equal(store.lease(TARGET.key), undefined);
  });

  test('a dead run is buried: crashed, steps closed, its entries queued again; the snapshot says so', () => {
    const store = newStore('bury');
    store.upsertTarget(TARGET);
    const e = entry(store, 'local:1', '2026-01-01T10:00:00.000Z');
    const run = store.startRun({ targetKey: TARGET.key, project: 'calc', botRun: 'r1', owner: { ...processOwner(), pidStart: 'dead' }, attempt: 1, entries: [e.id] });
    store.beginStep(run.id, 'test');
    let snap = queueSnapshot(store.db).targets[0]!;
    assert.equal(snap.entries[0]!.state, 'testing');
    assert.equal(snap.entries[0]!.run?.step?.name, 'test');
    const dead = store.deadRuns(TARGET.key);
    assert.deepEqual(dead.map((r) => r.id), [run.id]);
    store.buryRun(dead[0]!, 'the run died');
    snap = queueSnapshot(store.db).targets[0]!;
    assert.equal(snap.entries[0]!.state, 'queued');
    assert.equal(snap.entries[0]!.waitingFor, 'the run died');
    assert.equal(store.run(run.id)!.state, 'crashed');
    assert.equal(store.steps(run.id)[0]!.result, 'crashed');
  });
});

describe('queue config', () => {
  test('an unknown priority name is reported with file and line', () => {
    const text = 'queue:\n  priorities: [low, normal, high]\n  proposals:\n    "local:3": hgh\n  freeze:\n    calc: { reason: release, below: urgent }\n';
    assert.throws(() => loadConfig({ text, file: '/etc/byoci.yaml', env: {} }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const lines = error.problems.map(formatProblem);
      assert.ok(lines.some((l) => /^\/etc\/byoci\.yaml:4:\d+: queue\.proposals\.local:3: unknown priority "hgh"/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /^\/etc\/byoci\.yaml:6:\d+: queue\.freeze\.calc\.below: unknown priority "urgent"/.test(l)), lines.join('\n'));
      return true;
    });
  });

  test('a store path that is not writable is a config error with file and line', () => {
    // A regular file where a directory should be: not writable, for root too.
    const ro = join(dir, 'a-file');
    writeFileSync(ro, '');
    const config = loadConfig({ text: `workdir: ${JSON.stringify(dir)}\nstore:\n  path: ${JSON.stringify(join(ro, 'x', 'byoci.db'))}\n`, file: '/etc/byoci.yaml', env: {} });
    assert.throws(() => openQueueStore(config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(formatProblem(error.problems[0]!), /^\/etc\/byoci\.yaml:3:\d+: store\.path: the store's directory .* is not writable/);
      return true;
    });
  });
});
