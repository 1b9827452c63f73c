/**
 * From a proposal file to the normalised `Proposal` core lands: repository locations,
 * readiness (status, commit message, votes, approved revision) with Launchpad's rules.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BranchRef, Proposal, Readiness, Vote } from '../../hooks/index.js';
import { Rejection, evaluateVotes, parseCriteria } from '../../core/index.js';
import type { ProposalFile, ReadableLocalMeta } from './schema.js';

export const FORGE = 'local';

/** True for `scheme://...` and scp-like `host:path`, which are not local paths. */
export function isUrl(location: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return true;
  const colon = location.indexOf(':');
  const slash = location.indexOf('/');
  return colon > 1 && (slash < 0 || colon < slash);
}

/** A repository location made comparable: paths absolute (relative to `base`), URLs as given. */
export function normaliseRepo(location: string, base: string): string {
  if (isUrl(location)) return location.replace(/\/+$/, '');
  // resolve() also normalises an absolute path: /srv/x/../target.git is /srv/target.git.
  const abs = isAbsolute(location) ? resolve(location) : resolve(base, location);
  return abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
}

export interface TargetSpec {
  repo: string;
  branch: string;
}

export interface ReadinessRules {
  trusted?: readonly string[];
  criteria: string;
}

/** Display form of a branch for subjects: `<repo>:<branch>` (the repo alone for bzr). */
export function branchLabel(b: { repo: string; branch: string }): string {
  return b.branch ? `${b.repo}:${b.branch}` : b.repo;
}

/** A full git commit id (sha-1 or sha-256): what `approved_revision` must be on a git proposal. */
export const FULL_COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The votes that count for the approved revision: a vote naming a revision counts only when
 * it names that revision (a vote on an earlier revision approves nothing that came later).
 */
export function votesForApproved(votes: readonly Vote[], approved: string | undefined): Vote[] {
  return votes.filter((v) => v.revision === undefined || v.revision === approved);
}

export function votesOf(data: ProposalFile, trusted: readonly string[] | undefined): Vote[] {
  return data.votes.map((v) => ({
    reviewer: v.reviewer,
    vote: v.vote,
    trusted: trusted === undefined || trusted.includes(v.reviewer),
    ...(v.revision ? { revision: v.revision } : {}),
  }));
}

/** Whether the proposal lands now, waits, or is rejected (and why), as the Launchpad flow decides. */
export function readinessOf(data: ProposalFile, target: TargetSpec, rules: ReadinessRules): Readiness {
  if (data.status !== 'Approved') return { state: 'waiting', reason: `status is ${JSON.stringify(data.status)}, not "Approved"` };
  const message = (data.commit_message ?? '').trim() || (data.description ?? '').trim();
  if (!message) return rejected(new Rejection('no-commit-message'));

  const votes = votesForApproved(votesOf(data, rules.trusted), data.approved_revision);
  const criteria = parseCriteria(rules.criteria);
  const result = evaluateVotes(votes, criteria);
  if (!result.ok) {
    const untrustedApprovals = votes.filter((v) => !v.trusted && v.vote === 'Approve').map((v) => v.reviewer);
    if (result.counts.Approve === 0 && untrustedApprovals.length > 0) {
      return rejected(new Rejection('untrusted-approval', { target: branchLabel(target), reviewers: untrustedApprovals.join(', ') }));
    }
    return rejected(new Rejection('votes', { criteria: criteria.text, detail: result.detail }));
  }
  if (!data.approved_revision) return rejected(new Rejection('no-approved-revision'));
  if (data.vcs === 'git' && !FULL_COMMIT_ID.test(data.approved_revision)) {
    return rejected(new Rejection('approved-revision-abbreviated', { approved: JSON.stringify(data.approved_revision) }));
  }
  return { state: 'ready' };
}

function rejected(r: Rejection): Readiness {
  return { state: 'rejected', code: r.code, reason: r.reason };
}

export interface ToProposalOptions extends ReadinessRules {
  id: string;
  file: string;
  /** Directory of the proposal files: relative repository paths resolve against it. */
  dir: string;
  target: TargetSpec;
}

export function toProposal(data: ProposalFile, options: ToProposalOptions): Proposal {
  const ref = (b: { repo: string; branch: string }): BranchRef => ({
    vcs: data.vcs,
    url: normaliseRepo(b.repo, options.dir),
    branch: data.vcs === 'bzr' ? '' : b.branch,
  });
  return {
    id: `${FORGE}:${options.id}`,
    forge: FORGE,
    url: data.url ?? pathToFileURL(options.file).href,
    title: data.title,
    source: ref(data.source),
    target: ref(data.target),
    approvedRevision: data.approved_revision,
    ...(data.approved_testament ? { approvedTestament: data.approved_testament } : {}),
    commitMessage: (data.commit_message ?? '').trim() || (data.description ?? '').trim(),
    votes: votesOf(data, options.trusted),
    readiness: readinessOf(data, options.target, options),
    ...(data.date_reviewed ? { approvedAt: new Date(data.date_reviewed).toISOString() } : {}),
    ...(data.priority ? { priority: data.priority } : {}),
    meta: {
      invalid: false,
      file: options.file,
      localId: options.id,
      sourceLabel: branchLabel(data.source),
      targetLabel: branchLabel(data.target),
    } satisfies ReadableLocalMeta,
  };
}

/** Whether a proposal file's target is the configured target. */
export function targetMatches(fileTarget: { repo: string; branch: string }, dir: string, target: TargetSpec, vcs: string): boolean {
  if (normaliseRepo(fileTarget.repo, dir) !== target.repo) return false;
  return vcs === 'bzr' || fileTarget.branch === target.branch;
}
