/**
 * Checks on the untrusted names a proposal carries (branch names, URLs, revisions) before
 * any of them reaches git. They only ever travel as single argv entries; these checks make
 * sure git reads them as the kind of argument we mean, never as an option.
 */
import type { GitRunner } from './git.js';

/** A problem with a name taken from a proposal; the message names the field and value. */
export class RefError extends Error {
  override readonly name = 'RefError';
}

/**
 * Names git's `check-ref-format --branch` accepted (the answer depends on the name and git's
 * rules only): a run lands several proposals on one target and names its branch in fetch
 * and push, and each check is a git process. Bounded; refused names are not kept.
 */
const acceptedBranches = new Set<string>();
const ACCEPTED_MAX = 1000;

/** A branch name git accepts (`git check-ref-format --branch`) and that is no option. */
export async function checkBranch(g: GitRunner, what: string, branch: string): Promise<string> {
  if (branch.length === 0) throw new RefError(`${what} branch name is empty`);
  if (branch.startsWith('-')) throw new RefError(`${what} branch name ${JSON.stringify(branch)} starts with "-"`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(branch)) throw new RefError(`${what} branch name ${JSON.stringify(branch)} contains control characters`);
  if (acceptedBranches.has(branch)) return branch;
  let normalised = '';
  try {
    normalised = (await g.raw(['check-ref-format', '--branch', branch])).trim();
  } catch {
    normalised = '';
  }
  if (normalised !== branch) {
    throw new RefError(`${what} branch name ${JSON.stringify(branch)} is not a valid git branch name`);
  }
  if (acceptedBranches.size >= ACCEPTED_MAX) acceptedBranches.clear();
  acceptedBranches.add(branch);
  return branch;
}

/** A repository URL or path that git cannot take for an option. */
export function checkUrl(what: string, url: string): string {
  if (url.length === 0) throw new RefError(`${what} repository URL is empty`);
  if (url.startsWith('-')) throw new RefError(`${what} repository URL ${JSON.stringify(url)} starts with "-"`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(url)) throw new RefError(`${what} repository URL ${JSON.stringify(url)} contains control characters`);
  if (/^ext::/i.test(url)) throw new RefError(`${what} repository URL ${JSON.stringify(url)} uses the ext:: transport, which runs commands`);
  // `<transport>::<address>` hands the address to git-remote-<transport> (fd::, ext::, …).
  const helper = /^([A-Za-z0-9][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) throw new RefError(`${what} repository URL ${JSON.stringify(url)} names the remote helper ${helper[1]}:: (not allowed: use a path or a URL)`);
  return url;
}

/** A revision id as forges record them: 4 to 64 hex digits. */
export function checkRevision(what: string, revision: string): string {
  if (!/^[0-9a-fA-F]{4,64}$/.test(revision)) {
    throw new RefError(`${what} ${JSON.stringify(revision)} is not a git commit id (hex digits)`);
  }
  return revision.toLowerCase();
}

/** The URL without `user:password@`, for messages and comments. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * The ref a source branch names: `refs/pull/<n>/head` (GitHub keeps one in the base
 * repository for every pull request, also from forks) is taken as it is; anything else is
 * a branch under `refs/heads/`.
 */
export function fetchRefOf(branch: string): string {
  return /^refs\/pull\/\d+\/head$/.test(branch) ? branch : `refs/heads/${branch}`;
}
