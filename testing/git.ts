/**
 * Real git repositories for tests (part of `byoci/testing`): a bare target, a source
 * repository with branches, commits with chosen authors, and a byte-level snapshot of a
 * directory tree (to prove a step wrote nothing to a repository). git must be installed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, lstatSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { run } from '../core/process.js';

export interface Person {
  name: string;
  email: string;
}

export const ALICE: Person = { name: 'Alice Author', email: 'alice@example.invalid' };
export const BOB: Person = { name: 'Bob Target', email: 'bob@example.invalid' };

/** Runs git in `cwd` with a fixed identity and no user/system config. */
export async function gitIn(cwd: string, args: string[], who: Person = BOB): Promise<string> {
  const result = await run(['git', ...args], {
    cwd,
    env: {
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: who.name,
      GIT_AUTHOR_EMAIL: who.email,
      GIT_COMMITTER_NAME: who.name,
      GIT_COMMITTER_EMAIL: who.email,
    },
  });
  return result.stdout.trim();
}

export function tempDir(prefix = 'byoci-git-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `files` (relative path → content) into the work tree and commits them. */
export async function commitFiles(repo: string, files: Record<string, string>, message: string, who: Person = BOB): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  await gitIn(repo, ['add', '--all'], who);
  await gitIn(repo, ['commit', '--quiet', '-m', message], who);
  return gitIn(repo, ['rev-parse', 'HEAD'], who);
}

export interface Repos {
  root: string;
  /** Bare repository, the landing target, branch `main`. */
  target: string;
  /** Non-bare repository holding the proposal branches (cloned from the target). */
  source: string;
  /** The first commit on main. */
  base: string;
  remove(): void;
}

/** A bare target with one commit on `main` and a source clone of it. */
export async function makeRepos(): Promise<Repos> {
  const { dir: root, remove } = tempDir();
  const seed = join(root, 'seed');
  const target = join(root, 'target.git');
  const source = join(root, 'source');
  mkdirSync(seed);
  await gitIn(seed, ['init', '--quiet', '--initial-branch=main', '.']);
  const base = await commitFiles(seed, { 'README': 'hello\n', 'a.txt': 'one\ntwo\nthree\n' }, 'Initial commit');
  await gitIn(root, ['clone', '--quiet', '--bare', seed, target]);
  await gitIn(root, ['clone', '--quiet', target, source]);
  rmSync(seed, { recursive: true, force: true });
  return { root, target, source, base, remove };
}

/** Creates `branch` in the source at `from` (default: main) and commits `files` on it. */
export async function branchWith(repos: Repos, branch: string, files: Record<string, string>, message: string, who: Person = ALICE): Promise<string> {
  await gitIn(repos.source, ['checkout', '--quiet', '-B', branch, 'origin/main'], who);
  return commitFiles(repos.source, files, message, who);
}

/** Commits `files` straight onto the target's `main` (someone else landed something). */
export async function advanceTarget(repos: Repos, files: Record<string, string>, message: string): Promise<string> {
  const { dir, remove } = tempDir('byoci-git-advance-');
  try {
    await gitIn(dir, ['clone', '--quiet', '--branch', 'main', repos.target, 'w']);
    const rev = await commitFiles(join(dir, 'w'), files, message, BOB);
    await gitIn(join(dir, 'w'), ['push', '--quiet', 'origin', 'main']);
    return rev;
  } finally {
    remove();
  }
}

/** Map of every path under `dir` to a hash of its bytes (links: their target). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  function walk(d: string): void {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      const st = lstatSync(path);
      const rel = relative(dir, path);
      if (st.isDirectory()) {
        out.set(`${rel}/`, `dir ${st.mode.toString(8)}`);
        walk(path);
      } else if (st.isSymbolicLink()) {
        out.set(rel, `link ${readlinkSync(path)}`);
      } else {
        out.set(rel, `${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      }
    }
  }
  walk(dir);
  return out;
}
