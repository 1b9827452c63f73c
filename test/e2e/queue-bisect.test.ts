/**
 * Issue 15's harder batch cases through the real `byoci land`, real git and the local
 * forge (unsafe-host backend, a synthetic test that fails when a file named *bad* is in
 * the tree): 2 bad of 16; trunk moving between a batch's merge and its push; kill -9 of
 * the bot during a bisection (after a green part's push; during a red part's test), then
 * a rerun that lands each proposal exactly once. Every push trunk receives is checked
 * against the store: a tested tree over exactly the tip it was tested on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { byoci } from '../support/cli.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { assertPushedAsTested, pushes, queueWorlds, runs } from '../support/queue-runs.js';

const world = queueWorlds();

/** Fails when a file whose name contains "bad" is in the tree, naming it. */
const BAD_CHECK = 'for f in *bad*; do if [ -e "$f" ]; then echo "found bad file: $f"; exit 1; fi; done; exit 0';
const BAD = ['sh', '-c', BAD_CHECK];

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i + 1));
}

describe('batches: 2 bad of 16, trunk moving, kill -9 during a bisection', { ...suiteNeeds('git', missingCommands('git')), concurrency: 4 }, () => {
  test('2 bad of 16: both culprits rejected with their own output, the 14 others land, fewer runs than serial', async () => {
    const names = ids(16).map((n) => (n === '5' || n === '12' ? `p${n}-bad` : `p${n}`));
    const w = await world('bad2of16', names);
    w.writeConfig({ command: BAD, extra: { queue: { batch: 16 } } });
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    const good = names.filter((n) => !n.endsWith('-bad'));
    assert.deepEqual(await w.landings(), good.map((n) => `Land ${n}`), 'the 14 land in queue order, each once');
    for (const [i, n] of names.entries()) {
      const p = w.proposal(String(i + 1));
      if (n.endsWith('-bad')) {
        assert.equal(p.status, 'Needs review', n);
        const comments = p.comments ?? [];
        assert.equal(comments.length, 1, `${n}: ${JSON.stringify(comments)}`);
        assert.match(comments[0]!.body, new RegExp(`found bad file: ${n}\\.txt`), `${n} is rejected with its own output`);
        const other = n === 'p5-bad' ? 'p12-bad' : 'p5-bad';
        assert.ok(!comments[0]!.body.includes(other), `${n}'s comment does not carry ${other}'s output`);
      } else {
        assert.equal(p.status, 'Merged', n);
        const said = (p.comments ?? []).map((c) => c.body);
        assert.equal(said.length, 1, `${n}: one landing comment`);
        assert.match(said[0]!, /^Landed (in|alone in) run \d+ of batch \(local:1, .*local:16\).*; runs it was in: 1(, \d+)*\.$/, n);
      }
    }
    const all = runs(w);
    const tested = all.filter((r) => r.test_ms !== null);
    assert.equal(tested[0]!.size, 16, 'the whole batch is tested first');
    assert.ok(tested.length < 16, `fewer test runs than serial (${tested.map((r) => r.size).join(' ')})`);
    // Plain bisection's bound for k = 2 culprits of N = 16: 1 + 2k log2(N/k) = 13 runs.
    assert.ok(tested.length <= 13, `no more runs than bisection (${tested.map((r) => r.size).join(' ')})`);
    const pushed = assertPushedAsTested(w);
    assert.ok(pushed.length >= 1 && pushed.length <= 14);
    const tips = new Set([all[0]!.trunk_revision, ...pushed.map((p) => p.new)]);
    // Why each culprit was judged so: the run that rejected it is red, ends with it, and what
    // is ahead of it there was proven green on the same tip (or is nothing: it sat on trunk).
    const snap = w.snapshot().targets[0]!;
    for (const id of ['local:5', 'local:12']) {
      const e = snap.takenOut.find((x) => x.proposal === id);
      assert.ok(e, `${id} taken out`);
      assert.equal(e.runs[0], 1, `${id}: in the whole batch first`);
      const judged = all.find((r) => r.id === e.runs.at(-1))!;
      assert.equal(judged.proposals.at(-1), id, `${id}: judged in a run it ends (${judged.proposals.join(' ')})`);
      // Its comment says so: the runs it was in, the run that judged it, what was ahead of it.
      const body = w.proposal(id.slice('local:'.length)).comments![0]!.body;
      assert.match(body, new RegExp(`Judged the culprit of batch \\(local:1, local:2, .*\\): its tests failed .*\\(run ${judged.id}\\); runs it was in: ${e.runs.join(', ')}\\.`));
      assert.ok(judged.test_ms !== null && judged.state !== 'landed', `${id}: its judging run ${judged.id} was red`);
      const ahead = judged.proposals.slice(0, -1);
      const proven = ahead.length === 0
        ? tips.has(judged.trunk_revision)
        : all.some((r) => r.state === 'landed' && r.trunk_revision === judged.trunk_revision && r.proposals.join(' ') === ahead.join(' '));
      assert.ok(proven, `${id}: what is ahead of it in run ${judged.id} (${ahead.join(' ') || 'nothing'}) was proven green on ${judged.trunk_revision}`);
    }
    assert.ok(
      snap.recentRuns.filter((r) => r.testMs !== null).every((r) => r.sandboxes.length >= 1 && r.sandboxes.every((x) => x.backend === 'unsafe-host')),
      'each tested run says where it was tested',
    );
    const text = await byoci(['--config', w.config, 'queue', '--history', '20'], { env: { HOME: w.home } });
    assert.equal(text.code, 0, text.stderr);
    const five = snap.takenOut.find((x) => x.proposal === 'local:5')!;
    assert.match(text.stdout, new RegExp(`^ {4}\\S+ {2}local:5 {2}${five.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .* \\(tested in runs? ${five.runs.join(', ')}\\)$`, 'm'));
    assert.match(text.stdout, /^ {4}run 1, batch of 16 \(local:1, local:2, .*local:16\), rejected at .*, on unsafe-host host .*: tests failed/m);
  });

  test('trunk moves between the batch merge and its push: merged again on the new tip, tested again, the tested tree pushed', async () => {
    const w = await world('moving', ['m1', 'm2', 'm3', 'm4']);
    // Someone else's commit on trunk, prepared now and pushed by the first test run (so
    // between the batch's merge and its push); the second test run leaves trunk alone.
    const other = join(w.dir, 'other');
    await w.git(['clone', '-q', w.trunk, other]);
    await w.git(['-c', 'user.name=Bob', '-c', 'user.email=bob@example.org', 'commit', '-q', '--allow-empty', '-m', 'Concurrent landing'], other);
    const direct = await w.git(['rev-parse', 'HEAD'], other);
    const marker = join(w.dir, 'moved-once');
    const move = `if [ ! -e ${JSON.stringify(marker)} ]; then : > ${JSON.stringify(marker)}; git -C ${JSON.stringify(other)} push -q origin HEAD:main || exit 3; fi`;
    w.writeConfig({ command: ['sh', '-c', `${move}; ${BAD_CHECK}`], extra: { queue: { batch: 4 } } });
    const result = await w.land();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /trunk moved: .*again on the new tip/);
    assert.deepEqual(await w.landings(), ['Land m1', 'Land m2', 'Land m3', 'Land m4']);
    const all = runs(w);
    assert.equal(all.length, 2, `tested twice: ${JSON.stringify(all.map((r) => [r.size, r.state]))}`);
    assert.deepEqual(all.map((r) => r.size), [4, 4]);
    assert.notEqual(all[0]!.state, 'landed', 'the first tree (over the old tip) is not landed');
    assert.equal(all[1]!.state, 'landed');
    assert.notEqual(all[1]!.tree_revision, all[0]!.tree_revision, 'a new tree, merged on the new tip');
    assert.equal(all[1]!.trunk_revision, direct, 'the second test was over the moved tip');
    const mine = assertPushedAsTested(w, [direct]);
    assert.equal(mine.length, 1, 'one push of the batch');
    assert.equal(mine[0]!.new, await w.git(['--git-dir', w.trunk, 'rev-parse', 'main']));
    assert.deepEqual(pushes(w).map((p) => p.new), [direct, mine[0]!.new], 'the refused push never reached trunk');
    await w.git(['--git-dir', w.trunk, 'merge-base', '--is-ancestor', direct, 'main']);
    for (const n of ['1', '2', '3', '4']) {
      assert.equal(w.proposal(n).status, 'Merged', n);
      assert.match(w.proposal(n).comments![0]!.body, new RegExp(`^Landed in run ${all[1]!.id} of batch .* with local:1, local:2, local:3, local:4, tested together as ${mine[0]!.new}`));
    }
  });

  /** 6 proposals, p5 bad; the first land is killed at `fault`, the rerun finishes. */
  async function killed(tag: string, fault: string, dead: { entries: string[]; run: number; state: string; landed: string[] }): Promise<void> {
    const names = ['k1', 'k2', 'k3', 'k4', 'k5-bad', 'k6'];
    const w = await world(tag, names);
    w.writeConfig({ command: BAD, extra: { queue: { batch: 6 } } });
    const first = await w.land([], { env: { BYOCI_FAULT: fault } });
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    const snap = w.snapshot().targets[0]!;
    const running = snap.running.find((r) => r.id === dead.run);
    assert.ok(running, `the dead run ${dead.run} is shown as running: ${JSON.stringify(snap.running)}`);
    assert.equal(running.alive, false, 'its bot is shown dead');
    assert.deepEqual(snap.entries.filter((e) => e.state === dead.state).map((e) => e.proposal), dead.entries.map((n) => `local:${n}`));
    const text = await byoci(['--config', w.config, 'queue'], { env: { HOME: w.home } });
    assert.match(text.stdout, new RegExp(`^ {4}run ${dead.run}, .*ITS BOT IS DEAD`, 'm'));
    for (const n of ids(6)) assert.equal(w.proposal(n).status, dead.landed.includes(n) ? 'Merged' : 'Approved', `${n}: reported before the kill, or still approved`);

    const rerun = await w.land();
    assert.equal(rerun.code, 1, rerun.stderr);
    assert.match(rerun.stderr, /a run died during a landing/);
    assert.deepEqual(await w.landings(), ['Land k1', 'Land k2', 'Land k3', 'Land k4', 'Land k6'], 'each lands exactly once, in order');
    for (const n of ['1', '2', '3', '4', '6']) {
      const p = w.proposal(n);
      assert.equal(p.status, 'Merged', n);
      // One landing comment each, also for those the dead run pushed and never reported.
      assert.equal((p.comments ?? []).length, 1, `${n}: ${JSON.stringify(p.comments)}`);
      assert.match(p.comments![0]!.body, /^Landed (in|alone in) run \d+ of (a )?batch/, n);
    }
    if (dead.state === 'pushed') {
      for (const n of dead.entries) assert.match(w.proposal(n).comments![0]!.body, new RegExp(`^Landed in run ${dead.run} of a batch with local:1, local:2, local:3, .*the run died after its push`), n);
    }
    const bad = w.proposal('5');
    assert.equal(bad.status, 'Needs review');
    assert.equal((bad.comments ?? []).length, 1);
    assert.match(bad.comments![0]!.body, /found bad file: k5-bad\.txt/);
    assertPushedAsTested(w);
    const after = w.snapshot().targets[0]!;
    assert.equal(after.entries.length, 0);
    assert.equal(after.running.length, 0, 'the dead run was buried');
    assert.deepEqual(after.landings.map((l) => l.proposal).sort(), ['local:1', 'local:2', 'local:3', 'local:4', 'local:6']);
  }

  test('kill -9 after a green part was pushed, before it was reported: the rerun reports it, bisects the rest, lands each once', () =>
    killed('kill-push', 'batch-after-push', { entries: ['1', '2', '3'], run: 2, state: 'pushed', landed: [] }));

  test('kill -9 while a red part is tested: the rerun buries it and bisects again, lands each once', () =>
    killed('kill-test', 'batch-after-test:3', { entries: ['4', '5', '6'], run: 3, state: 'testing', landed: ['1', '2', '3'] }));
});
