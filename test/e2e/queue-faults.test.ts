/**
 * Crash safety of the landing queue: a real `byoci land` (real git over a real sshd with
 * the push key, real containers: LXD when it answers, else bubblewrap) is killed with
 * SIGKILL at six points, then run again. After each rerun: the proposal landed exactly
 * once, its status is Merged with no comment, the approval was never lost, no container
 * and no key file is left, and the store (what `byoci queue --json` prints) says so.
 *
 * Four points use the test-only BYOCI_FAULT switch (core/queue/fault.ts); "during the
 * test" and "during the push" are real timing: a test that waits, a trunk whose
 * pre-receive hook waits.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { instancesWithPrefix, lxdMissing, testPrefix } from '../support/lxd.js';
import { QueueWorld } from '../support/queue-world.js';
import { sshdMissing, startSshd, type Sshd } from '../support/sshd.js';

const lxd = await lxdMissing();
// After `lxd` (hasBackend reads it): the other order threw a ReferenceError, not a skip, without bwrap.
const missing = missingCommands('git') ?? sshdMissing() ?? (hasBackend() ? undefined : 'neither LXD nor bubblewrap (bwrap) is available');

function hasBackend(): boolean {
  return missingCommands('bwrap') === undefined || lxd === undefined;
}

/** Every file under `dir` whose name says it holds a key. */
function keyFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (/ssh-key|id_ed25519|agent\.sock/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

type Point = 'after-fetch' | 'after-merge' | 'during-test' | 'after-test' | 'during-push' | 'after-push';

describe('kill -9 of byoci land at six points, then a rerun', { ...suiteNeeds('git, sshd and a container backend', missing), concurrency: 3 }, () => {
  let sshd: Sshd;
  const worlds: QueueWorld[] = [];
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
    worlds.forEach((w) => w.remove());
  });

  async function scenario(point: Point): Promise<void> {
    const w = await QueueWorld.create(point);
    worlds.push(w);
    const prefix = testPrefix('qf');
    await w.propose('1', 'feature', '2026-11-30T10:00:00Z', { target: { repo: sshd.url(w.trunk), branch: 'main' } });
    const slowTest = point === 'during-test';
    const config = (command: string[]) =>
      w.writeConfig({
        targetUrl: sshd.url(w.trunk),
        backend: 'auto',
        command,
        extra: { plugins: { local: { dir: 'proposals', trusted: ['rita'] }, git: { knownHosts: sshd.knownHosts }, lxd: { prefix } } },
      });
    config(slowTest ? ['sh', '-c', 'echo started; sleep 60'] : ['sh', '-c', 'test -f feature.txt']);
    const hook = join(w.trunk, 'hooks', 'pre-receive');
    if (point === 'during-push') {
      writeFileSync(hook, '#!/bin/sh\necho receiving >&2\nsleep 4\n');
      chmodSync(hook, 0o755);
    }
    const env = { BYOCI_SECRET_GIT_SSH_KEY: sshd.clientKey };
    const killed = await w.land([], {
      env: { ...env, ...(point.startsWith('after-') ? { BYOCI_FAULT: point } : {}) },
      ...(point === 'during-test' ? { signalWhen: { when: /\| started/, signal: 'SIGKILL' as const } } : {}),
      ...(point === 'during-push' ? { signalWhen: { when: /\] push position=/, signal: 'SIGKILL' as const } } : {}),
    });
    assert.equal(killed.signal, 'SIGKILL', `${point}: ${killed.stderr}`);
    // The approval is never lost; the store says where the run died.
    assert.equal(w.proposal('1').status, 'Approved', point);
    const dead = w.snapshot().targets[0]!;
    assert.equal(dead.entries.length, 1, point);
    assert.equal(dead.entries[0]!.state, point === 'after-push' ? 'pushed' : 'testing', point);
    assert.equal(dead.lease?.alive, false, `${point}: the dead bot's lease is shown as dead`);

    if (point === 'during-push') rmSync(hook);
    config(['sh', '-c', 'test -f feature.txt']);
    const rerun = await w.land([], { env });
    assert.equal(rerun.code, 0, `${point}: ${rerun.stderr}`);
    assert.match(rerun.stdout, /^landed +local:1 /m, point);
    assert.match(rerun.stderr, /a run died during a landing/, point);

    assert.deepEqual(await w.landings(), ['Land feature'], `${point}: landed exactly once`);
    const p = w.proposal('1');
    assert.equal(p.status, 'Merged', point);
    assert.equal(p.merged_revision, await w.git(['--git-dir', w.trunk, 'rev-parse', 'main']), point);
    assert.equal((p.comments ?? []).length, 0, `${point}: no comment (a landing comments nothing on the local forge; nothing twice)`);
    const snap = w.snapshot().targets[0]!;
    assert.equal(snap.entries.length, 0, point);
    assert.deepEqual(snap.landings.map((l) => l.proposal), ['local:1'], point);
    assert.equal(snap.lease, null, `${point}: the lease is released`);
    // The queue says where the landing run was tested: the container its backend named.
    const tested = snap.recentRuns.find((r) => r.state === 'landed' && r.testMs !== null);
    // (After the push, or during it, the rerun may find the landing on trunk and test nothing.)
    if (point !== 'after-push' && point !== 'during-push') assert.ok(tested, `${point}: the rerun tested and landed: ${JSON.stringify(snap.recentRuns)}`);
    if (tested) {
      const where = tested.sandboxes.at(-1);
      assert.ok(where, `${point}: the landing run names its container`);
      if (lxd === undefined) assert.ok(where.backend === 'lxd' && where.name.startsWith(prefix), `${point}: ${JSON.stringify(where)}`);
      else assert.equal(where.backend, 'bwrap', point);
    }
    if (lxd === undefined) assert.deepEqual(await instancesWithPrefix(prefix), [], `${point}: no container left`);
    assert.deepEqual(keyFiles(w.dir), [], `${point}: no key file left`);
  }

  for (const point of ['after-fetch', 'after-merge', 'during-test', 'after-test', 'during-push', 'after-push'] as const) {
    test(`killed ${point}: one landing, no comment, no container, no key file, approval kept`, () => scenario(point));
  }
});
