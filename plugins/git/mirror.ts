/**
 * The mirror of a target repository on the slave: a bare repository in the cache
 * directory (`<cacheDir>/git/<name>-<hash of the URL>.git`), fetched incrementally, from
 * which each landing's checkout is a hardlinked local clone (cheap, and self-contained:
 * no alternates file, so the copy a container gets needs nothing outside it). The mirror
 * itself is never handed to a container.
 *
 * Layout: the target's branches as `refs/heads/*` and its tags as `refs/tags/*`; each
 * source remote's branches under `refs/byoci/sources/<hash of its URL>/<branch>`, so their
 * history shares the target's objects and a fetch moves only what is new.
 *
 * Trust: an object being in the mirror proves nothing. The source tip a landing uses is
 * read from FETCH_HEAD of the fetch it just made from the source URL (under the lock); a
 * failed fetch (deleted branch, unreachable remote) fails the landing whatever the mirror
 * holds, and its stale ref is removed.
 *
 * Safety: every use holds an flock on `<mirror>.lock` (two bots serialise; a dead holder's
 * lock is released by the kernel). A marker file `byoci-clean` is removed before an update
 * and written after it: when it is missing (an update was killed), stale `*.lock` files are
 * removed and `git fsck --connectivity-only` checks the mirror; a mirror that fails it, or
 * fails any step while a fresh one would not, is deleted and fetched again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rejection, run, withFileLock, type Logger } from '../../core/index.js';
import { GIT_CONFIG, git, gitEnv, gitReason, lastLine, resolveCommit, type GitRunner } from './git.js';
import { displayUrl, fetchRefOf } from './refs.js';

const MARKER = 'byoci-clean';
/** The clean marker, rewritten by every update: its mtime is the mirror's last use (the cache sweep reads it). */
export const MIRROR_MARKER = MARKER;
/** Settings of every mirror: gc in the foreground (under our lock), packs kept as packs. */
const MIRROR_CONFIG = `[gc]
\tautoDetach = false
[fetch]
\tunpackLimit = 1
[core]
\tlogAllRefUpdates = false
`;

export interface MirrorCheckout {
  /** The mirror's directory (for messages and tests). */
  mirror: string;
  targetRevision: string;
  /** The source tip this landing fetched from the source URL. */
  sourceTip: string;
}

export interface MirrorRequest {
  /** `<cacheDir>/git`. */
  root: string;
  /** The empty directory that becomes the checkout. */
  workspace: string;
  targetUrl: string;
  targetBranch: string;
  sourceUrl: string;
  sourceBranch: string;
  /** Refs the checkout gets: the target tip and the source tip. */
  targetRef: string;
  sourceRef: string;
  sshCommand?: string;
  /** `SSH_AUTH_SOCK` of the slave's own agent (no key secret configured). */
  authSock?: string;
  signal?: AbortSignal;
  redact: (text: string) => string;
  log?: Logger;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The mirror directory of a repository URL: a readable name plus a hash of the URL. */
export function mirrorPath(root: string, url: string): string {
  const base = url.replace(/[/\\]+$/, '').split(/[/\\:]/).pop() ?? '';
  const name = base.replace(/\.git$/, '').replace(/[^\w.-]+/g, '_').replace(/^\.+/, '').slice(0, 40) || 'repo';
  return join(root, `${name}-${hashOf(url)}.git`);
}

/** Where a source remote's branch is kept in the mirror. */
export function sourceRefOf(sourceUrl: string, branch: string): string {
  return `refs/byoci/sources/${hashOf(sourceUrl)}/${branch}`;
}

class TargetFetchError extends Error {}

/** Runs git in the mirror and reports its exit status (fsck answers by status). */
async function gitStatus(dir: string, args: string[], options: { signal?: AbortSignal; input?: string } = {}): Promise<{ ok: boolean; stderr: string }> {
  const result = await run(['git', ...GIT_CONFIG.flatMap((c) => ['-c', c]), ...args], {
    cwd: dir,
    env: gitEnv({}),
    reject: false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { ok: result.exitCode === 0, stderr: result.stderr };
}

async function create(dir: string): Promise<void> {
  const tmp = `${dir}.new-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await git({ cwd: tmp }).raw(['init', '--quiet', '--bare', '.']);
  await appendFile(join(tmp, 'config'), MIRROR_CONFIG);
  await rename(tmp, dir);
}

/** Lock files git leaves when it is killed; stale by definition while we hold the mirror's lock. */
async function removeStaleLocks(dir: string): Promise<string[]> {
  const removed: string[] = [];
  async function walk(path: string): Promise<void> {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.lock')) {
        await rm(full, { force: true });
        removed.push(full);
      }
    }
  }
  for (const name of ['HEAD.lock', 'config.lock', 'packed-refs.lock', 'shallow.lock', 'FETCH_HEAD.lock']) {
    if (existsSync(join(dir, name))) {
      await rm(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
  }
  await walk(join(dir, 'refs'));
  return removed;
}

/** True when the mirror's refs all reach complete histories. */
export async function mirrorHealthy(dir: string, signal?: AbortSignal): Promise<boolean> {
  if (!existsSync(join(dir, 'HEAD'))) return false;
  return (await gitStatus(dir, ['fsck', '--connectivity-only', '--no-progress', '--no-dangling'], signal ? { signal } : {})).ok;
}

/** Opens the mirror for an update: created when missing, checked after an interrupted update. */
async function prepare(dir: string, log: Logger | undefined, signal?: AbortSignal): Promise<void> {
  if (!existsSync(dir)) return create(dir);
  if (existsSync(join(dir, MARKER))) return;
  const locks = await removeStaleLocks(dir);
  if (locks.length) log?.warn('git mirror: removed lock files of an interrupted update', { mirror: dir, files: locks.length });
  if (await mirrorHealthy(dir, signal)) return;
  log?.warn('git mirror: broken after an interrupted update: fetching it again', { mirror: dir });
  await rm(dir, { recursive: true, force: true });
  await create(dir);
}

/** The oid of the first FETCH_HEAD line: what the fetch just made got from the remote. */
async function fetchedTip(dir: string): Promise<string | undefined> {
  const text = await readFile(join(dir, 'FETCH_HEAD'), 'utf8').catch(() => '');
  const oid = /^([0-9a-f]{40,64})\t/.exec(text)?.[1];
  return oid;
}

/**
 * Full ids of two refs in one git process; each undefined when it names no commit. (The
 * slow path, one process each, only runs when one of them does not resolve.)
 */
async function resolveBoth(m: GitRunner, a: string, b: string): Promise<[string | undefined, string | undefined]> {
  // Both are refs/… names we built from checked branch names (never an option); git 2.39's
  // rev-parse without --verify would print `--end-of-options` back, so it is not passed.
  if (!a.startsWith('refs/') || !b.startsWith('refs/')) return [await resolveCommit(m, a), await resolveCommit(m, b)];
  const out = await m.raw(['rev-parse', '--quiet', `${a}^{commit}`, `${b}^{commit}`]).catch(() => '');
  const ids = out.split('\n').map((l) => l.trim());
  if (ids.length === 2 && ids.every((id) => /^[0-9a-f]{40,64}$/.test(id))) return [ids[0], ids[1]];
  return [await resolveCommit(m, a), await resolveCommit(m, b)];
}

/**
 * Removes the `[remote "origin"]` section `git clone` wrote into the checkout's config
 * (so the copy a container gets does not name the mirror), without a git process; false
 * when the file does not look as expected (the caller asks git then).
 */
async function dropOrigin(workspace: string): Promise<boolean> {
  const file = join(workspace, '.git', 'config');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const kept: string[] = [];
  let inOrigin = false;
  let found = false;
  for (const line of text.split('\n')) {
    if (/^\s*\[/.test(line)) {
      inOrigin = /^\[remote "origin"\]\s*$/.test(line);
      found ||= inOrigin;
    }
    if (!inOrigin) kept.push(line);
  }
  const out = kept.join('\n');
  if (!found || /origin/.test(out.replace(/^\s*remote\s*=\s*origin\s*$/gm, ''))) return false;
  await writeFile(file, out);
  return true;
}

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** One attempt: update the mirror from target and source, then clone the checkout from it. */
async function attempt(dir: string, r: MirrorRequest): Promise<MirrorCheckout> {
  const m = git({ cwd: dir, sshCommand: r.sshCommand, authSock: r.authSock, signal: r.signal });
  await rm(join(dir, MARKER), { force: true });
  try {
    await m.raw(['fetch', '--quiet', '--prune', '--', r.targetUrl, `+refs/heads/${r.targetBranch}:refs/heads/${r.targetBranch}`, '+refs/tags/*:refs/tags/*']);
  } catch (error) {
    throw new TargetFetchError(`cannot fetch the target branch ${r.targetBranch} of ${displayUrl(r.targetUrl)}: ${r.redact(gitReason(error))}`);
  }

  const kept = sourceRefOf(r.sourceUrl, r.sourceBranch);
  await rm(join(dir, 'FETCH_HEAD'), { force: true });
  try {
    await m.raw(['fetch', '--quiet', '--no-tags', '--', r.sourceUrl, `+${fetchRefOf(r.sourceBranch)}:${kept}`]);
  } catch (error) {
    // Gone (deleted branch) or unreachable: nothing the mirror holds stands in for it.
    await m.raw(['update-ref', '-d', kept]).catch(() => undefined);
    throw new Rejection('source-unavailable', { branch: r.sourceBranch, detail: r.redact(gitReason(error)) });
  }
  const sourceTip = await fetchedTip(dir);
  const [targetRevision, keptTip] = await resolveBoth(m, `refs/heads/${r.targetBranch}`, kept);
  if (!targetRevision) throw new Error(`the mirror has no commit for the target branch ${r.targetBranch}`);
  if (!sourceTip || sourceTip !== keptTip) {
    throw new Error(`the fetch of ${r.sourceBranch} from ${displayUrl(r.sourceUrl)} left no usable FETCH_HEAD`);
  }
  await writeFile(join(dir, MARKER), `${new Date().toISOString()}\n`);

  // The checkout: objects hardlinked from the mirror (no alternates), only our two refs,
  // no remote naming the mirror. Checked out under the lock, so a broken object shows here:
  // by the clone itself (the mirror's branch is the target revision: we hold the lock), then
  // HEAD detached at that revision with the refs, in one update-ref (two processes in all).
  const w = git({ cwd: r.workspace, signal: r.signal });
  await w.raw(['clone', '--quiet', '--single-branch', '--branch', r.targetBranch, '--', dir, '.']);
  if (!(await dropOrigin(r.workspace))) await w.raw(['config', '--remove-section', 'remote.origin']);
  const refs = [
    'option no-deref',
    `update HEAD ${targetRevision} ${targetRevision}`,
    `update ${r.targetRef} ${targetRevision}`,
    `update ${r.sourceRef} ${sourceTip}`,
    `delete refs/remotes/origin/${r.targetBranch}`,
  ].join('\n');
  const updated = await gitStatus(r.workspace, ['update-ref', '--stdin'], { input: `${refs}\n`, ...(r.signal ? { signal: r.signal } : {}) });
  if (!updated.ok) throw new Error(`cannot set the checkout's refs: ${updated.stderr.trim()}`);
  return { mirror: dir, targetRevision, sourceTip };
}

export async function checkoutFromMirror(r: MirrorRequest): Promise<MirrorCheckout> {
  const dir = mirrorPath(r.root, r.targetUrl);
  await mkdir(r.root, { recursive: true });
  return withFileLock(
    `${dir}.lock`,
    async () => {
      await prepare(dir, r.log, r.signal);
      try {
        return await attempt(dir, r);
      } catch (error) {
        if (r.signal?.aborted) throw error;
        // A remote's failure or a rejection with a healthy mirror is what it says.
        if (await mirrorHealthy(dir, r.signal)) throw error;
        r.log?.warn('git mirror: broken: fetching it again', { mirror: dir, error: lastLine(error) });
        await rm(dir, { recursive: true, force: true });
        await create(dir);
        await emptyDir(r.workspace);
        return await attempt(dir, r);
      }
    },
    r.signal ? { signal: r.signal } : {},
  );
}

export { TargetFetchError };
