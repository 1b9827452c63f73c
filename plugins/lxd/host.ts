/**
 * Host-side facts about a container: its uid/gid map (to make the workspace writable by
 * the test user, since `shift=true` is unavailable on LXD 5.0.2) and its cgroup's OOM-kill
 * counter (to tell a memory-limit kill from an ordinary exit code 137).
 */
import { readFile } from 'node:fs/promises';

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
