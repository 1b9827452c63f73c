/**
 * Who a piece of durable state belongs to: a process identified by pid, start time and
 * boot id (a recycled pid is another process; a reboot ends every owner). Used for the
 * queue's leases and runs, and for leftovers of dead runs.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessOwner {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  pidStart: string;
  bootId: string;
  host: string;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function processStartTime(pid: number): string {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

export function bootId(): string {
  return readOrEmpty('/proc/sys/kernel/random/boot_id');
}

/** This process (or `pid`) as an owner record. */
export function currentOwner(pid: number = process.pid): ProcessOwner {
  return { pid, pidStart: processStartTime(pid), bootId: bootId(), host: hostname() };
}

/**
 * Whether the recorded owner still runs: same host, same boot, same pid, same start time.
 * An owner on another host cannot be checked from here and counts as alive.
 */
export function ownerAlive(owner: Partial<ProcessOwner>): boolean {
  if (owner.host !== undefined && owner.host !== hostname()) return true;
  const pid = Number(owner.pid);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (owner.bootId !== bootId()) return false;
  const start = processStartTime(pid);
  return start !== '' && start === owner.pidStart;
}
