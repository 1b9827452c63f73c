/**
 * Runs one phase (setup or test) in a bwrap sandbox: streams output line by line, enforces
 * the total and no-output timeouts, and kills the whole process group when a timeout fires
 * or the run is interrupted. bwrap's `--die-with-parent` and its pid namespace take every
 * process inside with it: nothing outlives the phase.
 */
import { spawn } from 'node:child_process';
import { LineSplitter, Watchdog, closeInheritedFds, type TimeoutKind } from '../../core/index.js';

export interface PhaseOptions {
  argv: readonly string[];
  /** Seconds left of the total timeout (0 or less: already over); undefined: none. */
  totalSeconds: number | undefined;
  noOutputSeconds: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
  /** Called with the host pid of the sandbox's first process, when bwrap reports it. */
  onStart?: (pids: { bwrap: number; child: number }) => void;
}

export interface PhaseResult {
  exitCode: number;
  timedOut?: TimeoutKind;
  /** The run was interrupted (signal aborted); the sandbox is gone. */
  aborted: boolean;
  /**
   * bwrap reported the command's exit (`exit-code`). False when bwrap itself failed (a
   * mount, or exec of the command) or the sandbox was killed.
   */
  ran: boolean;
}

/** Where bwrap writes `{"child-pid": N}` and `{"exit-code": N}`. */
export const STATUS_FD = 3;

/** After bwrap exits, how long its output pipes may stay open (held by a stray process). */
const CLOSE_GRACE_MS = 5000;

function kill(pid: number | undefined, group: boolean): void {
  if (!pid) return;
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone (ESRCH)
  }
}

export function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const [file, ...args] = options.argv;
  if (!file) return Promise.reject(new Error('bwrap phase: empty command'));
  return new Promise<PhaseResult>((resolve, reject) => {
    let timedOut: TimeoutKind | undefined;
    let aborted = false;
    let ran = false;
    let reportedExit: number | undefined;
    /** Host pid of the sandbox's pid-namespace init: killing it ends every process inside. */
    let sandboxInit: number | undefined;
    let closed = false;

    // Nothing inherited from the bot's caller reaches the sandbox (an fd 200 to a secret file).
    closeInheritedFds();
    // detached: a new session and process group whose id is bwrap's pid, killed as a whole.
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // bwrap clears the environment (--clearenv); PATH here only finds bwrap itself.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      shell: false,
    });
    const pid = child.pid;
    // bwrap's group, and the sandbox's init (--new-session put it in a session of its own;
    // --die-with-parent would take it down anyway). Only while they are ours: a pid is
    // reused once its process has been reaped.
    let exited = false;
    const killAll = () => {
      if (!exited) kill(pid, true);
      // Once bwrap reported the exit code, the init has been reaped: its pid is not ours.
      if (!closed && !ran) kill(sandboxInit, false);
    };

    const watchdog = new Watchdog({
      totalSeconds: options.totalSeconds === undefined ? 0 : Math.max(options.totalSeconds, 0.001),
      noOutputSeconds: options.noOutputSeconds,
      onTimeout(kind) {
        timedOut = kind;
        killAll();
      },
    });
    const onAbort = () => {
      aborted = true;
      killAll();
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });

    const splitters = (['stdout', 'stderr'] as const).map((stream) => {
      const splitter = new LineSplitter((line) => {
        watchdog.touch();
        options.onLine(stream, line);
      });
      const source = stream === 'stdout' ? child.stdout : child.stderr;
      source?.on('data', (chunk: Buffer) => splitter.push(chunk));
      return splitter;
    });

    const status = new LineSplitter((line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (typeof record['child-pid'] === 'number') {
          sandboxInit = record['child-pid'];
          if (pid) options.onStart?.({ bwrap: pid, child: record['child-pid'] });
        }
        if (typeof record['exit-code'] === 'number') {
          ran = true;
          reportedExit = record['exit-code'];
        }
      } catch {
        // not a status line
      }
    });
    const statusStream = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
    statusStream?.on('data', (chunk: Buffer) => status.push(chunk));

    child.on('error', (error) => {
      watchdog.stop();
      options.signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${file}: ${error.message}`));
    });
    let grace: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      exited = true;
      // Normally the pipes close right after. If a stray process still holds them after a
      // grace period, the sandbox was not torn down (it always is with --die-with-parent):
      // kill its init (alive while anything inside holds the pipes, so still ours; the pid
      // namespace goes with it) and stop waiting.
      grace = setTimeout(() => {
        kill(sandboxInit, false);
        for (const stream of child.stdio) stream?.destroy();
      }, CLOSE_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      closed = true;
      clearTimeout(grace);
      watchdog.stop();
      options.signal.removeEventListener('abort', onAbort);
      for (const s of splitters) s.end();
      status.end();
      const exitCode = reportedExit ?? code ?? (signal ? 128 + signalNumber(signal) : 1);
      resolve({ exitCode, ...(timedOut ? { timedOut } : {}), aborted, ran });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
  return numbers[signal] ?? 0;
}
