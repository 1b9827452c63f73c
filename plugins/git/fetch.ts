/**
 * fetch: a fresh repository in the run's workspace holding the target branch (checked out,
 * detached at its tip) and the source branch, then the approved revision checked against
 * the source tip. Only reads from the source and target repositories.
 */
import type { Checkout, Proposal } from '../../hooks/index.js';
import { Rejection, type Logger } from '../../core/index.js';
import { git, gitReason, isAncestorOrEqual, resolveCommit, type GitRunner } from './git.js';
import { checkoutFromMirror } from './mirror.js';
import { checkBranch, checkRevision, checkUrl, displayUrl, RefError, fetchRefOf } from './refs.js';

/** Where fetched branches are kept inside the workspace (never pushed anywhere). */
export const TARGET_REF = 'refs/byoci/target';
export const SOURCE_REF = 'refs/byoci/source';

export interface FetchOptions {
  proposal: Proposal;
  workspace: string;
  sshCommand?: string;
  /** `SSH_AUTH_SOCK` of the slave's own agent (no key secret configured). */
  authSock?: string;
  signal?: AbortSignal;
  /** Masks secrets in text that ends up in a rejection comment. */
  redact?: (text: string) => string;
  /** `<cacheDir>/git`: check out from the target's mirror there (see mirror.ts); absent: a fresh fetch. */
  mirrorRoot?: string;
  log?: Logger;
}

export async function fetchProposal(options: FetchOptions): Promise<Checkout> {
  const { proposal, workspace } = options;
  const redact = options.redact ?? ((s: string) => s);
  const g = git({ cwd: workspace, sshCommand: options.sshCommand, authSock: options.authSock, signal: options.signal });

  // The target comes from the operator's config / the forge: a bad name is a config error.
  const targetUrl = checkUrl('target', proposal.target.url);
  const targetBranch = checkBranch('target', proposal.target.branch);

  // The source is the proposer's: a bad name rejects the proposal, saying why.
  let sourceUrl: string;
  let sourceBranch: string;
  try {
    sourceUrl = checkUrl('source', proposal.source.url);
    sourceBranch = checkBranch('source', proposal.source.branch);
  } catch (error) {
    if (!(error instanceof RefError)) throw error;
    throw new Rejection('source-unavailable', { branch: JSON.stringify(proposal.source.branch), detail: error.message });
  }
  const approved = proposal.approvedRevision === undefined
    ? undefined
    : checkApproved(proposal.approvedRevision, sourceBranch);

  if (options.mirrorRoot !== undefined) {
    const { targetRevision, sourceTip } = await checkoutFromMirror({
      root: options.mirrorRoot,
      workspace,
      targetUrl,
      targetBranch,
      sourceUrl,
      sourceBranch,
      targetRef: TARGET_REF,
      sourceRef: SOURCE_REF,
      redact,
      ...(options.sshCommand ? { sshCommand: options.sshCommand } : {}),
      ...(options.authSock ? { authSock: options.authSock } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const sourceRevision = await approvedRevision(g, approved, sourceBranch, sourceTip);
    return { dir: workspace, targetRevision, sourceRevision };
  }

  await g.raw(['init', '--quiet', '.']);
  try {
    await g.raw(['fetch', '--quiet', '--tags', '--', targetUrl, `+refs/heads/${targetBranch}:${TARGET_REF}`]);
  } catch (error) {
    throw new Error(`cannot fetch the target branch ${targetBranch} of ${displayUrl(targetUrl)}: ${redact(gitReason(error))}`);
  }
  try {
    await g.raw(['fetch', '--quiet', '--no-tags', '--', sourceUrl, `+${fetchRefOf(sourceBranch)}:${SOURCE_REF}`]);
  } catch (error) {
    throw new Rejection('source-unavailable', { branch: sourceBranch, detail: redact(gitReason(error)) });
  }

  const targetRevision = await resolveCommit(g, TARGET_REF);
  const tip = await resolveCommit(g, SOURCE_REF);
  if (!targetRevision || !tip) throw new Error('fetched branches did not resolve to commits');

  const sourceRevision = await approvedRevision(g, approved, sourceBranch, tip);
  await g.raw(['checkout', '--quiet', '--detach', TARGET_REF]);
  return { dir: workspace, targetRevision, sourceRevision };
}

/**
 * The revision to land: the source tip just fetched from the source, which must be the
 * approved revision when one is given. An approved id that names some other object here
 * (the checkout's objects come from a mirror shared with other branches) is no proof:
 * only "is the tip, or an ancestor of the tip" counts, and only the tip itself lands.
 */
async function approvedRevision(g: GitRunner, approved: string | undefined, branch: string, tip: string): Promise<string> {
  if (approved === undefined) return tip;
  // The full id of the tip just fetched (and resolved as a commit): nothing to look up.
  if (approved === tip) return tip;
  const full = await resolveCommit(g, approved);
  if (!full || !(await isAncestorOrEqual(g, full, tip))) {
    throw new Rejection('approved-revision-missing', { approved, branch });
  }
  if (full !== tip) throw new Rejection('changes-after-approval', { tip, approved: full });
  return full;
}

/** The approved revision as a full commit id: an abbreviation could match a later commit. */
function checkApproved(revision: string, branch: string): string {
  let checked: string;
  try {
    checked = checkRevision('approved revision', revision);
  } catch {
    throw new Rejection('approved-revision-missing', { approved: JSON.stringify(revision), branch });
  }
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(checked)) {
    throw new Rejection('approved-revision-abbreviated', { approved: JSON.stringify(revision) });
  }
  return checked;
}
