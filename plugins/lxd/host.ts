/**
 * Host-side facts about a container: its uid/gid map (to make the workspace writable by
 * the test user, since `shift=true` is unavailable on LXD 5.0.2) and its cgroup's OOM-kill
 * counter (to tell a memory-limit kill from an ordinary exit code 137), and its freezer (to
 * stop everything in it at once before the artefacts are copied back).
 */
import { readFile, writeFile } from 'node:fs/promises';

interface IdmapEntry {
  Isuid: boolean;
  Isgid: boolean;
  Hostid: number;
  Nsid: number;
  Maprange: number;
}

/**
 * Host id of container id `id` according to `volatile.idmap.next` / `.current`
 * (JSON list of ranges). Throws when the id is not mapped.
 */
export function hostId(config: Record<string, string>, id: number, kind: 'uid' | 'gid'): number {
  const raw = config['volatile.idmap.next'] ?? config['volatile.idmap.current'] ?? config['volatile.last_state.idmap'];
  if (!raw) throw new Error('the container has no idmap (volatile.idmap.next): is it privileged?');
  const entries = JSON.parse(raw) as IdmapEntry[];
  for (const e of entries) {
    const applies = kind === 'uid' ? e.Isuid : e.Isgid;
    if (applies && id >= e.Nsid && id < e.Nsid + e.Maprange) return e.Hostid + (id - e.Nsid);
  }
  throw new Error(`container ${kind} ${id} is not in the container's idmap`);
}

async function readOr(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Number of OOM kills in the cgroup of host process `pid` (the container's init):
 * cgroup v1 `memory.oom_control` or v2 `memory.events`. Undefined when unreadable.
 */
export async function oomKillCount(pid: number): Promise<number | undefined> {
  const cgroups = await readOr(`/proc/${pid}/cgroup`);
  if (!cgroups) return undefined;
  const candidates: string[] = [];
  for (const line of cgroups.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined || controllers === undefined) continue;
    if (controllers.split(',').includes('memory')) candidates.push(`/sys/fs/cgroup/memory${path}/memory.oom_control`);
    if (controllers === '' && line.startsWith('0::')) {
      candidates.push(`/sys/fs/cgroup${path}/memory.events`, `/sys/fs/cgroup/unified${path}/memory.events`);
    }
  }
  for (const file of candidates) {
    const text = await readOr(file);
    const match = text?.match(/^oom_kill (\d+)$/m);
    if (match) return Number(match[1]);
  }
  return undefined;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The cgroup v2 directory that holds the whole container of a process whose (host-side) v2
 * path is `path`: LXD puts a container in `lxc.payload.<name>` and its `lxc exec` processes
 * in the `.lxc` cgroup below it, while a systemd init moves itself into `init.scope` below
 * it too. Freezing the init's own cgroup would then leave the test's processes running;
 * freezing `lxc.payload.<name>` freezes every descendant. A path without such a component
 * (not an LXD container) is kept as it is.
 */
export function containerCgroupV2(path: string): string {
  const parts = path.split('/');
  const top = parts.findIndex((p) => p.startsWith('lxc.payload.'));
  return top < 0 ? path : parts.slice(0, top + 1).join('/');
}

/** One freezer a process is under: cgroup v1 `freezer.state` or v2 `cgroup.freeze`. */
export interface Freezer {
  kind: 'v1' | 'v2';
  /** The cgroup directory frozen. */
  dir: string;
  request(): Promise<void>;
  frozen(): Promise<boolean>;
}

/** The freezers of host process `pid`, in the order of /proc/<pid>/cgroup (none at the root cgroup). */
export async function cgroupFreezers(pid: number): Promise<Freezer[]> {
  const cgroups = await readOr(`/proc/${pid}/cgroup`);
  if (!cgroups) return [];
  const out: Freezer[] = [];
  for (const line of cgroups.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined || controllers === undefined || path === '/') continue;
    if (controllers.split(',').includes('freezer')) {
      const dir = `/sys/fs/cgroup/freezer${path}`;
      const state = `${dir}/freezer.state`;
      out.push({ kind: 'v1', dir, request: () => writeFile(state, 'FROZEN'), frozen: async () => (await readOr(state))?.trim() === 'FROZEN' });
    } else if (controllers === '' && line.startsWith('0::')) {
      const top = containerCgroupV2(path);
      // Pure cgroup v2 mounts it on /sys/fs/cgroup, a hybrid host on /sys/fs/cgroup/unified.
      const dir = (await readOr(`/sys/fs/cgroup${top}/cgroup.events`)) !== undefined ? `/sys/fs/cgroup${top}` : `/sys/fs/cgroup/unified${top}`;
      // Only a cgroup v2 hierarchy with the freezer (Linux 5.2+) has cgroup.freeze.
      if ((await readOr(`${dir}/cgroup.freeze`)) === undefined) continue;
      out.push({
        kind: 'v2',
        dir,
        request: () => writeFile(`${dir}/cgroup.freeze`, '1'),
        frozen: async () => /^frozen 1$/m.test((await readOr(`${dir}/cgroup.events`)) ?? ''),
      });
    }
  }
  return out;
}

/**
 * Freezes every process in the cgroup of host process `pid` (the container's init; for
 * cgroup v2 the container's whole cgroup, see containerCgroupV2) and waits until the kernel
 * says it is frozen (at most `waitMs`): cgroup v1 `freezer.state`, v2 `cgroup.freeze` /
 * `cgroup.events`. A frozen process cannot run, so nothing in the container can change its
 * workspace while the artefacts are copied back. This is what LXD's own `freeze` does,
 * without liblxc's one-second polling step (LXD's freeze took 1.0 s here, this 10 ms).
 * The first freezer that accepts the request is used (`only`: of that kind only). Returns
 * false when no freezer is found or the cgroup did not freeze in time: the caller then
 * kills the container instead. Nothing thaws it: the container is stopped by force and
 * deleted after the copy (a SIGKILL reaches a process frozen by the v2 freezer).
 */
export async function freezeCgroup(pid: number, waitMs = 3000, only?: Freezer['kind']): Promise<boolean> {
  for (const freezer of await cgroupFreezers(pid)) {
    if (only && freezer.kind !== only) continue;
    try {
      await freezer.request();
    } catch {
      continue;
    }
    const until = performance.now() + waitMs;
    while (performance.now() < until) {
      if (await freezer.frozen()) return true;
      await pause(5);
    }
    return false;
  }
  return false;
}
