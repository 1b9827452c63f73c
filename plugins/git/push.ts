/**
 * push: `git push <target url> <rev>:refs/heads/<branch>`, never forced. When git refuses,
 * the remote's state says why: the target already holds the revision (a rerun: success),
 * or the target moved to something the merge does not contain (`push-rejected`).
 */
import type { Checkout, MergeResult, Proposal, PushResult } from '../../hooks/index.js';
import { Rejection } from '../../core/index.js';
import { git, gitReason, isAncestorOrEqual, resolveCommit } from './git.js';
import { checkBranch, checkUrl, displayUrl } from './refs.js';

const PUSHED_REF = 'refs/byoci/pushed-target';

export interface PushOptions {
  proposal: Proposal;
  checkout: Checkout;
  merge: MergeResult;
  sshCommand?: string;
  /** `SSH_AUTH_SOCK` of the slave's own agent (no key secret configured). */
  authSock?: string;
  signal?: AbortSignal;
  redact?: (text: string) => string;
}

/** Tip of `refs/heads/<branch>` on the remote, read from `git ls-remote` (data, not prose). */
export async function remoteTip(dir: string, url: string, branch: string, sshCommand?: string, signal?: AbortSignal, authSock?: string): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  const out = await git({ cwd: dir, sshCommand, authSock, signal }).raw(['ls-remote', '--heads', '--', url, ref]);
  for (const line of out.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0 && line.slice(tab + 1) === ref) return line.slice(0, tab);
  }
  return undefined;
}

export async function pushMerge(options: PushOptions): Promise<PushResult> {
  const { proposal, checkout, merge } = options;
  const redact = options.redact ?? ((s: string) => s);
  const dir = checkout.dir;
  const g = git({ cwd: dir, sshCommand: options.sshCommand, authSock: options.authSock, signal: options.signal });
  const url = checkUrl('target', proposal.target.url);
  const branch = checkBranch('target', proposal.target.branch);
  const revision = await resolveCommit(g, merge.revision);
  if (!revision) throw new Error(`the merge revision ${merge.revision} is not in ${dir}`);

  try {
    await g.raw(['push', '--quiet', '--', url, `${revision}:refs/heads/${branch}`]);
    return { revision };
  } catch (error) {
    const tip = await remoteTip(dir, url, branch, options.sshCommand, options.signal, options.authSock);
    if (tip === revision) return { revision };
    if (tip) {
      await g.raw(['fetch', '--quiet', '--no-tags', '--', url, `+refs/heads/${branch}:${PUSHED_REF}`]);
      const fetched = await resolveCommit(g, PUSHED_REF);
      if (fetched && (await isAncestorOrEqual(g, revision, fetched))) return { revision };
      if (fetched && !(await isAncestorOrEqual(g, fetched, revision))) {
        throw new Rejection('push-rejected', { target: branch }, `The target is now at ${fetched}; the tested merge is ${revision}.`);
      }
    }
    throw new Error(`git push to ${branch} of ${displayUrl(url)} failed: ${redact(gitReason(error))}`);
  }
}
