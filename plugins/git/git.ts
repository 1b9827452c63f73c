/**
 * The git runner of the plugin: core's `run()` with an argument array (each command in a
 * process group that dies with the bot), a minimal environment (never all of
 * `process.env`) and none of the slave's own git configuration: no system or global
 * config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), no system or user
 * attributes, no hooks, no git-lfs smudging. The repositories are ours (`git init` in the
 * run's workspace), so no filter, hook or driver is ever configured for an untrusted tree.
 *
 * Like simple-git (which this replaced), a command fails only when it exits non-zero AND
 * prints on stderr; queries that answer by exit status alone (`rev-parse --quiet`,
 * `merge-base`) come back as empty output, which is how the helpers below read git's state.
 */
import { baseEnv, run } from '../../core/index.js';

export interface Identity {
  name: string;
  email: string;
}

export interface GitOptions {
  /** Working directory of the command. */
  cwd: string;
  /** `GIT_SSH_COMMAND`, when fetch/push go over ssh with our key and host keys. */
  sshCommand?: string;
  /** `SSH_AUTH_SOCK`, when ssh uses the slave's own agent (no key secret configured). */
  authSock?: string;
  author?: Identity;
  committer?: Identity;
  signal?: AbortSignal;
}

/** `-c` settings of every command: nothing of the slave's user config can sign, hook or filter. */
export const GIT_CONFIG = [
  'commit.gpgsign=false',
  'tag.gpgsign=false',
  'core.hooksPath=/dev/null',
  'core.attributesFile=/dev/null',
  'core.excludesFile=/dev/null',
  'core.fsmonitor=false',
  'fetch.recurseSubmodules=false',
  'submodule.recurse=false',
  'protocol.ext.allow=never',
  'advice.detachedHead=false',
];

/** Environment of every git child: PATH, HOME, LANG plus what the operation needs. */
export function gitEnv(options: Omit<GitOptions, 'cwd'>): Record<string, string> {
  return baseEnv({
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: options.sshCommand,
    SSH_AUTH_SOCK: options.authSock,
    GIT_AUTHOR_NAME: options.author?.name,
    GIT_AUTHOR_EMAIL: options.author?.email,
    GIT_COMMITTER_NAME: options.committer?.name,
    GIT_COMMITTER_EMAIL: options.committer?.email,
  });
}

/** git printed an error: the message is its whole stderr (trimmed). */
export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Runs git commands in one directory with one set of options. */
export interface GitRunner {
  /** stdout of `git <args>`; throws GitError when git exits non-zero with something on stderr. */
  raw(args: readonly string[]): Promise<string>;
}

/** A git runner for one directory and one set of options. */
export function git(options: GitOptions): GitRunner {
  const env = gitEnv(options);
  const prefix = GIT_CONFIG.flatMap((c) => ['-c', c]);
  return {
    async raw(args) {
      const result = await run(['git', ...prefix, ...args], { cwd: options.cwd, env, signal: options.signal, reject: false });
      if (result.exitCode !== 0 && result.stderr.trim()) throw new GitError(args, result.exitCode, result.stderr.trim());
      return result.stdout;
    },
  };
}

/** Full commit id of `rev`, or undefined when it does not name a commit here. */
export async function resolveCommit(g: GitRunner, rev: string): Promise<string | undefined> {
  const out = (await g.raw(['rev-parse', '--quiet', '--verify', '--end-of-options', `${rev}^{commit}`])).trim();
  return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
}

/** True when commit `a` is `b` or one of its ancestors (both full ids present here). */
export async function isAncestorOrEqual(g: GitRunner, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const base = (await g.raw(['merge-base', '--end-of-options', a, b])).trim();
  return base === a;
}

/** Splits NUL-separated output (`-z`) into its non-empty entries. */
export function splitZ(output: string): string[] {
  return output.split('\0').filter((s) => s.length > 0);
}

/** The last non-empty line of an error message (git's `fatal: ...`), for details. */
export function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? text;
}

/**
 * What git said when a fetch or push failed: its whole message, trimmed to the lines that
 * carry a reason (ssh's "Permission denied (publickey)", the remote's "remote: ..." lines,
 * git's "fatal: ..."), at most `maxLines` of them. The caller redacts it.
 */
export function gitReason(error: unknown, maxLines = 8): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const kept = lines.length > maxLines ? lines.slice(-maxLines) : lines;
  return kept.join(' | ') || text;
}
