/**
 * Issue 14's acceptance through the real `byoci` command, real git and the local forge:
 * queue order (first approved, first landed; priority first), trunk moving during a test,
 * two bots on one target, a target moved to a fresh slave mid-queue, and `byoci queue`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { byoci } from '../support/cli.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { QueueWorld } from '../support/queue-world.js';

const worlds: QueueWorld[] = [];
after(() => worlds.forEach((w) => w.remove()));

async function world(tag: string): Promise<QueueWorld> {
  const w = await QueueWorld.create(tag);
  worlds.push(w);
  return w;
}

describe('the landing queue through byoci land', { ...suiteNeeds('git', missingCommands('git')), concurrency: 3 }, () => {
  test('approved in the order B, A, C: lands B, A, C whatever the listing order; a priority moves C first', async () => {
    const w = await world('order');
    // Listed by file name (a, b, c), approved b, a, c.
    await w.propose('1-a', 'a', '2026-11-30T10:00:02Z');
    await w.propose('2-b', 'b', '2026-11-30T10:00:01Z');
    await w.propose('3-c', 'c', '2026-11-30T10:00:03Z');
    w.writeConfig();
    const first = await w.land();
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await w.landings(), ['Land b', 'Land a', 'Land c']);
    assert.match(first.stderr, /\[local:2-b\] landing position=1\/3/);
    assert.match(first.stderr, /\[local:3-c\] landing position=1\/1/);

    const queue = JSON.parse((await byoci(['--config', w.config, 'queue', '--json'], { env: { HOME: w.home } })).stdout);
    const target = queue.targets[0];
    assert.equal(target.entries.length, 0);
    assert.deepEqual(target.landings.map((l: { proposal: string }) => l.proposal), ['local:3-c', 'local:1-a', 'local:2-b']);
    for (const l of target.landings) {
      assert.equal(l.attempts, 1);
      assert.ok(l.landingMs >= l.testMs, 'a landing lasts at least its tests');
    }

    // D, E, F approved in that order, F asks for priority high: F first.
    await w.propose('4-d', 'd', '2026-11-30T11:00:01Z');
    await w.propose('5-e', 'e', '2026-11-30T11:00:02Z');
    await w.propose('6-f', 'f', '2026-11-30T11:00:03Z', { priority: 'high' });
    const second = await w.land();
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual((await w.landings()).slice(3), ['Land f', 'Land d', 'Land e']);
    assert.equal(w.proposal('6-f').status, 'Merged');
  });

  test('a commit pushed to trunk during the test: re-merged on top after one re-test, still approved, no forced push', async () => {
    const w = await world('moved');
    await w.propose('1', 'feature', '2026-11-30T10:00:00Z');
    const mark = join(w.dir, 'pushed-once');
    // The first test run pushes a commit to trunk (a concurrent landing); later runs do not.
    const script = [
      `if [ ! -e ${JSON.stringify(mark)} ]; then`,
      `  touch ${JSON.stringify(mark)}`,
      `  d=$(mktemp -d) && git clone -q ${JSON.stringify(w.trunk)} "$d/w" && cd "$d/w" && echo other > other.txt && git add other.txt &&`,
      '  git -c user.name=Other -c user.email=o@example.org commit -q -m "Concurrent commit" && git push -q origin HEAD:main && rm -rf "$d"',
      'fi',
    ].join('\n');
    w.writeConfig({ command: ['sh', '-c', script] });
    const before = await w.git(['--git-dir', w.trunk, 'rev-parse', 'main']);
    const result = await w.land();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /trunk moved: merging onto the new tip and testing again/);
    const tip = await w.git(['--git-dir', w.trunk, 'rev-parse', 'main']);
    const [firstParent] = (await w.git(['--git-dir', w.trunk, 'show', '--no-patch', '--format=%P', tip])).split(' ');
    assert.equal(await w.git(['--git-dir', w.trunk, 'show', '--no-patch', '--format=%s', firstParent!]), 'Concurrent commit');
    // Trunk only moved forward: the old tip is an ancestor of the new one.
    await w.git(['--git-dir', w.trunk, 'merge-base', '--is-ancestor', before, tip]);
    const p = w.proposal('1');
    assert.equal(p.status, 'Merged');
    assert.equal(p.merged_revision, tip);
    assert.equal((p.comments ?? []).length, 0, 'no rejection comment on the way');
    const landing = w.snapshot().targets[0]!.landings[0]!;
    assert.equal(landing.attempts, 2);
  });

  test('two byoci land at once on one target: one lands, the other names the lease holder; one landing', async () => {
    const w = await world('two');
    await w.propose('1', 'only', '2026-11-30T10:00:00Z');
    w.writeConfig({ command: ['sh', '-c', 'sleep 4'], extra: { queue: { heartbeat: '1s' } } });
    const [a, b] = await Promise.all([w.land(), w.land()]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const out = a.stdout + b.stdout;
    assert.equal((out.match(/^landed +local:1/gm) ?? []).length, 1, out);
    assert.match(out, /^busy +git:.*trunk#main: another bot is landing on it \(run \d{8}-\d{6}-\w+, pid \d+ on /m);
    assert.deepEqual(await w.landings(), ['Land only']);
    // The console of a long test: a heartbeat with the time so far and the usual duration.
    assert.match(a.stderr + b.stderr, /\[local:1\] still testing position=1\/1 attempt=1 elapsed=\d+s usually=unknown/);
  });

  test('freeze: nothing lands below the priority, list and queue say why; unfreeze lands it', async () => {
    const w = await world('freeze');
    await w.propose('1', 'normal', '2026-11-30T10:00:01Z');
    await w.propose('2', 'urgent', '2026-11-30T10:00:02Z', { priority: 'urgent' });
    w.writeConfig();
    const cli = (args: string[]) => byoci(['--config', w.config, ...args], { env: { HOME: w.home } });
    assert.equal((await cli(['queue', 'freeze', 'calc', '--reason', 'release 3.3 in progress', '--below', 'urgent'])).code, 0);
    const list = await cli(['list']);
    assert.match(list.stdout, /local:1 .*\(will land; frozen below urgent: release 3\.3 in progress\)/);
    assert.doesNotMatch(list.stdout, /local:2 .*frozen/);
    const frozen = await w.land();
    assert.equal(frozen.code, 0, frozen.stderr);
    assert.deepEqual(await w.landings(), ['Land urgent']);
    assert.match(frozen.stderr, /\[local:1\] frozen: not landing position=1\/1 reason=.*release 3\.3/);
    const queue = JSON.parse((await cli(['queue', '--json'])).stdout);
    assert.equal(queue.targets[0].entries[0].proposal, 'local:1');
    assert.match(queue.targets[0].entries[0].waitingFor, /unfrozen \(release 3\.3 in progress; only urgent and above land\)/);
    assert.equal(queue.targets[0].freeze.below, 'urgent');
    assert.equal((await cli(['queue', 'unfreeze', 'calc'])).code, 0);
    assert.equal((await w.land()).code, 0);
    assert.deepEqual(await w.landings(), ['Land urgent', 'Land normal']);
  });

  test('a target moved to a fresh slave (empty store) mid-queue: nothing lands twice, the order is kept', async () => {
    const w = await world('slave');
    await w.propose('1', 'a', '2026-11-30T10:00:02Z');
    await w.propose('2', 'b', '2026-11-30T10:00:01Z');
    await w.propose('3', 'c', '2026-11-30T10:00:03Z');
    // Slave 1 lands b, then dies (kill -9) while a is under test.
    w.writeConfig({ command: ['sh', '-c', 'if [ -e a.txt ]; then echo started-a; sleep 30; fi'] });
    const first = await w.land([], { signalWhen: { when: /\| started-a/, signal: 'SIGKILL' } });
    assert.equal(first.signal, 'SIGKILL');
    assert.deepEqual(await w.landings(), ['Land b']);
    // Slave 2: another work directory and store, nothing known locally.
    w.writeConfig({ workdir: 'slave2' });
    const second = await w.land();
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await w.landings(), ['Land b', 'Land a', 'Land c']);
    const fresh = w.snapshot(join(w.dir, 'slave2', 'byoci.db')).targets[0]!;
    assert.deepEqual(fresh.landings.map((l) => l.proposal).reverse(), ['local:1', 'local:3']);
    for (const id of ['1', '2', '3']) assert.equal(w.proposal(id).status, 'Merged');
  });
});
