/**
 * The process runner: execa with an argument array, never a shell string. Untrusted
 * strings (branch names, messages) can only ever be single arguments.
 */
import { execa } from 'execa';
import type { Logger } from './logger.js';

export interface RunOptions {
  cwd?: string;
  /** The whole environment of the child; PATH is added when missing. Nothing else leaks in. */
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

export async function run(command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = command;
  if (!file) throw new Error('run: empty command');
  options.log?.debug('run', { command: command.join(' '), cwd: options.cwd });
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env ? baseEnv(options.env) : undefined,
    extendEnv: options.env ? false : true,
    input: options.input,
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: true,
    shell: false,
  });
  const out: RunResult = {
    exitCode: result.exitCode ?? (result.signal ? 128 : 1),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
  if (result.failed && result.exitCode === undefined && options.reject !== false) {
    throw new CommandError(command, undefined, result.originalMessage ?? out.stderr);
  }
  if (out.exitCode !== 0 && options.reject !== false) throw new CommandError(command, out.exitCode, out.stderr);
  return out;
}
