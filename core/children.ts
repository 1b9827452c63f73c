/**
 * Children that die with the bot. Every command core runs (git, brz, ssh-agent...) gets a
 * process group of its own, so that ssh started by a `git push` goes with it. A per-process
 * reaper (a small `sh` reading a pipe from the bot) holds the list of live groups: when the
 * bot ends in any way, kill -9 included, the pipe closes, and the reaper kills every group
 * still listed. A killed bot's push therefore stops instead of completing behind its back.
 *
 * A child runs before the bot can list it: it execs inside `spawn()`, and its group is
 * listed only once `spawn()` has returned (a loaded machine runs the child's first commands
 * in between). So the bot tells the reaper `s` before each spawn, and every child gets the
 * reaper's mark in its environment (`BYOCI_REAPER=<token>`, a random token, not a secret).
 * A bot that dies between the two leaves `s` unanswered: the reaper then also kills every
 * process whose environment at exec carries its mark. That scan cannot miss the child: until
 * the child execs it holds a copy of the bot's end of the pipe (close-on-exec), so the
 * reaper reads the end of its input only after the child exec'd with the mark, or died.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';

/** The environment variable that marks a child as this bot's (see above). */
export const REAPER_MARK = 'BYOCI_REAPER';

/**
 * The reaper (`$0` is its token): `s` a spawn begins, `+ <pgid>` adds a group, `x` the spawn
 * failed, `- <pgid>` removes a group; at end of input (the bot is gone) every listed group
 * gets SIGKILL, and after an unanswered `s` so does every process carrying the mark. It
 * ignores INT/TERM/HUP so that a Ctrl-C on the bot's terminal leaves it waiting for the end
 * of input like any other exit.
 */
const REAPER = [
  "trap '' INT TERM HUP",
  'set --',
  'spawning=',
  'while read -r op pg; do',
  '  case $op in',
  '    s) spawning=1 ;;',
  '    x) spawning= ;;',
  '    +) spawning=; set -- "$@" "$pg" ;;',
  '    -) for x do shift; [ "$x" = "$pg" ] || set -- "$@" "$x"; done ;;',
  '  esac',
  'done',
  'for pg do kill -KILL "-$pg" 2>/dev/null; done',
  '[ -n "$spawning" ] || exit 0',
  `for f in $(grep -lsxzF "${REAPER_MARK}=$0" /proc/[0-9]*/environ); do`,
  '  p=${f#/proc/}; p=${p%/environ}',
  '  kill -KILL "-$p" "$p" 2>/dev/null',
  'done',
].join('\n');

interface ReaperState {
  child: ChildProcess;
  token: string;
  groups: Set<number>;
}

// One reaper per bot process (state of the process, not of a run: the pipe is what dies with it).
let reaper: ReaperState | undefined;

function reaperState(): ReaperState | undefined {
  if (reaper && reaper.child.exitCode === null && reaper.child.stdin?.writable) return reaper;
  try {
    const token = randomBytes(12).toString('hex');
    const child = spawn('/bin/sh', ['-c', REAPER, token], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = { child, token, groups: reaper?.groups ?? new Set() };
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

/**
 * Call right before spawning a child that will lead its own process group (`detached`):
 * starts the reaper if need be, tells it a spawn begins, and returns `env` plus the
 * reaper's mark: the environment to give the child. Then call trackGroup with its pid.
 */
export function spawnEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const r = reaperState();
  if (!r) return { ...env };
  tell(r, 's\n');
  return { ...env, [REAPER_MARK]: r.token };
}

/** Records a child that leads its own process group (spawned `detached`, after spawnEnv). */
export function trackGroup(pgid: number | undefined): void {
  const r = reaperState();
  if (!r) return;
  if (!pgid) {
    tell(r, 'x\n');
    return;
  }
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
