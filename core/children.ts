/**
 * Children that die with the bot. Every command core runs (git, brz, ssh-agent...) gets a
 * process group of its own, so that ssh started by a `git push` goes with it. A per-process
 * reaper (a small `sh` reading a pipe from the bot) holds the list of live groups: when the
 * bot ends in any way, kill -9 included, the pipe closes, and the reaper kills every group
 * still listed. A killed bot's push therefore stops instead of completing behind its back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';

/**
 * The reaper: `+ <pgid>` adds a group, `- <pgid>` removes it; at end of input (the bot is
 * gone) every listed group gets SIGKILL. It ignores INT/TERM/HUP so that a Ctrl-C on the
 * bot's terminal leaves it waiting for the end of input like any other exit.
 */
const REAPER = [
  "trap '' INT TERM HUP",
  'set --',
  'while read -r op pg; do',
  '  case $op in',
  '    +) set -- "$@" "$pg" ;;',
  '    -) for x do shift; [ "$x" = "$pg" ] || set -- "$@" "$x"; done ;;',
  '  esac',
  'done',
  'for pg do kill -KILL "-$pg" 2>/dev/null; done',
].join('\n');

interface ReaperState {
  child: ChildProcess;
  groups: Set<number>;
}

// One reaper per bot process (state of the process, not of a run: the pipe is what dies with it).
let reaper: ReaperState | undefined;

function reaperState(): ReaperState | undefined {
  if (reaper && reaper.child.exitCode === null && reaper.child.stdin?.writable) return reaper;
  try {
    const child = spawn('/bin/sh', ['-c', REAPER], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = { child, groups: reaper?.groups ?? new Set() };
    for (const pg of reaper.groups) tell(reaper, `+ ${pg}\n`);
    return reaper;
  } catch {
    return undefined;
  }
}

/**
 * Writes a line to the reaper now: with the pipe's fd, synchronously, so that a kill -9 right
 * after a spawn cannot beat the line into the pipe; else through the stream.
 */
function tell(r: ReaperState, line: string): void {
  const fd = (r.child.stdin as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) {
    try {
      writeSync(fd, line);
      return;
    } catch {
      // EAGAIN or a closed pipe: fall back to the stream
    }
  }
  if (r.child.stdin?.writable) r.child.stdin.write(line);
}

/** Starts the reaper now (before spawning a child), so that tracking the child is one write. */
export function prepareReaper(): void {
  reaperState();
}

/** Records a child that leads its own process group (spawned `detached`). */
export function trackGroup(pgid: number | undefined): void {
  if (!pgid) return;
  const r = reaperState();
  if (!r) return;
  r.groups.add(pgid);
  tell(r, `+ ${pgid}\n`);
}

/** The group's leader has exited: kill what is left of the group and forget it. */
export function untrackGroup(pgid: number | undefined): void {
  if (!pgid) return;
  killGroup(pgid, 'SIGKILL');
  if (!reaper) return;
  reaper.groups.delete(pgid);
  tell(reaper, `- ${pgid}\n`);
}

/** Signals a whole process group; a group that is gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

/** Signals every live group (a second SIGINT/SIGTERM: stop the children now, then clean up). */
export function killAllGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
  const groups = [...(reaper?.groups ?? [])];
  for (const pg of groups) killGroup(pg, signal);
  return groups.length;
}

/** Process groups currently tracked (for tests and diagnostics). */
export function trackedGroups(): number[] {
  return [...(reaper?.groups ?? [])];
}
