/**
 * Who owns a container: the bot process that created it, recorded in the instance's
 * `user.byoci.*` config so that a later run can tell a leftover of a dead run (removed)
 * from a container of a bot that is still running (left alone).
 */
import { readFileSync } from 'node:fs';

export const OWNER_KEYS = Object.freeze({
  run: 'user.byoci.run',
  pid: 'user.byoci.pid',
  pidStart: 'user.byoci.pid-start',
  boot: 'user.byoci.boot-id',
});

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat). */
export function processStartTime(pid: number): string {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

export function bootId(): string {
  return readOrEmpty('/proc/sys/kernel/random/boot_id');
}

/** The `user.byoci.*` config recording this process as the owner of a run's container. */
export function ownerConfig(runId: string, pid: number = process.pid): Record<string, string> {
  return {
    [OWNER_KEYS.run]: runId,
    [OWNER_KEYS.pid]: String(pid),
    [OWNER_KEYS.pidStart]: processStartTime(pid),
    [OWNER_KEYS.boot]: bootId(),
  };
}

/**
 * Whether the process recorded in `config` is still running: same boot, same pid, same
 * start time (a recycled pid is a different process). No record at all counts as dead.
 */
export function ownerAlive(config: Record<string, string | undefined>): boolean {
  const pid = Number(config[OWNER_KEYS.pid]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (config[OWNER_KEYS.boot] !== bootId()) return false;
  const start = processStartTime(pid);
  return start !== '' && start === config[OWNER_KEYS.pidStart];
}
