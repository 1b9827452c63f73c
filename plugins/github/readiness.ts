/**
 * The GitHub landing rule, as a pure function of what the API returned: a trigger (label
 * or comment command) from a writer that was not handled yet, N APPROVED reviews from
 * writers at the current head commit, no outstanding CHANGES_REQUESTED from a writer.
 */
import { Rejection } from '../../core/index.js';
import type { Readiness, Vote } from '../../hooks/types.js';
import type { Rules } from './config.js';

export interface ReviewInfo {
  user: string;
  /** REST vocabulary: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING. */
  state: string;
  commitId: string;
}

/** A label added to the pull request or a comment carrying a command. */
export interface TriggerInfo {
  /** Stable id: `label-event-<id>` or `comment-<id>`. */
  id: string;
  kind: 'label' | 'command';
  /** The label name or the command text. */
  what: string;
  user: string;
  /** ISO time; triggers are compared by it. */
  at: string;
}

export interface PullFacts {
  number: number;
  draft: boolean;
  headSha: string;
  /** `owner/name:branch`, for messages. */
  target: string;
  reviews: ReviewInfo[];
  triggers: TriggerInfo[];
  /** Trigger ids byoci already answered (from its marker comments by writers). */
  handled: ReadonlySet<string>;
  /** Permission of each user named above: admin, maintain, write, triage, read, none. */
  permissions: ReadonlyMap<string, string>;
}

export interface Evaluation {
  readiness: Readiness;
  votes: Vote[];
  /** The trigger this evaluation acts on (absent when none is valid). */
  trigger?: TriggerInfo;
  /** The approved revision: the head when approvals are at the head, else the newest stale one. */
  approvedRevision?: string;
}

const WRITE = new Set(['admin', 'maintain', 'write']);

export function isWriter(permissions: ReadonlyMap<string, string>, user: string): boolean {
  return WRITE.has(permissions.get(user) ?? 'none');
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

/** Each reviewer's standing review: the last APPROVED / CHANGES_REQUESTED / DISMISSED. */
export function standingReviews(reviews: readonly ReviewInfo[]): Map<string, ReviewInfo> {
  const standing = new Map<string, ReviewInfo>();
  for (const r of reviews) {
    const state = r.state.toUpperCase();
    if (state === 'APPROVED' || state === 'CHANGES_REQUESTED') standing.set(r.user, { ...r, state });
    else if (state === 'DISMISSED') standing.delete(r.user);
  }
  return standing;
}

export function criteriaText(rules: Rules): string {
  const parts = [`${rules.approvals} approval${rules.approvals === 1 ? '' : 's'} from writers at the head commit`];
  if (rules.blockOnChangesRequested) parts.push('no changes requested by a writer');
  return parts.join(', ');
}

function describeTrigger(t: TriggerInfo): string {
  return t.kind === 'label' ? `label "${t.what}" added by ${t.user}` : `command "${t.what}" by ${t.user}`;
}

function pickTrigger(facts: PullFacts, rules: Rules): { trigger?: TriggerInfo; waiting?: string } {
  const sorted = [...facts.triggers].sort((a, b) => a.at.localeCompare(b.at));
  const byWriters = sorted.filter((t) => isWriter(facts.permissions, t.user));
  const latest = byWriters[byWriters.length - 1];
  if (latest && !facts.handled.has(latest.id)) return { trigger: latest };
  if (latest) {
    return { waiting: `the last trigger (${describeTrigger(latest)}) was already handled; trigger again to retry` };
  }
  const ignored = sorted.filter((t) => !isWriter(facts.permissions, t.user));
  if (ignored.length) {
    const who = ignored
      .map((t) => `${describeTrigger(t)} (permission ${facts.permissions.get(t.user) ?? 'none'})`)
      .join('; ');
    return { waiting: `trigger ignored, it needs a user with write permission: ${who}` };
  }
  const how = [
    ...rules.labels.map((l) => `add the label "${l}"`),
    ...rules.commands.map((c) => `comment "${c}"`),
  ].join(' or ');
  return { waiting: `not triggered: ${how || 'no trigger is configured'} (as a user with write permission)` };
}

export function evaluate(facts: PullFacts, rules: Rules): Evaluation {
  const standing = standingReviews(facts.reviews);
  const votes: Vote[] = [...standing.values()].map((r) => ({
    reviewer: r.user,
    vote: r.state === 'APPROVED' ? 'Approve' : 'Needs Fixing',
    trusted: isWriter(facts.permissions, r.user),
    revision: r.commitId,
  }));
  const writerReviews = [...standing.values()].filter((r) => isWriter(facts.permissions, r.user));
  const atHead = writerReviews.filter((r) => r.state === 'APPROVED' && r.commitId === facts.headSha);
  const stale = writerReviews.filter((r) => r.state === 'APPROVED' && r.commitId !== facts.headSha);
  const changes = writerReviews.filter((r) => r.state === 'CHANGES_REQUESTED');
  const untrusted = [...standing.values()].filter(
    (r) => r.state === 'APPROVED' && r.commitId === facts.headSha && !isWriter(facts.permissions, r.user),
  );
  const approvedRevision = atHead.length ? facts.headSha : stale[stale.length - 1]?.commitId;
  const base = { votes, ...(approvedRevision ? { approvedRevision } : {}) };

  if (facts.draft) return { ...base, readiness: { state: 'waiting', reason: 'the pull request is a draft' } };
  const { trigger, waiting } = pickTrigger(facts, rules);
  if (!trigger) return { ...base, readiness: { state: 'waiting', reason: waiting ?? 'not triggered' } };
  const withTrigger = { ...base, trigger };

  if (rules.blockOnChangesRequested && changes.length) {
    const detail = `changes requested by ${changes.map((r) => `${r.user} (at ${short(r.commitId)})`).join(', ')}`;
    return { ...withTrigger, readiness: reject('votes', { criteria: criteriaText(rules), detail }) };
  }
  if (atHead.length >= rules.approvals) {
    return { ...withTrigger, approvedRevision: facts.headSha, readiness: { state: 'ready' } };
  }
  if (stale.length) {
    const approved = stale.map((r) => `${short(r.commitId)} by ${r.user}`).join(', ');
    return {
      ...withTrigger,
      readiness: reject('changes-after-approval', { tip: short(facts.headSha), approved }),
    };
  }
  if (untrusted.length) {
    return {
      ...withTrigger,
      readiness: reject('untrusted-approval', { target: facts.target, reviewers: untrusted.map((r) => r.user).join(', ') }),
    };
  }
  const reason =
    `waiting for approvals: ${atHead.length} of ${rules.approvals} from writers at the head commit ` +
    `${short(facts.headSha)} (${describeTrigger(trigger)})`;
  return { ...withTrigger, readiness: { state: 'waiting', reason } };
}

function reject(code: 'votes' | 'changes-after-approval' | 'untrusted-approval', fields: Record<string, unknown>): Readiness {
  const r = new Rejection(code, fields);
  return { state: 'rejected', code: r.code, reason: r.reason };
}
