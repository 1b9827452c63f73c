/**
 * One phase (setup or test) of a namespace sandbox (bwrap, unshare): the sandbox program
 * runs in a process group of its own with nothing inherited (no fd above 2 of the bot's
 * caller, an environment of PATH only); its output is streamed line by line; the total and
 * no-output timeouts and an interrupted run kill the whole group. Fd 3 is the backend's
 * status channel (bwrap's `--json-status-fd`, unshare's script's `ready`), read line by line.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { closeInheritedFds } from './fds.js';
import { LineSplitter, Watchdog, type TimeoutKind } from './stream.js';

export interface SandboxPhaseOptions {
  argv: readonly string[];
  /** Seconds left of the total timeout (0 or less: already over); undefined: none. */
  totalSeconds: number | undefined;
  noOutputSeconds: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
  /** Each line the sandbox program writes on fd 3. */
  onStatus?: (line: string) => void;
  /** Process group ids of live sandboxes (for a shutdown tap): the phase's while it runs. */
  live?: Set<number>;
  /** Called with the sandbox program's pid (its process group id) once it is spawned. */
  onSpawn?: (pid: number) => void;
  /**
   * Called whenever the phase is killed (timeout, abort) and when the output pipes stay
   * open after the program exited: kill what the group kill does not reach (bwrap's init).
   */
  killAlso?: (when: 'kill' | 'stuck') => void;
}

export interface SandboxPhaseEnd {
  /** The program's exit code, or 128 + the number of the signal that ended it. */
  exitCode: number;
  timedOut?: TimeoutKind;
  /** The run was interrupted (signal aborted); the sandbox is gone. */
  aborted: boolean;
}

/** After the program exits, how long its output pipes may stay open (held by a stray process). */
const CLOSE_GRACE_MS = 5000;

/** 128 + the signal's number, as a shell reports a process killed by it. */
export function signalExitCode(signal: NodeJS.Signals | null): number {
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

export function runSandboxPhase(options: SandboxPhaseOptions): Promise<SandboxPhaseEnd> {
  const [file, ...args] = options.argv;
  if (!file) return Promise.reject(new Error('sandbox phase: empty command'));
  return new Promise<SandboxPhaseEnd>((resolve, reject) => {
    let timedOut: TimeoutKind | undefined;
    let aborted = false;
    let exited = false;

    // Nothing inherited from the bot's caller reaches the sandbox (an fd 200 to a secret file).
    closeInheritedFds();
    // detached: a new session and process group whose id is the program's pid, killed as a whole.
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // PATH only: to find the sandbox program and the tools its set-up runs (ip, mount...).
      env: { PATH: [process.env.PATH, '/usr/sbin:/usr/bin:/sbin:/bin'].filter(Boolean).join(':') },
      shell: false,
    });
    const pid = child.pid;
    if (pid) {
      options.live?.add(pid);
      options.onSpawn?.(pid);
    }
    // Only while the group is ours: a pid is reused once its process has been reaped.
    const killAll = () => {
      if (!exited && pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone (ESRCH)
        }
      }
      options.killAlso?.('kill');
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
      child[stream]?.on('data', (chunk: Buffer) => splitter.push(chunk));
      return splitter;
    });
    const status = new LineSplitter((line) => options.onStatus?.(line));
    (child.stdio[3] as NodeJS.ReadableStream | null | undefined)?.on('data', (chunk: Buffer) => status.push(chunk));

    const done = () => {
      watchdog.stop();
      options.signal.removeEventListener('abort', onAbort);
      if (pid) options.live?.delete(pid);
    };
    child.on('error', (error) => {
      done();
      reject(new Error(`cannot run ${file}: ${error.message}`));
    });
    let grace: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      exited = true;
      // Normally the pipes close right after. A stray process still holding them after a
      // grace period means the sandbox was not torn down: kill what is left and stop waiting.
      grace = setTimeout(() => {
        options.killAlso?.('stuck');
        for (const stream of child.stdio) stream?.destroy();
      }, CLOSE_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      clearTimeout(grace);
      done();
      for (const s of splitters) s.end();
      status.end();
      resolve({ exitCode: code ?? signalExitCode(signal), ...(timedOut ? { timedOut } : {}), aborted });
    });
  });
}
