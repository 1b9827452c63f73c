/**
 * The process runner: node's spawn with an argument array, never a shell string. Untrusted
 * strings (branch names, messages) can only ever be single arguments. Every child leads a
 * process group of its own that dies with the bot (see children.ts): an abort signals the
 * whole group (git and the ssh it started), and so does the bot's death.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { killGroup, spawnEnv, trackGroup, untrackGroup } from './children.js';
import type { Logger } from './logger.js';
import { commandName, recordSpan, timingsOn } from './timings.js';

export interface RunOptions {
  cwd?: string;
  /**
   * The whole environment of the child; PATH is added when missing. Nothing else leaks in
   * but the reaper's mark (`BYOCI_REAPER`, a random token: see children.ts).
   */
  env?: Record<string, string | undefined>;
  /** Bytes to write on stdin. */
  input?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; inspect `exitCode`. */
  reject?: boolean;
  log?: Logger;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${command[0]} exited with ${exitCode ?? 'a signal'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Minimal environment for a child: PATH, HOME, LANG and what the caller adds. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Removes one final newline, as a shell's `$(...)` does. */
function stripFinalNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** Grace between SIGTERM and SIGKILL for an aborted or timed-out command's group. */
const KILL_GRACE_MS = 2000;

export async function run(command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = command;
  if (!file) throw new Error('run: empty command');
  options.log?.debug('run', { command: command.join(' '), cwd: options.cwd });
  const started = timingsOn ? performance.now() : 0;
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; failure?: string }>(
    (resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(file, args, {
          cwd: options.cwd,
          // With the reaper's mark (children.ts), so that a kill -9 during this spawn still finds it.
          env: spawnEnv(options.env ? baseEnv(options.env) : process.env),
          // A group of its own (children.ts): the reaper kills it if the bot dies.
          detached: true,
          stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
      } catch (error) {
        resolve({ code: null, signal: null, stdout: '', stderr: '', failure: (error as Error).message });
        return;
      }
      const pgid = child.pid;
      trackGroup(pgid);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout?.on('data', (d: Buffer) => stdout.push(d));
      child.stderr?.on('data', (d: Buffer) => stderr.push(d));
      let failure: string | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const stop = (why: string) => {
        failure ??= why;
        if (!pgid) return;
        killGroup(pgid, 'SIGTERM');
        graceTimer ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), KILL_GRACE_MS);
        graceTimer.unref();
      };
      const onAbort = () => stop('the command was aborted');
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop(`timed out after ${options.timeoutMs} milliseconds`), options.timeoutMs);
      if (child.stdin) {
        child.stdin.on('error', () => undefined); // a child that does not read its input
        child.stdin.end(options.input);
      }
      let exited = false;
      child.on('exit', () => {
        exited = true;
        // What is left of the group (a background grandchild holding our pipes) goes too.
        untrackGroup(pgid);
      });
      child.on('error', (error) => {
        failure ??= error.message;
        if (!exited) untrackGroup(pgid);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve({
          code,
          signal,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          ...(failure !== undefined ? { failure } : {}),
        });
      });
    },
  );
  if (timingsOn) recordSpan('proc', commandName(command), started);
  const out: RunResult = {
    exitCode: outcome.code ?? (outcome.signal ? 128 : 1),
    stdout: stripFinalNewline(outcome.stdout),
    stderr: stripFinalNewline(outcome.stderr),
  };
  if ((outcome.code === null || outcome.failure !== undefined) && options.reject !== false) {
    const why = outcome.failure ?? (outcome.signal ? `killed by ${outcome.signal}` : out.stderr);
    throw new CommandError(command, outcome.code ?? undefined, outcome.code === null ? `${why}${out.stderr ? `\n${out.stderr}` : ''}` : out.stderr);
  }
  if (out.exitCode !== 0 && options.reject !== false) throw new CommandError(command, out.exitCode, out.stderr);
  return out;
}
