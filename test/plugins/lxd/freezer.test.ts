/**
 * The cgroup v2 freezer path of plugins/lxd/host.ts (`freezeCgroup`), for real: a cgroup made
 * under the host's cgroup2 mount with the layout LXD gives a container (`lxc.payload.<name>`,
 * its init in a child cgroup as a systemd init puts itself in `init.scope`, the `lxc exec`
 * processes in `.lxc`), two processes of this test in it that write a counter every 50 ms.
 * freezeCgroup(init, 'v2') must freeze both (the whole container, not only the init's cgroup):
 * cgroup.events says `frozen 1`, the counters stop; thawed they move again (so it was the
 * freezer); then everything is killed and the cgroups removed. Needs root and a cgroup2 mount
 * (pure v2 on /sys/fs/cgroup, or the hybrid /sys/fs/cgroup/unified): else skipped with the reason.
 * With LXD too: a real container frozen through the v2 path (not the v1 one its init is also
 * under here), its `lxc exec` process stops; the plugin's force stop + delete then removes it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { cgroupFreezers, containerCgroupV2, freezeCgroup } from '../../../plugins/lxd/host.js';
import { LxdClient } from '../../../plugins/lxd/client.js';
import { destroyInstance } from '../../../plugins/lxd/container.js';
import { run } from '../../../core/process.js';
import { LXD_SOCKET, instancesWithPrefix, lxdMissing, startTestContainer, testPrefix } from '../../support/lxd.js';

/** The cgroup2 mount point, when there is one with the freezer (cgroup.freeze in a child). */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, point, type] = line.split(' ');
    if (type === 'cgroup2' && point) return point;
  }
  return undefined;
}

const MOUNT = cgroup2Mount();
const MISSING = process.getuid?.() !== 0
  ? 'making a cgroup needs root'
  : !MOUNT
    ? 'no cgroup2 mount in /proc/mounts (neither pure v2 nor a hybrid unified hierarchy)'
    : undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const read = (file: string) => readFileSync(file, 'utf8');
const counter = (file: string) => Number(existsSync(file) ? read(file).trim() || 0 : 0);

/** A shell that writes an increasing counter to `file` every 50 ms (a new `sleep` child each time). */
function ticker(file: string): ChildProcess {
  return spawn('sh', ['-c', 'i=0; while :; do i=$((i+1)); echo $i > "$1"; sleep 0.05; done', 'ticker', file], { stdio: 'ignore' });
}

/** Whether the counter in `file` moves within `ms` (true as soon as it does). */
async function advances(file: string, ms = 5000): Promise<boolean> {
  const before = counter(file);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await sleep(25);
    if (counter(file) > before) return true;
  }
  return false;
}

function procState(pid: number): string {
  return /^State:\s+(\S+)/m.exec(read(`/proc/${pid}/status`))?.[1] ?? '?';
}

describe('lxd: freezing a container through the cgroup v2 freezer', suiteNeeds('cgroup v2 (root)', MISSING), () => {
  test('containerCgroupV2: the lxc.payload.<name> cgroup holds the whole container', () => {
    assert.equal(containerCgroupV2('/lxc.payload.c1'), '/lxc.payload.c1');
    assert.equal(containerCgroupV2('/lxc.payload.c1/init.scope'), '/lxc.payload.c1');
    assert.equal(containerCgroupV2('/lxc.payload.c1/.lxc'), '/lxc.payload.c1');
    assert.equal(containerCgroupV2('/system.slice/foo.service'), '/system.slice/foo.service', 'not a container: the cgroup itself');
  });

  test('freezeCgroup(v2) freezes the init and the exec processes beside it; thawed they run again', async (t) => {
    const name = `lxc.payload.byocitest-freeze-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    const top = join(MOUNT!, name);
    const initDir = join(top, 'init.scope');
    const execDir = join(top, '.lxc');
    const scratch = mkdtempSync(join(tmpdir(), 'byoci-freeze-'));
    const children: ChildProcess[] = [];
    mkdirSync(top);
    try {
      mkdirSync(initDir);
      mkdirSync(execDir);
      assert.ok(existsSync(join(top, 'cgroup.freeze')), `${top} has no cgroup.freeze (kernel before 5.2?)`);
      const initFile = join(scratch, 'init');
      const execFile = join(scratch, 'exec');
      const init = ticker(initFile);
      const exec = ticker(execFile);
      children.push(init, exec);
      writeFileSync(join(initDir, 'cgroup.procs'), String(init.pid));
      writeFileSync(join(execDir, 'cgroup.procs'), String(exec.pid));
      assert.equal(read(`/proc/${init.pid}/cgroup`).split('\n').find((l) => l.startsWith('0::')), `0::/${name}/init.scope`);
      assert.ok(await advances(initFile), 'the init runs');
      assert.ok(await advances(execFile), 'the exec process runs');

      const freezers = await cgroupFreezers(init.pid!);
      const v2 = freezers.find((f) => f.kind === 'v2');
      assert.ok(v2, `a v2 freezer for the init: ${JSON.stringify(freezers.map((f) => [f.kind, f.dir]))}`);
      assert.equal(v2.dir, top, "the container's whole cgroup, not the init's init.scope");

      const started = performance.now();
      assert.equal(await freezeCgroup(init.pid!, 3000, 'v2'), true, 'the v2 path says frozen');
      t.diagnostic(`frozen in ${Math.round(performance.now() - started)} ms; process states: init ${procState(init.pid!)}, exec ${procState(exec.pid!)}`);
      assert.match(read(join(top, 'cgroup.events')), /^frozen 1$/m);
      assert.match(read(join(execDir, 'cgroup.events')), /^frozen 1$/m, 'the .lxc cgroup (the test processes) is frozen too');
      assert.equal(read(join(top, 'cgroup.freeze')).trim(), '1');
      const [initMoves, execMoves] = await Promise.all([advances(initFile, 600), advances(execFile, 600)]);
      assert.equal(initMoves, false, 'the frozen init makes no progress');
      assert.equal(execMoves, false, 'the frozen exec process makes no progress');

      writeFileSync(join(top, 'cgroup.freeze'), '0');
      assert.ok(await advances(execFile), 'thawed, it runs again: it was the freezer that stopped it');
      assert.match(read(join(top, 'cgroup.events')), /^frozen 0$/m);

      // Frozen again, then killed the way the container's force stop does: SIGKILL reaches a v2-frozen process.
      assert.equal(await freezeCgroup(init.pid!, 3000, 'v2'), true);
      const gone = new Promise<string | null>((resolve) => init.once('exit', (_code, signal) => resolve(signal)));
      init.kill('SIGKILL');
      assert.equal(await gone, 'SIGKILL', 'a frozen process dies of SIGKILL without being thawed');
    } finally {
      // Everything left (the other ticker, frozen `sleep` children) is killed; then the cgroups go.
      for (const dir of [initDir, execDir, top]) {
        if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
      }
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      if (existsSync(join(top, 'cgroup.freeze'))) writeFileSync(join(top, 'cgroup.freeze'), '0');
      for (let i = 0; i < 100 && existsSync(top) && /^populated 1$/m.test(read(join(top, 'cgroup.events'))); i++) await sleep(20);
      for (const dir of [initDir, execDir, top]) if (existsSync(dir)) rmdirSync(dir);
      rmSync(scratch, { recursive: true, force: true });
    }
    assert.equal(existsSync(top), false, 'the cgroup is removed');
  });
});

const LXD = MISSING ?? (await lxdMissing());

describe('lxd: a real container frozen through the cgroup v2 freezer, then deleted', suiteNeeds('cgroup v2 (root) and LXD', LXD), () => {
  test("its exec processes stop; the plugin's force stop and delete remove the frozen container", async (t) => {
    const name = `${testPrefix('frz')}-c`;
    const client = new LxdClient(LXD_SOCKET);
    try {
      const pid = await startTestContainer(client, name);
      await run(['lxc', 'exec', name, '--', 'sh', '-c', 'nohup sh -c "i=0; while :; do i=\\$((i+1)); echo \\$i > /tmp/c; sleep 0.05; done" >/dev/null 2>&1 &'], { input: '' });
      const file = `/proc/${pid}/root/tmp/c`;
      assert.ok(await advances(file), 'the exec process runs');
      const v2 = (await cgroupFreezers(pid)).find((f) => f.kind === 'v2');
      assert.ok(v2, 'the container is under a v2 freezer');
      assert.match(v2.dir, /\/lxc\.payload\.[^/]+$/, v2.dir);
      assert.equal(await freezeCgroup(pid, 3000, 'v2'), true);
      assert.match(read(join(v2.dir, 'cgroup.events')), /^frozen 1$/m);
      assert.equal(await advances(file, 600), false, 'the frozen exec process makes no progress');
      const started = performance.now();
      await destroyInstance(client, name);
      t.diagnostic(`force stop + delete of the v2-frozen container: ${Math.round(performance.now() - started)} ms`);
      assert.deepEqual(await instancesWithPrefix(name), [], 'the frozen container is gone');
    } finally {
      await run(['lxc', 'delete', '--force', name], { input: '' }).catch(() => undefined);
      client.close();
    }
  });
});
