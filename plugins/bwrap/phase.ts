/**
 * Runs one phase (setup or test) in a bwrap sandbox through core's runSandboxPhase (output
 * streamed, timeouts, the process group killed). bwrap reports on fd 3, as JSON, the host pid
 * of the sandbox's init (`child-pid`, killed too: --new-session put it in a session of its
 * own) and the command's exit code (`exit-code`: the command ran). bwrap's
 * `--die-with-parent` and its pid namespace take every process inside with it.
 */
import { runSandboxPhase, type SandboxPhaseResult } from '../../core/index.js';

/** Where bwrap writes `{"child-pid": N}` and `{"exit-code": N}`. */
export const STATUS_FD = 3;

export interface PhaseOptions {
  argv: readonly string[];
  totalSeconds: number | undefined;
  noOutputSeconds: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
  /** bwrap's process group ids while they run, for the shutdown tap. */
  live: Set<number>;
  /** Called with the host pids of bwrap and of the sandbox's first process, when bwrap reports it. */
  onStart?: (pids: { bwrap: number; child: number }) => void;
}

function kill(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone (ESRCH)
  }
}

export async function runPhase(options: PhaseOptions): Promise<SandboxPhaseResult> {
  let bwrap = 0;
  /** Host pid of the sandbox's pid-namespace init: killing it ends every process inside. */
  let init: number | undefined;
  let reportedExit: number | undefined;
  const end = await runSandboxPhase({
    argv: options.argv,
    totalSeconds: options.totalSeconds,
    noOutputSeconds: options.noOutputSeconds,
    onLine: options.onLine,
    signal: options.signal,
    live: options.live,
    onSpawn: (pid) => (bwrap = pid),
    onStatus(line) {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (typeof record['child-pid'] === 'number') {
          init = record['child-pid'];
          options.onStart?.({ bwrap, child: init });
        }
        if (typeof record['exit-code'] === 'number') reportedExit = record['exit-code'];
      } catch {
        // not a status line
      }
    },
    killAlso(when) {
      // Once bwrap reported the exit code the init has been reaped: its pid is not ours. Pipes
      // still held after bwrap exited mean the init is alive (it holds them), so still ours.
      if (when === 'stuck' || reportedExit === undefined) kill(init);
    },
  });
  return { ...end, exitCode: reportedExit ?? end.exitCode, ran: reportedExit !== undefined };
}
