/**
 * Who owns something a run leaves behind (a container, a run directory): the bot process,
 * named by pid + start time + boot id, so that a later run can tell a leftover of a dead
 * run (removed) from one of a bot that is still running (left alone). A recycled pid is a
 * different process: its start time differs.
 */
import { readFileSync } from 'node:fs';

export interface ProcessOwner {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  pidStart: string;
  boot: string;
}

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

/** This process (or `pid`) as an owner record. */
export function processOwner(pid: number = process.pid): ProcessOwner {
  return { pid, pidStart: processStartTime(pid), boot: bootId() };
}

/** Whether the recorded process still runs: same boot, same pid, same start time. */
export function ownerIsAlive(owner: Partial<Record<keyof ProcessOwner, unknown>>): boolean {
  const pid = Number(owner.pid);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (owner.boot !== bootId()) return false;
  const start = processStartTime(pid);
  return start !== '' && start === owner.pidStart;
}
