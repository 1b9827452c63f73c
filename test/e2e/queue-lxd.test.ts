/**
 * Issue 15's queue engine with real LXD containers, through the real `byoci land`, real git
 * and the local forge: a batch of 4 all green lands with one push; a speculative window of 3
 * with the middle proposal failing (its own failure output in its rejection, the others
 * land). Every pushed tree was tested as pushed (assertPushedAsTested); every run names the
 * container it was tested in; no container of the test's prefix is left afterwards. Also the
 * spare hint (`TestPayload.upcoming`): a batch that passes in one run warms no spare; and the
 * `prepare` hint: the first test's container is created while the landing fetches (serial
 * and batch), a landing rejected at fetch or merge leaves none behind once the process has
 * exited, and `spares: 0` makes none ahead.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { LXD_TEST_IMAGE, instancesWithPrefix, lxdMissing, testPrefix } from '../support/lxd.js';
import type { QueueWorld } from '../support/queue-world.js';
import { assertPushedAsTested, pushes, queueWorlds, runs } from '../support/queue-runs.js';

const missing = missingCommands('git') ?? (await lxdMissing());
const world = queueWorlds();

/** Prints the container's name, waits, then fails when a file whose name contains "bad" is in the tree. */
const bad = (sleep: number) => ['sh', '-c', `echo "in $(hostname)"; sleep ${sleep}; for f in *bad*; do if [ -e "$f" ]; then echo "found bad file: $f"; exit 1; fi; done; exit 0`];

interface Span {
  kind: string;
  name: string;
  start: number;
  ms: number;
}

/** The spans a `byoci land` run wrote to its BYOCI_TIMINGS file (one process). */
function spansOf(file: string): Span[] {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1, 'one process wrote its timings');
  return (JSON.parse(lines[0]!) as { spans: Span[] }).spans;
}

/** The spans named `name` (of `kind`), in start order. */
function named(spans: Span[], kind: string, name: string): Span[] {
  return spans.filter((s) => s.kind === kind && s.name === name).sort((a, b) => a.start - b.start);
}

const end = (s: Span) => s.start + s.ms;

/** The sandboxes the store recorded per run (what `byoci queue` shows). */
function sandboxes(w: QueueWorld): Map<number, { backend: string; name: string }[]> {
  const snap = w.snapshot().targets[0]!;
  return new Map(snap.recentRuns.map((r) => [r.id, r.sandboxes.map((s) => ({ backend: s.backend, name: s.name }))]));
}

describe('the queue engine in LXD containers (byoci land)', { ...suiteNeeds('git and LXD', missing), concurrency: 2 }, () => {
  test('a batch of 4, all green, lands with one push of the tree tested in one container, made while it fetched; no spare is warmed for nothing', async () => {
    const w = await world('lxdbatch', ['p1', 'p2', 'p3', 'p4']);
    const prefix = testPrefix('qlb');
    w.writeConfig({
      backend: 'lxd',
      command: ['sh', '-c', 'hostname; for n in 1 2 3 4; do test -f "p$n.txt" || { echo "p$n.txt missing"; exit 1; }; done'],
      extra: { plugins: { local: { dir: 'proposals', trusted: ['rita'] }, lxd: { prefix, image: LXD_TEST_IMAGE } } },
    });
    const timings = join(w.dir, 'timings.jsonl');
    const result = await w.land(['--batch', '4'], { env: { BYOCI_TIMINGS: timings } });
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
    // One test and nothing after it (upcoming 0): the run made exactly one container, made
    // ahead on the `prepare` hint (while the batch fetched), and the test took it.
    assert.equal((result.stderr.match(/spare container ready/g) ?? []).length, 1, 'one container made ahead');
    assert.doesNotMatch(result.stderr, /container created/, 'the test made no container of its own');
    assert.match(result.stderr, new RegExp(`container run done.*${where[0]!.name}.*warm\\W+true`), 'the test ran in the container made ahead');
    const spans = spansOf(timings);
    const [create] = named(spans, 'lxd', 'POST /1.0/instances');
    const fetches = spans.filter((s) => s.kind === 'hook' && s.name === 'fetch (git)');
    assert.ok(create && fetches.length === 4, JSON.stringify(spans.filter((s) => s.kind !== 'proc')));
    assert.ok(create.start < Math.max(...fetches.map(end)), 'the container was being created before the batch had fetched');
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
  test('one landing: its container is created while it fetches, and its test runs in it', async () => {
    const w = await world('lxdprep', ['p1']);
    const prefix = testPrefix('qlp');
    w.writeConfig({ backend: 'lxd', command: ['sh', '-c', 'hostname; test -f p1.txt'], extra: { plugins: { local: { dir: 'proposals', trusted: ['rita'] }, lxd: { prefix, image: LXD_TEST_IMAGE } } } });
    const timings = join(w.dir, 'timings.jsonl');
    const result = await w.land([], { env: { BYOCI_TIMINGS: timings } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await w.landings(), ['Land p1']);
    assertPushedAsTested(w);
    const spans = spansOf(timings);
    const [fetch] = named(spans, 'hook', 'fetch (git)');
    const [merge] = named(spans, 'hook', 'merge (git)');
    const [test] = named(spans, 'hook', 'testInContainer (lxd)');
    const creates = named(spans, 'lxd', 'POST /1.0/instances');
    const [made] = named(spans, 'background', 'spare container made (lxd)');
    assert.ok(fetch && merge && test && made, JSON.stringify(spans.filter((s) => s.kind !== 'proc')));
    assert.equal(creates.length, 1, 'one container for the one test');
    // Order, not durations: the creation request went out before the fetch had ended, and the
    // merged tree was copied in only after the merge (inside the test's hook).
    assert.ok(creates[0]!.start < end(fetch), `created at ${creates[0]!.start} ms, the fetch ended at ${end(fetch)} ms`);
    assert.ok(made.start < end(fetch));
    const [copy] = spans.filter((s) => s.kind === 'proc' && s.name === 'cp' && s.start >= test.start);
    assert.ok(copy && copy.start >= end(merge), 'the tree is copied in after the merge');
    const name = runs(w).flatMap((r) => sandboxes(w).get(r.id) ?? [])[0]?.name;
    assert.ok(name?.startsWith(prefix), String(name));
    assert.match(result.stderr, new RegExp(`container run done.*${name}.*warm\\W+true`), 'the test took the container made ahead');
    assert.match(result.stderr, new RegExp(`\\| ${name}$`, 'm'), 'the test ran in it');
    assert.doesNotMatch(result.stderr, /container created/);
    // The deletion starts with the result (after the test's exec, as the tap hands the result
    // back), before the push is done.
    const [deleted] = named(spans, 'background', 'container deleted (lxd)');
    const [push] = named(spans, 'hook', 'push (git)');
    const exec = named(spans, 'lxd', 'exec sh').filter((s) => s.start >= test.start).at(-1);
    assert.ok(deleted && push && exec && deleted.start >= end(exec) && deleted.start <= end(test) + 1 && deleted.start < end(push), JSON.stringify({ deleted, push, test, exec }));
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'no container left');
  });

  test('landings rejected at merge and at fetch leave no container once the run has exited; spares: 0 makes none ahead', async () => {
    const w = await world('lxdrej', []);
    // p1 conflicts with trunk (both add c.txt); p2's branch moves after its approval.
    await w.propose('1', 'p1', '2026-11-30T10:00:01Z', {}, { file: 'c.txt', content: 'theirs\n' });
    await w.commitOnTrunk('c.txt', 'ours\n');
    await w.propose('2', 'p2', '2026-11-30T10:00:02Z');
    const later = join(w.dir, 'later');
    await w.git(['clone', '-q', '-b', 'p2', w.contrib, later]);
    writeFileSync(join(later, 'later.txt'), 'after the approval\n');
    await w.git(['add', 'later.txt'], later);
    await w.git(['commit', '-q', '-m', 'A change after the approval'], later);
    await w.git(['push', '-q', w.contrib, 'HEAD:refs/heads/p2'], later);
    const prefix = testPrefix('qlr');
    const config = (spares?: number) =>
      w.writeConfig({ backend: 'lxd', extra: { plugins: { local: { dir: 'proposals', trusted: ['rita'] }, lxd: { prefix, image: LXD_TEST_IMAGE, ...(spares === undefined ? {} : { spares }) } } } });
    config();
    const result = await w.land();
    assert.equal(result.code, 1, result.stderr);
    assert.match(w.proposal('1').comments?.[0]?.body ?? '', /conflict/i, JSON.stringify(w.proposal('1')));
    assert.match(result.stderr, /changes-after-approval/, 'p2 is rejected at fetch');
    assert.deepEqual(await w.landings(), []);
    // One container made ahead for p1's test; p2's hint found it still unused (nothing more made).
    assert.equal((result.stderr.match(/spare container ready/g) ?? []).length, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /container run done/, 'no test ran');
    assert.equal((result.stderr.match(/container deleted/g) ?? []).length, 1, 'the shutdown deleted it');
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'the exit waited for its deletion: no container of the run left');

    // spares: 0: no container before the test asks (p3 lands; its one container after the merge).
    await w.propose('3', 'p3', '2026-11-30T10:00:03Z');
    config(0);
    const timings = join(w.dir, 'timings.jsonl');
    const zero = await w.land(['--proposal', 'local:3'], { env: { BYOCI_TIMINGS: timings } });
    assert.equal(zero.code, 0, zero.stderr);
    assert.deepEqual(await w.landings(), ['Land p3']);
    const spans = spansOf(timings);
    const [merge] = named(spans, 'hook', 'merge (git)');
    const creates = named(spans, 'lxd', 'POST /1.0/instances');
    assert.equal(creates.length, 1);
    assert.ok(merge && creates[0]!.start >= end(merge), 'created only after the merge');
    assert.equal(named(spans, 'background', 'spare container made (lxd)').length, 0);
    assert.doesNotMatch(zero.stderr, /spare container ready/);
    assert.equal((zero.stderr.match(/container created/g) ?? []).length, 1);
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'no container left');
  });
});
