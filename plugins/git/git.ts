/**
 * The git runner of the plugin: simple-git with an argument array, a minimal environment
 * (never all of `process.env`) and the slave's identity replaced by the one we pass.
 *
 * simple-git only fails a command that exits non-zero AND prints on stderr; queries that
 * answer by exit status alone (`rev-parse --quiet`, `merge-base`) therefore come back as
 * empty output, which is how the helpers below read git's state.
 */
import { simpleGit, type SimpleGit } from 'simple-git';
import { baseEnv } from '../../core/index.js';

export interface Identity {
  name: string;
  email: string;
}

export interface GitOptions {
  /** Working directory of the command. */
  cwd: string;
  /** `GIT_SSH_COMMAND`, when fetch/push go over ssh with our key and host keys. */
  sshCommand?: string;
  author?: Identity;
  committer?: Identity;
  signal?: AbortSignal;
}

/** Variables simple-git guards and that we set on purpose. */
const ALLOWED_ENV = [
  'GIT_SSH_COMMAND',
  'GIT_TERMINAL_PROMPT',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
];

/** Environment of every git child: PATH, HOME, LANG plus what the operation needs. */
export function gitEnv(options: GitOptions): Record<string, string> {
  return baseEnv({
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: options.sshCommand,
    GIT_AUTHOR_NAME: options.author?.name,
    GIT_AUTHOR_EMAIL: options.author?.email,
    GIT_COMMITTER_NAME: options.committer?.name,
    GIT_COMMITTER_EMAIL: options.committer?.email,
  });
}

/** A simple-git instance for one directory and one set of options. */
export function git(options: GitOptions): SimpleGit {
  return simpleGit({
    baseDir: options.cwd,
    maxConcurrentProcesses: 1,
    allowEnvironment: ALLOWED_ENV,
    // GIT_SSH_COMMAND is ours (operator config), and hooks are switched off by us.
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeHooksPath: true },
    // Never let the slave's user config sign, run hooks or strip message lines.
    config: ['commit.gpgsign=false', 'core.hooksPath=/dev/null', 'advice.detachedHead=false'],
    ...(options.signal ? { abort: options.signal } : {}),
  }).env(gitEnv(options));
}

/** Full commit id of `rev`, or undefined when it does not name a commit here. */
export async function resolveCommit(g: SimpleGit, rev: string): Promise<string | undefined> {
  const out = (await g.raw(['rev-parse', '--quiet', '--verify', '--end-of-options', `${rev}^{commit}`])).trim();
  return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
}

/** True when commit `a` is `b` or one of its ancestors (both full ids present here). */
export async function isAncestorOrEqual(g: SimpleGit, a: string, b: string): Promise<boolean> {
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
