/**
 * fetch: `brz branch <target> <workspace>/tree` (a fresh standalone branch with a working
 * tree), then the source branch is asked for its tip and, when the proposal carries an
 * approved revision, whether that revision is in its ancestry. Only reads from the source
 * and target branches.
 */
import { join } from 'node:path';
import type { Checkout, Proposal } from '../../hooks/index.js';
import { Rejection, type Logger } from '../../core/index.js';
import { BranchError, brz, inAncestry, lastLine, testamentSha, tipOf, type BrzEnv } from './brz.js';
import { checkoutFromBzrMirror } from './mirror.js';
import { checkLocation, checkRevid, displayUrl, NameError } from './names.js';

/** The directory, inside the workspace, holding the target's working tree. */
export const TREE = 'tree';

export interface FetchOptions {
  proposal: Proposal;
  workspace: string;
  env: BrzEnv;
  /** Masks secrets in text that ends up in a rejection comment. */
  redact?: (text: string) => string;
  /** `<cacheDir>/bzr`: branch the target from its shared-repository mirror (mirror.ts). */
  mirrorRoot?: string;
  log?: Logger;
}

export async function fetchProposal(options: FetchOptions): Promise<Checkout> {
  const { proposal, workspace, env } = options;
  const redact = options.redact ?? ((s: string) => s);

  // The target comes from the operator's config / the forge: a bad one is an operator error.
  const targetUrl = checkLocation('target', proposal.target.url);
  // The source is the proposer's: a bad one rejects the proposal, saying why.
  let sourceUrl: string;
  try {
    sourceUrl = checkLocation('source', proposal.source.url);
  } catch (error) {
    if (!(error instanceof NameError)) throw error;
    throw new Rejection('source-unavailable', { branch: JSON.stringify(proposal.source.url), detail: error.message });
  }
  const source = displayUrl(sourceUrl);
  let approved: string | undefined;
  if (proposal.approvedRevision !== undefined) {
    try {
      approved = checkRevid('approved revision', proposal.approvedRevision);
    } catch {
      throw new Rejection('approved-revision-missing', { approved: JSON.stringify(proposal.approvedRevision), branch: source });
    }
  }

  const dir = join(workspace, TREE);
  let targetRevision: string;
  if (options.mirrorRoot !== undefined) {
    const log = options.log;
    targetRevision = (await checkoutFromBzrMirror({ root: options.mirrorRoot, tree: dir, targetUrl, env, redact, ...(log ? { log } : {}) })).targetRevision;
  } else {
    const branched = await brz(env, workspace, ['branch', '--quiet', '--', targetUrl, dir]);
    if (branched.exitCode !== 0) {
      throw new Error(`cannot fetch the target branch ${displayUrl(targetUrl)}: ${redact(lastLine(branched))}`);
    }
    targetRevision = await tipOf(env, dir, '.');
  }

  let tip: string;
  try {
    tip = await tipOf(env, workspace, sourceUrl);
  } catch (error) {
    if (!(error instanceof BranchError)) throw error;
    throw new Rejection('source-unavailable', { branch: source, detail: redact(error.detail) });
  }
  if (approved === undefined || approved === tip) {
    // A revid is a name: pin the content too (the testament covers every file's content).
    const sourceTestament = await testamentSha(env, workspace, sourceUrl, tip);
    const expected = proposal.approvedTestament?.trim().toLowerCase();
    if (expected !== undefined && expected !== sourceTestament) {
      throw new Rejection('approved-content-changed', { approved: tip, branch: source, actual: sourceTestament, expected });
    }
    return { dir, targetRevision, sourceRevision: tip, sourceTestament };
  }
  if (!(await inAncestry(env, workspace, sourceUrl, approved))) {
    throw new Rejection('approved-revision-missing', { approved, branch: source });
  }
  throw new Rejection('changes-after-approval', { tip, approved });
}
