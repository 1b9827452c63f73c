/**
 * Issue 15's queue engine with real LXD containers, through the real `byoci land`, real git
 * and the local forge: a batch of 4 all green lands with one push; a speculative window of 3
 * with the middle proposal failing (its own failure output in its rejection, the others
 * land). Every pushed tree was tested as pushed (assertPushedAsTested); every run names the
 * container it was tested in; no container of the test's prefix is left afterwards. Also the
 * spare hint (`TestPayload.upcoming`): a batch that passes in one run warms no spare.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { LXD_TEST_IMAGE, instancesWithPrefix, lxdMissing, testPrefix } from '../support/lxd.js';
import type { QueueWorld } from '../support/queue-world.js';
import { assertPushedAsTested, pushes, queueWorlds, runs } from '../support/queue-runs.js';

const missing = missingCommands('git') ?? (await lxdMissing());
const world = queueWorlds();

/** Prints the container's name, waits, then fails when a file whose name contains "bad" is in the tree. */
const bad = (sleep: number) => ['sh', '-c', `echo "in $(hostname)"; sleep ${sleep}; for f in *bad*; do if [ -e "$f" ]; then echo "found bad file: $f"; exit 1; fi; done; exit 0`];

/** The sandboxes the store recorded per run (what `byoci queue` shows). */
function sandboxes(w: QueueWorld): Map<number, { backend: string; name: string }[]> {
  const snap = w.snapshot().targets[0]!;
  return new Map(snap.recentRuns.map((r) => [r.id, r.sandboxes.map((s) => ({ backend: s.backend, name: s.name }))]));
}

describe('the queue engine in LXD containers (byoci land)', { ...suiteNeeds('git and LXD', missing), concurrency: 2 }, () => {
  test('a batch of 4, all green, lands with one push of the tree tested in one container; no spare is warmed for nothing', async () => {
    const w = await world('lxdbatch', ['p1', 'p2', 'p3', 'p4']);
    const prefix = testPrefix('qlb');
    w.writeConfig({
      backend: 'lxd',
      command: ['sh', '-c', 'hostname; for n in 1 2 3 4; do test -f "p$n.txt" || { echo "p$n.txt missing"; exit 1; }; done'],
      extra: { plugins: { local: { dir: 'proposals', trusted: ['rita'] }, lxd: { prefix, image: LXD_TEST_IMAGE } } },
    });
    const result = await w.land(['--batch', '4']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p2', 'Land p3', 'Land p4']);
    assert.equal(pushes(w).length, 1, 'one push for the batch');
    const pushed = assertPushedAsTested(w);
    assert.equal(pushed.length, 1);
    for (const n of ['1', '2', '3', '4']) assert.equal(w.proposal(n).status, 'Merged', n);
    const all = runs(w);
    assert.equal(all.length, 1, `one run: ${JSON.stringify(all.map((r) => r.proposals))}`);
    assert.deepEqual(all[0]!.proposals, ['local:1', 'local:2', 'local:3', 'local:4']);
    const where = sandboxes(w).get(all[0]!.id) ?? [];
    assert.equal(where.length, 1, JSON.stringify(where));
    assert.equal(where[0]!.backend, 'lxd');
    assert.ok(where[0]!.name.startsWith(prefix), where[0]!.name);
    assert.match(result.stderr, new RegExp(`\\| ${where[0]!.name}$`, 'm'), 'the test ran in the container the store names');
    // One test and nothing after it (upcoming 0): the run made exactly one container.
    assert.doesNotMatch(result.stderr, /spare container ready/, 'no spare was warmed');
    assert.equal((result.stderr.match(/container created/g) ?? []).length, 1, 'one container made');
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'no container left');
  });

  test('a window of 3, the middle failing: three containers at once; p1 and p3 land, p2 is rejected with its own output', async () => {
    const w = await world('lxdwindow', ['p1', 'p2-bad', 'p3']);
    const prefix = testPrefix('qlw');
    w.writeConfig({
      backend: 'lxd',
      command: bad(3),
      extra: {
        queue: { window: 3, slots: 3 },
        plugins: { local: { dir: 'proposals', trusted: ['rita'] }, lxd: { prefix, image: LXD_TEST_IMAGE, spares: 2 } },
      },
    });
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1', 'Land p3']);
    const middle = w.proposal('2');
    assert.notEqual(middle.status, 'Merged');
    assert.equal((middle.comments ?? []).length, 1);
    const body = middle.comments![0]!.body;
    assert.match(body, /found bad file: p2-bad\.txt/, 'its own failure output');
    assert.doesNotMatch(body, /p[13]\.txt/, 'no other proposal named in its output');
    assert.equal(w.proposal('1').status, 'Merged');
    assert.equal(w.proposal('3').status, 'Merged');
    assert.equal(pushes(w).length, 2);
    assertPushedAsTested(w);

    const all = runs(w);
    const [r1, r2, r3] = all;
    assert.deepEqual([r1!.proposals, r2!.proposals, r3!.proposals], [['local:1'], ['local:1', 'local:2'], ['local:1', 'local:2', 'local:3']]);
    assert.ok(r3!.started_at < r1!.finished_at!, 'the third tree started before the first finished');
    const again = all.find((r) => r.proposals.includes('local:3') && !r.proposals.includes('local:2'));
    assert.ok(again && again.state === 'landed', `p3 tested again without p2 and landed: ${JSON.stringify(all.map((r) => [r.proposals, r.state]))}`);
    // Each tested run in a container of its own, named by the store.
    const where = sandboxes(w);
    const names = all.filter((r) => r.test_ms !== null || r === r3).flatMap((r) => where.get(r.id) ?? []);
    for (const s of names) assert.ok(s.backend === 'lxd' && s.name.startsWith(prefix), JSON.stringify(s));
    const first3 = [r1, r2, r3].map((r) => where.get(r!.id)?.[0]?.name);
    assert.equal(new Set(first3).size, 3, `three containers at once: ${first3.join(', ')}`);
    // The window's tests say more follow: spares were warmed (at most spares: 2 at a time).
    assert.match(result.stderr, /spare container ready/);
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'no container left (spares included)');
  });
});
