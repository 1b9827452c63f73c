/**
 * The mirror of a bzr target on the slave: a shared repository without trees
 * (`brz init-shared-repo --no-trees`) per target in `<cacheDir>/bzr/<name>-<hash>`, holding a
 * mirror branch of the target (`t-<hash of its location>`), kept with `brz pull --overwrite`
 * (the mirror follows the remote; nothing is ever pushed with --overwrite). Each landing
 * pulls only the target's new revisions, then branches the checkout from the mirror.
 *
 * Only the target's revisions go in: bzr revision ids are names, not content hashes, so a
 * repository shared with source branches would let a revision stored from one source stand
 * in for the same id on another (bzr skips ids it already has). Sources are still read from
 * their own location by fetch and merge, as without a mirror.
 *
 * The checkout is a standalone branch with its tree, copied from the local repository:
 * complete on its own, its `parent_location` removed, so the copy a container gets neither
 * needs nor names the mirror.
 *
 * Safety: an flock on `<mirror>.lock` for every use; a `byoci-clean` marker written after
 * each update; when it is missing (an update was killed), brz's stale locks are broken; a
 * step that fails while the target itself answers means a broken mirror: it is deleted and
 * pulled again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock, type Logger } from '../../core/index.js';
import { BranchError, brz, lastLine, tipOf, type BrzEnv } from './brz.js';
import { displayUrl } from './names.js';

const MARKER = 'byoci-clean';
/** The clean marker, rewritten by every update: its mtime is the mirror's last use (the cache sweep reads it). */
export const BZR_MIRROR_MARKER = MARKER;

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The shared repository of a target location. */
export function bzrMirrorPath(root: string, targetUrl: string): string {
  const base = targetUrl.replace(/[/\\]+$/, '').split(/[/\\:]/).pop() ?? '';
  const name = base.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '').slice(0, 40) || 'branch';
  return join(root, `${name}-${hashOf(targetUrl)}`);
}

/** The target's mirror branch inside its shared repository. */
export function targetMirrorBranch(dir: string, targetUrl: string): string {
  return join(dir, `t-${hashOf(targetUrl)}`);
}

export interface BzrMirrorRequest {
  root: string;
  /** The directory that becomes the checkout (`<workspace>/tree`). */
  tree: string;
  targetUrl: string;
  env: BrzEnv;
  redact: (text: string) => string;
  log?: Logger;
}

class MirrorStepError extends Error {}

async function create(dir: string, env: BrzEnv): Promise<void> {
  const tmp = `${dir}.new-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const made = await brz(env, env.home, ['init-shared-repo', '--quiet', '--no-trees', '--', tmp]);
  if (made.exitCode !== 0) throw new Error(`cannot create the bzr mirror ${dir}: ${lastLine(made)}`);
  await rename(tmp, dir);
}

/** brz's own locks left by a killed update (stale while we hold the flock). */
async function breakLocks(dir: string, env: BrzEnv): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (/^t-[0-9a-f]{16}$/.test(entry)) await brz(env, env.home, ['break-lock', '--force', '--', join(dir, entry)]);
  }
  await brz(env, env.home, ['break-lock', '--force', '--', dir]);
}

async function attempt(dir: string, r: BzrMirrorRequest): Promise<{ targetRevision: string }> {
  await rm(join(dir, MARKER), { force: true });
  const branch = targetMirrorBranch(dir, r.targetUrl);
  const updated = existsSync(branch)
    ? await brz(r.env, r.env.home, ['pull', '--quiet', '--overwrite', `--directory=${branch}`, '--', r.targetUrl])
    : await brz(r.env, r.env.home, ['branch', '--quiet', '--no-tree', '--', r.targetUrl, branch]);
  if (updated.exitCode !== 0) {
    // The target answers, so the mirror is at fault; otherwise the target is.
    if ((await brz(r.env, r.env.home, ['revision-info', `--directory=${r.targetUrl}`])).exitCode === 0) {
      throw new MirrorStepError(`target mirror: ${lastLine(updated)}`);
    }
    throw new Error(`cannot fetch the target branch ${displayUrl(r.targetUrl)}: ${r.redact(lastLine(updated))}`);
  }
  let targetRevision: string;
  try {
    targetRevision = await tipOf(r.env, r.env.home, branch);
  } catch (error) {
    if (error instanceof BranchError) throw new MirrorStepError(error.message);
    throw error;
  }
  await writeFile(join(dir, MARKER), `${new Date().toISOString()}\n`);

  await rm(r.tree, { recursive: true, force: true });
  const branched = await brz(r.env, r.env.home, ['branch', '--quiet', '--', branch, r.tree]);
  if (branched.exitCode !== 0) throw new MirrorStepError(`checkout from the mirror: ${lastLine(branched)}`);
  // The checkout names no mirror (the container gets a copy of it).
  const conf = join(r.tree, '.bzr', 'branch', 'branch.conf');
  const text = await readFile(conf, 'utf8').catch(() => '');
  await writeFile(conf, `${text.split('\n').filter((l) => !/^\s*parent_location\s*=/.test(l)).join('\n').trimEnd()}\n`);
  return { targetRevision };
}

export async function checkoutFromBzrMirror(r: BzrMirrorRequest): Promise<{ mirror: string; targetRevision: string }> {
  const dir = bzrMirrorPath(r.root, r.targetUrl);
  await mkdir(r.root, { recursive: true });
  return withFileLock(
    `${dir}.lock`,
    async () => {
      if (!existsSync(dir)) await create(dir, r.env);
      else if (!existsSync(join(dir, MARKER))) {
        r.log?.warn('bzr mirror: an update was interrupted: breaking its stale locks', { mirror: dir });
        await breakLocks(dir, r.env);
      }
      try {
        return { mirror: dir, ...(await attempt(dir, r)) };
      } catch (error) {
        if (!(error instanceof MirrorStepError) || r.env.signal?.aborted) throw error;
        r.log?.warn('bzr mirror: broken: fetching it again', { mirror: dir, error: error.message });
        await rm(dir, { recursive: true, force: true });
        await create(dir, r.env);
        return { mirror: dir, ...(await attempt(dir, r)) };
      }
    },
    r.env.signal ? { signal: r.env.signal } : {},
  );
}
