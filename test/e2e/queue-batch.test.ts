/**
 * Issue 15's batches through the real `byoci land`, real git and the local forge: a batch
 * of 4 green lands with one push; 1 bad of 8 is found by bisection and the other 7 land;
 * proposals that conflict (with trunk, or with one ahead of them) are taken out before the
 * batch is tested. Every push the trunk receives (a post-receive hook logs old and new
 * tip) must be a tree the store records as tested green, merged onto exactly that old tip.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { QueueWorld } from '../support/queue-world.js';
import { assertPushedAsTested, logPushes, pushes, runs } from '../support/queue-runs.js';

const worlds: QueueWorld[] = [];
after(() => worlds.forEach((w) => w.remove()));

async function world(tag: string): Promise<QueueWorld> {
  const w = await QueueWorld.create(tag);
  worlds.push(w);
  logPushes(w);
  return w;
}

/** Fails when a file whose name contains "bad" is in the tree, naming it. */
const BAD = ['sh', '-c', 'for f in *bad*; do if [ -e "$f" ]; then echo "found bad file: $f"; exit 1; fi; done; exit 0'];

describe('batches through byoci land', { ...suiteNeeds('git', missingCommands('git')), concurrency: 3 }, () => {
  test('a batch of 4, all green: one push, four merge commits, each reported merged', async () => {
    const w = await world('batch4');
    for (const n of [1, 2, 3, 4]) await w.propose(String(n), `p${n}`, `2026-11-30T10:00:0${n}Z`);
    w.writeConfig({ command: BAD, extra: { queue: { batch: 4 } } });
    const result = await w.land();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p2', 'Land p3', 'Land p4']);
    assert.equal(pushes(w).length, 1, 'one push for the batch');
    const tested = runs(w).filter((r) => r.test_ms !== null);
    assert.equal(tested.length, 1, 'tested once');
    assert.equal(tested[0]!.size, 4);
    assertPushedAsTested(w);
    const tip = await w.git(['--git-dir', w.trunk, 'rev-parse', 'main']);
    for (const n of [1, 2, 3, 4]) {
      const p = w.proposal(String(n));
      assert.equal(p.status, 'Merged');
      assert.ok(p.merged_revision, 'its own merge commit');
      await w.git(['--git-dir', w.trunk, 'merge-base', '--is-ancestor', p.merged_revision!, tip]);
    }
    assert.equal(w.proposal('4').merged_revision, tip);
    assert.notEqual(w.proposal('1').merged_revision, w.proposal('2').merged_revision);
    assert.match(result.stderr, /batch size=4 proposals="local:1, local:2, local:3, local:4"/);
  });

  test('1 bad of 8 (--batch 8): bisection finds it, the other 7 land, it is rejected with its own output', async () => {
    const w = await world('batch8');
    const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6-bad', 'p7', 'p8'];
    for (const [i, n] of names.entries()) await w.propose(String(i + 1), n, `2026-11-30T10:00:0${i + 1}Z`);
    w.writeConfig({ command: BAD });
    const result = await w.land(['--batch', '8']);
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p2', 'Land p3', 'Land p4', 'Land p5', 'Land p7', 'Land p8']);
    const bad = w.proposal('6');
    assert.notEqual(bad.status, 'Merged');
    const comments = bad.comments ?? [];
    assert.equal(comments.length, 1, JSON.stringify(comments));
    assert.match(comments[0]!.body, /found bad file: p6-bad\.txt/);
    for (const n of [1, 2, 3, 4, 5, 7, 8]) assert.equal(w.proposal(String(n)).status, 'Merged', `proposal ${n}`);
    const tested = runs(w).filter((r) => r.test_ms !== null);
    // 8 red; 1-4 green (lands); 5-6 red; 5 green (lands): 6 is red on top of the tip with 5, the culprit; 7-8 green.
    assert.deepEqual(tested.map((r) => r.size), [8, 4, 2, 1, 2]);
    assert.ok(tested.length < names.length, 'fewer test runs than serial');
    assert.equal(pushes(w).length, 3);
    assertPushedAsTested(w);
    assert.match(result.stdout, /^rejected +local:6 /m);
  });

  test('conflicts are taken out before the batch is tested: with trunk alone (rejected), with one ahead (next batch)', async () => {
    const w = await world('conflict');
    await w.propose('1', 'q1', '2026-11-30T10:00:01Z', {}, { file: 'shared.txt', content: 'from q1\n' });
    await w.propose('2', 'q2', '2026-11-30T10:00:02Z', {}, { file: 'trunk.txt', content: 'from q2\n' });
    await w.propose('3', 'q3', '2026-11-30T10:00:03Z');
    await w.propose('4', 'q4', '2026-11-30T10:00:04Z', {}, { file: 'shared.txt', content: 'from q4\n' });
    await w.propose('5', 'q5', '2026-11-30T10:00:05Z');
    await w.commitOnTrunk('trunk.txt', 'on trunk\n');
    rmSync(join(w.dir, 'pushes.log'), { force: true }); // the test's own direct commit
    w.writeConfig({ command: BAD, extra: { queue: { batch: 5 } } });
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await w.landings(), ['Land q1', 'Land q3', 'Land q5']);
    assert.equal(pushes(w).length, 1, 'one push for the batch of 1, 3 and 5');
    assertPushedAsTested(w);
    for (const n of ['2', '4']) {
      const p = w.proposal(n);
      assert.notEqual(p.status, 'Merged');
      assert.match((p.comments ?? [])[0]?.body ?? '', /conflict/i, `proposal ${n} says it conflicts`);
    }
    assert.match(result.stderr, /\[local:4\] left out of the batch reason="?merges alone but conflicts with local:1/);
    const tested = runs(w).filter((r) => r.test_ms !== null);
    assert.deepEqual(tested.map((r) => r.size), [3], 'the batch tested once, holding 1, 3 and 5');
  });
});
