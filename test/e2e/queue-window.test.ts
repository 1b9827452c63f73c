/**
 * Issue 15's speculative window through the real `byoci land`, real git and the local forge
 * (backend unsafe-host, as the other queue tests): a window of 3 with the middle proposal
 * failing; optimistic landing; a window above the slave's slots (or memory) refused. Every
 * push the trunk receives must be a tree the store records as tested green over the tip it
 * was merged onto (assertPushedAsTested).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { assertPushedAsTested, pushes, queueWorlds, runs } from '../support/queue-runs.js';
import { BWRAP_MISSING } from '../plugins/bwrap/support.js';

const world = queueWorlds();

/** After `sleep` seconds, fails when a file whose name contains "bad" is in the tree, naming it. */
const bad = (sleep: number) => ['sh', '-c', `sleep ${sleep}; for f in *bad*; do if [ -e "$f" ]; then echo "found bad file: $f"; exit 1; fi; done; exit 0`];

describe('speculative window through byoci land', { ...suiteNeeds('git', missingCommands('git')), concurrency: 3 }, () => {
  test('window 3, the middle one failing: the first lands, the third is tested again without it and lands, the middle is rejected with its own output', async () => {
    const w = await world('window3', ['p1', 'p2-bad', 'p3']);
    w.writeConfig({ command: bad(1), extra: { queue: { window: 3, slots: 3 } } });
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p3']);
    const all = runs(w);
    // tip+p1, tip+p1+p2, tip+p1+p2+p3 under test at once.
    const [r1, r2, r3] = all;
    assert.deepEqual([r1!.proposals, r2!.proposals, r3!.proposals], [['local:1'], ['local:1', 'local:2'], ['local:1', 'local:2', 'local:3']]);
    assert.ok(r3!.started_at < r1!.finished_at!, 'the third tree started before the first finished');
    assert.equal(r1!.state, 'landed');
    assert.equal(r2!.state, 'rejected');
    assert.ok(['discarded', 'rejected'].includes(r3!.state), `the run holding the culprit is thrown away or red: ${r3!.state}`);
    // The third is tested again without the middle one and lands.
    const again = all.find((r) => r.proposals.includes('local:3') && !r.proposals.includes('local:2'));
    assert.ok(again, 'a run of p3 without p2');
    assert.equal(again.state, 'landed');
    const middle = w.proposal('2');
    assert.notEqual(middle.status, 'Merged');
    assert.equal((middle.comments ?? []).length, 1);
    assert.match(middle.comments![0]!.body, /found bad file: p2-bad\.txt/);
    assert.equal(w.proposal('1').status, 'Merged');
    assert.equal(w.proposal('3').status, 'Merged');
    assert.equal(pushes(w).length, 2);
    assertPushedAsTested(w);
    assert.match(result.stderr, /\[local:2\] culprit/);
  });

  test('optimistic: a green tree holding the ones ahead lands them all at once, their own runs thrown away', async () => {
    const w = await world('optimistic', ['p1', 'p2', 'p3']);
    // The tree holding p3 passes at once; the shorter ones would take a minute.
    const slow = ['sh', '-c', 'if [ -e p3.txt ]; then exit 0; fi; sleep 60; exit 0'];
    w.writeConfig({ command: slow, extra: { queue: { window: 3, slots: 3, optimistic: true } } });
    const result = await w.land();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p2', 'Land p3']);
    assert.equal(pushes(w).length, 1, 'one push of the tree holding all three');
    assertPushedAsTested(w);
    const all = runs(w);
    const full = all.find((r) => r.proposals.length === 3)!;
    assert.equal(full.state, 'landed');
    for (const r of all.filter((x) => x.proposals.length < 3)) {
      assert.equal(r.state, 'discarded', `run ${r.id} (${r.proposals.join(', ')})`);
      assert.match(r.detail ?? '', new RegExp(`landed in run ${full.id}`));
    }
    for (const n of ['1', '2', '3']) assert.equal(w.proposal(n).status, 'Merged');
  });

  test('a window above the slave\'s slots or memory is refused, naming both numbers', async () => {
    const w = await world('slots', ['p1', 'p2']);
    w.writeConfig({ command: ['true'], extra: { queue: { window: 4, slots: 2 } } });
    let result = await w.land();
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /queue\.window 4 is above queue\.slots 2/);
    w.writeConfig({ command: ['true'], extra: { queue: { slots: 2 } } });
    result = await w.land(['--window', '3']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--window 3 is above queue\.slots 2/);
    result = await w.land(['--window', 'x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--window: not a whole number from 1 to 64: "x"/);
    w.writeConfig({ command: ['true'], extra: { queue: { window: 3, slots: 4, memory: '4GiB' } } });
    result = await w.land();
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /sets no test\.limits\.memory/);
    assert.deepEqual(await w.landings(), [], 'nothing landed');
    assert.equal(pushes(w).length, 0);
  });
});

describe('speculative window in bubblewrap sandboxes', { ...suiteNeeds('bwrap', missingCommands('git') ?? BWRAP_MISSING) }, () => {
  test('window 2 of 3 proposals, the middle failing, each tree in a sandbox of its own: p1 and p3 land, p2 is rejected', async () => {
    const w = await world('window-bwrap', ['p1', 'p2-bad', 'p3']);
    w.writeConfig({ backend: 'bwrap', command: bad(1), extra: { queue: { window: 2, slots: 2 } } });
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p3']);
    assert.match(w.proposal('2').comments?.[0]?.body ?? '', /found bad file: p2-bad\.txt/);
    const all = runs(w);
    assert.deepEqual(all.slice(0, 2).map((r) => r.proposals), [['local:1'], ['local:1', 'local:2']]);
    assert.ok(all[1]!.started_at < all[0]!.finished_at!, 'two sandboxes at once');
    assertPushedAsTested(w);
  });
});
