/**
 * Containers off the critical path (real LXD): the warm spare serves exactly one test and
 * nothing of the previous test is visible in it; a finished container is deleted after
 * its result is back; shutdown waits for those deletions and deletes the spare.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { LxdClient } from '../../../plugins/lxd/client.js';
import { sparesWanted } from '../../../plugins/lxd/pool.js';
import { LXD_SOCKET, instancesWithPrefix, lxdMissing } from '../../support/lxd.js';
import { commandLines, lxdBox, makeSpec, type Box } from './support.js';

const MISSING = await lxdMissing();

async function instanceLimit(name: string): Promise<string | undefined> {
  const client = new LxdClient(LXD_SOCKET);
  try {
    return (await client.request<{ config: Record<string, string> }>('GET', `/1.0/instances/${encodeURIComponent(name)}`)).config['limits.memory'];
  } finally {
    client.close();
  }
}

describe('lxd backend: warm spare and background deletion', suiteNeeds('lxd', MISSING), () => {
  const boxes: Box[] = [];
  after(async () => {
    for (const box of boxes) await box.cleanup();
  });

  test('the spare serves the next test once; that test sees nothing the previous one wrote; shutdown waits for the deletions', async () => {
    const box = await lxdBox({}, 'spare');
    boxes.push(box);
    const first = await box.run(
      makeSpec({ command: ['sh', '-c', 'hostname; echo secret-a > /src/left-by-a; echo secret-a > /tmp/left-by-a; echo secret-a > /home/test/left-by-a 2>/dev/null; sleep 30 </dev/null >/dev/null 2>&1 & echo wrote'] }),
    );
    assert.equal(first.result?.exitCode, 0, first.result?.outputTail);
    const [a] = commandLines(first.stdout);
    const sparesAfterA = await box.settled();
    assert.equal(sparesAfterA.length, 1, 'one spare is ready after the first test');
    assert.notEqual(sparesAfterA[0], a);
    assert.deepEqual(await instancesWithPrefix(box.prefix), sparesAfterA, `the first test's container ${a} is deleted`);

    const second = await box.run(
      makeSpec({
        command: ['sh', '-c', 'hostname; ls -A /src /tmp; cat /src/left-by-a /tmp/left-by-a /home/test/left-by-a 2>&1; ps -eo comm= 2>/dev/null | grep -c "^sleep$" || true'],
      }),
    );
    assert.equal(second.result?.exitCode, 0, second.result?.outputTail);
    // Right after the result: its container is still there (deleted in the background).
    const rightAfter = await instancesWithPrefix(box.prefix);
    const [b, ...rest] = commandLines(second.stdout);
    assert.equal(b, sparesAfterA[0], 'the second test ran in the warm spare');
    assert.ok(rightAfter.includes(b!), `the finished container is deleted after its result is back: ${rightAfter.join(', ')}`);
    const out = rest.join('\n');
    assert.doesNotMatch(out, /secret-a/, 'nothing the first test wrote is readable');
    assert.doesNotMatch(out, /left-by-a$/m, 'no file of the first test is listed');
    assert.match(out, /\/src\/left-by-a: No such file/);
    assert.match(out, /\/tmp\/left-by-a: No such file/);
    assert.ok(box.harness.lines.some((l) => l.includes('container run done') && l.includes(b!) && /warm\W+true/.test(l)), 'the log says the run used a warm container');

    const sparesAfterB = await box.settled();
    assert.equal(sparesAfterB.length, 1);
    assert.ok(![a, b].includes(sparesAfterB[0]), `a container a test ran in is never a spare again: ${sparesAfterB[0]}`);
    assert.deepEqual(await instancesWithPrefix(box.prefix), sparesAfterB, 'both finished containers are gone');

    // A third run, then shutdown at once: it waits for the deletion still in flight.
    const third = await box.run(makeSpec({ command: ['hostname'] }));
    const [c] = commandLines(third.stdout);
    assert.equal(c, sparesAfterB[0]);
    const lines = box.harness.lines.length;
    await box.shutdown();
    assert.deepEqual(await instancesWithPrefix(box.prefix), [], 'shutdown returns once the finished container and the new spare are deleted');
    const deleted = box.harness.lines.slice(lines).filter((l) => l.includes('container deleted'));
    assert.ok(deleted.some((l) => l.includes(c!)), deleted.join('\n'));
  });

  test("core's hint of the tests that follow: no spare after the last test; K - 1 spares for a window of K, each serving one test", async () => {
    const box = await lxdBox({ spares: 2 }, 'sparehint');
    boxes.push(box);
    // The last test of a run (a one-landing `byoci land`): nothing is warmed for nobody.
    const last = await box.run(makeSpec({ command: ['hostname'] }), { upcoming: 0 });
    assert.equal(last.result?.exitCode, 0, last.result?.outputTail);
    assert.deepEqual(await box.settled(), [], 'no spare is made when no test follows');
    assert.deepEqual(await instancesWithPrefix(box.prefix), [], 'and its own container is gone');
    assert.ok(!box.harness.lines.some((l) => l.includes('spare container ready')), 'no spare was ever started');

    // A window of 3: the test says two more follow; spares: 2 makes both.
    const first = await box.run(makeSpec({ command: ['hostname'] }), { upcoming: 2 });
    const [a] = commandLines(first.stdout);
    const spares = await box.settled();
    assert.equal(spares.length, 2, `two spares for the two tests that follow: ${spares.join(', ')}`);
    assert.ok(!spares.includes(a!));
    assert.deepEqual((await instancesWithPrefix(box.prefix)).sort(), [...spares].sort());

    // The next round of the window starts two tests at once: both warm, each in its own spare.
    const [x, y] = await Promise.all([
      box.run(makeSpec({ command: ['hostname'] }), { upcoming: 0 }),
      box.run(makeSpec({ command: ['hostname'] }), { upcoming: 0 }),
    ]);
    const names = [commandLines(x.stdout)[0], commandLines(y.stdout)[0]];
    assert.deepEqual([...names].sort(), [...spares].sort(), 'the two tests ran in the two spares, one each');
    for (const name of names) {
      assert.ok(box.harness.lines.some((l) => l.includes('container run done') && l.includes(name!) && /warm\W+true/.test(l)), `${name} was warm`);
    }
    assert.deepEqual(await box.settled(), [], 'and no test follows them: no new spare');
    assert.deepEqual(await instancesWithPrefix(box.prefix), []);
  });

  test("core's prepare hint before a landing's fetch: the first test's container made ahead, within spares; nothing for spares: 0 or another backend", async () => {
    const box = await lxdBox({ spares: 2 }, 'prep');
    boxes.push(box);
    await box.prepare(makeSpec(), 1);
    const ahead = await box.settled();
    assert.equal(ahead.length, 1, 'one container for the one test that follows');
    assert.deepEqual(await instancesWithPrefix(box.prefix), ahead, 'created and started before any test asked');
    // Asked again (the next landing's hint while the first is unused): those already there count.
    await box.prepare(makeSpec(), 1);
    assert.deepEqual(await box.settled(), ahead, 'nothing more made');
    // A window round of 3 tests: spares: 2 caps it.
    await box.prepare(makeSpec(), 3);
    const two = await box.settled();
    assert.equal(two.length, 2);
    assert.ok(two.includes(ahead[0]!));
    const run = await box.run(makeSpec({ command: ['hostname'] }), { upcoming: 0 });
    assert.equal(run.result?.exitCode, 0, run.result?.outputTail);
    const [name] = commandLines(run.stdout);
    assert.equal(name, ahead[0], 'the test took the first container made ahead');
    assert.ok(box.harness.lines.some((l) => l.includes('container run done') && l.includes(name!) && /warm\W+true/.test(l)));
    await box.shutdown();
    assert.deepEqual(await instancesWithPrefix(box.prefix), [], 'shutdown deletes the one no test took');

    const none = await lxdBox({ spares: 0 }, 'prep0');
    boxes.push(none);
    await none.prepare(makeSpec(), 1);
    await none.prepare(makeSpec({ backend: 'bwrap' }), 1);
    assert.deepEqual(await none.settled(), []);
    assert.deepEqual(await instancesWithPrefix(none.prefix), [], 'spares: 0: no container before the test asks');
    assert.ok(!none.harness.lines.some((l) => l.includes('spare container ready')));
    const other = await lxdBox({}, 'prepb');
    boxes.push(other);
    await other.prepare(makeSpec({ backend: 'bwrap' }), 1);
    // A bad image: the hint's tap fails, logged; nothing changes (the test says why later).
    await other.prepare(makeSpec({ image: 'byoci-no-such-image' }), 1);
    assert.deepEqual(await other.settled(), []);
    assert.deepEqual(await instancesWithPrefix(other.prefix), [], 'another backend, or an unknown image: nothing made');
    assert.ok(other.harness.lines.some((l) => l.includes('tap failed; outcome unchanged') && l.includes('byoci-no-such-image')), other.harness.lines.join('\n'));
  });

  test('sparesWanted: spares at most, no more than the hint, the configured number when the hint is absent', () => {
    assert.equal(sparesWanted(1, undefined), 1);
    assert.equal(sparesWanted(3, undefined), 3);
    assert.equal(sparesWanted(1, 0), 0);
    assert.equal(sparesWanted(2, 5), 2);
    assert.equal(sparesWanted(4, 2), 2);
    assert.equal(sparesWanted(0, 7), 0);
    assert.equal(sparesWanted(2, -1), 0);
    assert.equal(sparesWanted(2, Number.NaN), 2);
  });

  test('a spare made for other limits is not used: it is dropped and replaced', async () => {
    const box = await lxdBox({}, 'sparelim');
    boxes.push(box);
    await box.run(makeSpec({ command: ['true'] }));
    const [spare] = await box.settled();
    let limit: Promise<string | undefined> | undefined;
    const other = await box.run(makeSpec({ command: ['sh', '-c', 'hostname; sleep 1'], limits: { memory: '256MiB' } }), {
      onLine: (stream, line) => {
        if (stream === 'stdout' && !limit) limit = instanceLimit(line);
      },
    });
    const [name] = commandLines(other.stdout);
    assert.notEqual(name, spare, 'the spare with the default 2GiB limit was not used');
    assert.equal(await limit, '256MiB', 'the test ran in a container with its own limit');
    const [next] = await box.settled();
    assert.notEqual(next, spare);
    assert.deepEqual(await instancesWithPrefix(box.prefix), [next], 'the mismatched spare is deleted');
  });
});
