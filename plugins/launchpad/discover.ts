/**
 * Finds the landing candidates of one Launchpad target and normalises them into
 * `Proposal`s with their readiness: only `Approved` proposals whose target really is this
 * target can be ready; what the API shows decides the rest (reviewed revision, commit
 * message, trusted votes, prerequisite merged).
 */
import type { BranchRef, Proposal, Readiness, Vote } from '../../hooks/index.js';
import { Rejection, asForgeAnswerError, z, type Logger } from '../../core/index.js';
import { evaluateVotes, type Criteria } from '../../core/index.js';
import { LaunchpadApiError, type LaunchpadClient, type LpEntry } from './client.js';
import { branchSchema, entrySchema, mergeProposalSchema, refSchema, repositorySchema, trustSchema, voteCommentSchema, voteSchema } from './answers.js';
import type { ResolvedTarget } from './config.js';

export interface DiscoverOptions {
  criteria: Criteria;
  gitProtocol: 'https' | 'ssh';
  /** Login inserted into git+ssh URLs that carry none. */
  sshUser: string;
  /**
   * The URL brz fetches and pushes a bzr branch at, from its unique name
   * (`~owner/project/name`); undefined when the service root has no known bzr hosting.
   */
  bzrUrl: ((uniqueName: string) => string) | undefined;
  log: Logger;
}

/**
 * How brz reaches the bzr branches of a service root: `lp:` resolves against production
 * only; `lp://staging/…` and `lp://qastaging/…` name those instances; any other root
 * needs `bzrRoot` (the hosting's base URL). Never silently production.
 */
export function bzrUrlFor(serviceRoot: string, bzrRoot: string | undefined): ((uniqueName: string) => string) | undefined {
  if (bzrRoot) return (unique) => `${bzrRoot.endsWith('/') ? bzrRoot : `${bzrRoot}/`}${unique}`;
  const host = new URL(serviceRoot).host;
  if (host === 'api.launchpad.net') return (unique) => `lp:${unique}`;
  const instance = /^api\.(staging|qastaging)\.launchpad\.net$/.exec(host)?.[1];
  if (instance) return (unique) => `lp://${instance}/${unique}`;
  return undefined;
}

/**
 * What the plugin keeps in `Proposal.meta` to report on the proposal later (validated by
 * core when discover returns it, read back typed with `api.proposalMeta`).
 */
export const metaSchema = z
  .object({
    selfLink: z.string().min(1),
    targetLink: z.string().min(1),
    queueStatus: z.string(),
    reviewedRevid: z.string().nullable(),
    dateReviewed: z.string().nullable(),
    subject: z.string().min(1),
    /** The source git repository (absent for bzr branches): where status reports go. */
    sourceRepositoryLink: z.string().optional(),
    vcs: z.enum(['git', 'bzr']).optional(),
  })
  .strict();

export type LaunchpadMeta = z.output<typeof metaSchema>;

const VOTE_NAMES = new Set<Vote['vote']>(['Approve', 'Needs Fixing', 'Disapprove', 'Abstain', 'Needs Information', 'Needs Resubmitting']);

/** A target as found on Launchpad: the object whose landing candidates we read. */
export interface FoundTarget {
  vcs: 'git' | 'bzr';
  /** The repository (git) or branch (bzr) entry: owner of isPersonTrustedReviewer. */
  owner: LpEntry;
  /** Git ref entry (git) or the branch (bzr): owner of landing_candidates. */
  ref: LpEntry;
  /** `lp:brz:master`, `lp:~owner/project/branch`. */
  identity: string;
  branch: BranchRef;
}

function str(e: LpEntry, key: string): string | undefined {
  const v = e[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function shortRef(path: string): string {
  return path.replace(/^refs\/heads\//, '');
}

/** GitRef.identity: the repository's shortened path (git_identity without `lp:`), a colon, the branch. */
function lpGitIdentity(repo: LpEntry, name: string): string {
  const path = (str(repo, 'git_identity') ?? `lp:${str(repo, 'unique_name') ?? ''}`).replace(/^lp:/, '');
  return `${path}:${name}`;
}

function personName(link: string | undefined): string {
  const m = link ? /\/~([^/?]+)$/.exec(link) : null;
  return m ? decodeURIComponent(m[1]!) : (link ?? 'unknown');
}

/** Errors about one proposal's data (not the API as a whole): it waits, the others go on. */
function unreadable(error: unknown): boolean {
  if (error instanceof LaunchpadApiError) return error.status === 403 || error.status === 404 || error.status === 410;
  return error instanceof ProposalDataError;
}

/** A proposal whose fields do not say what landing needs (no source repository...). */
export class ProposalDataError extends Error {
  override readonly name = 'ProposalDataError';
}

/** The vote tag (Launchpad's review type) that asks for a queue priority: `priority=high`. */
export const PRIORITY_TAG = /^priority[=:]([a-z][a-z0-9-]*)$/;

export class Discovery {
  /** Priority asked by a trusted reviewer's vote tag, per proposal (self link). */
  #priorities = new Map<string, string>();
  #entries = new Map<string, Promise<LpEntry>>();
  #trust = new Map<string, Promise<boolean>>();

  constructor(
    readonly client: LaunchpadClient,
    readonly options: DiscoverOptions,
  ) {}

  /** GET once per run: repositories and branches are shared by many proposals. */
  entry(link: string): Promise<LpEntry> {
    let e = this.#entries.get(link);
    if (!e) {
      e = this.client.get(link, undefined, entrySchema);
      this.#entries.set(link, e);
      e.catch(() => this.#entries.delete(link));
    }
    return e;
  }

  gitUrl(repo: LpEntry): string {
    const https = str(repo, 'git_https_url');
    const ssh = str(repo, 'git_ssh_url');
    if (this.options.gitProtocol === 'https' || !ssh) {
      if (!https) throw new Error(`Launchpad repository ${str(repo, 'unique_name')} has no git_https_url`);
      return https;
    }
    try {
      const url = new URL(ssh);
      if (!url.username) url.username = this.options.sshUser;
      return url.href;
    } catch {
      return ssh;
    }
  }

  /** Resolves a configured target; throws naming it when Launchpad has no such thing. */
  /** Where brz reaches a bzr branch of this service root; throws when nothing says. */
  bzrUrl(uniqueName: string): string {
    if (!this.options.bzrUrl) {
      throw new Error(
        `lp:${uniqueName} is a bzr branch of ${this.client.root}, where brz's lp: would mean production Launchpad: ` +
          'set plugins.launchpad.bzrRoot to the bzr hosting of this service root (e.g. bzr+ssh://bazaar.example.org/)',
      );
    }
    return this.options.bzrUrl(uniqueName);
  }

  async findTarget(target: ResolvedTarget): Promise<FoundTarget> {
    if (target.vcs === 'bzr') {
      const branch = await this.client.named('branches', 'getByUrl', { url: target.url }, branchSchema.nullable());
      if (!branch) throw new Error(`Launchpad has no bzr branch ${target.url} (for a git repository, set vcs: git)`);
      const identity = str(branch, 'bzr_identity') ?? target.url;
      const unique = str(branch, 'unique_name') ?? target.path;
      return { vcs: 'bzr', owner: branch, ref: branch, identity, branch: { vcs: 'bzr', url: this.bzrUrl(unique), branch: '' } };
    }
    const repo = await this.client.named('+git', 'getByPath', { path: target.path }, repositorySchema.nullable());
    if (!repo) throw new Error(`Launchpad has no git repository ${target.url} (for a bzr branch, set vcs: bzr)`);
    const path = target.branch ?? str(repo, 'default_branch');
    if (!path) throw new Error(`Launchpad repository ${target.url} has no default branch: set the target's branch`);
    const ref = await this.client.named(repo.self_link, 'getRefByPath', { path }, refSchema.nullable());
    if (!ref) throw new Error(`Launchpad repository ${target.url} has no branch ${path}`);
    const name = shortRef(str(ref, 'path') ?? path);
    return {
      vcs: 'git',
      owner: repo,
      ref,
      identity: `${str(repo, 'git_identity') ?? target.url}:${name}`,
      branch: { vcs: 'git', url: this.gitUrl(repo), branch: name },
    };
  }

  /** Every landing candidate of the target that really targets it, with its readiness. */
  async proposals(target: ResolvedTarget): Promise<Proposal[]> {
    const found = await this.findTarget(target);
    const link = str(found.ref, 'landing_candidates_collection_link');
    if (!link) throw new Error(`Launchpad gave no landing candidates for ${found.identity}`);
    const out: Proposal[] = [];
    for await (const mp of this.client.collection(link, undefined, mergeProposalSchema)) {
      if (!this.#targets(mp, found)) {
        this.options.log.debug('skipping a candidate of another target', { proposal: mp.self_link, target: found.identity });
        continue;
      }
      try {
        out.push(await this.proposal(mp, found));
      } catch (error) {
        // A junk answer about one proposal is Launchpad's fault: it waits (status kept, nothing
        // posted), the run ends as an internal error, and the other proposals go on.
        const junk = asForgeAnswerError(error);
        if (junk) {
          this.options.log.error('Launchpad answered junk about a merge proposal: it waits', { proposal: mp.self_link, error: junk.message });
          out.push({ ...this.#unreadable(mp, found, junk.message), readiness: { state: 'waiting', internal: true, reason: `internal error, not the proposal's fault: ${junk.message}` } });
          continue;
        }
        // One unreadable proposal (source repository deleted or private) must not stop the others.
        if (!unreadable(error)) throw error;
        this.options.log.warn('cannot read a merge proposal, it waits', { proposal: mp.self_link, error: (error as Error).message });
        out.push(this.#unreadable(mp, found, (error as Error).message));
      }
    }
    return out;
  }

  #unreadable(mp: LpEntry, found: FoundTarget, why: string): Proposal {
    return {
      id: `launchpad:${this.#relative(mp.self_link)}`,
      forge: 'launchpad',
      url: str(mp, 'web_link') ?? mp.self_link,
      title: `${mp.self_link} into ${found.identity}`,
      source: { vcs: found.vcs, url: '', branch: '' },
      target: found.branch,
      commitMessage: '',
      votes: [],
      readiness: { state: 'waiting', reason: `the proposal cannot be read: ${why}` },
    };
  }

  #targets(mp: LpEntry, found: FoundTarget): boolean {
    if (found.vcs === 'bzr') return str(mp, 'target_branch_link') === found.ref.self_link;
    return str(mp, 'target_git_repository_link') === found.owner.self_link && str(mp, 'target_git_path') === str(found.ref, 'path');
  }

  /**
   * The source branch: where to fetch it, its names (ours with `lp:`, Launchpad's own for
   * mail subjects) and its current tip as the API shows it (the last scan).
   */
  async #source(mp: LpEntry, found: FoundTarget): Promise<{ ref: BranchRef; identity: string; lpIdentity: string; tip: () => Promise<string | undefined> }> {
    if (found.vcs === 'bzr') {
      const link = str(mp, 'source_branch_link');
      if (!link) throw new ProposalDataError('it has no source branch');
      const branch = await this.entry(link);
      const unique = str(branch, 'unique_name') ?? '';
      const identity = str(branch, 'bzr_identity') ?? `lp:${unique}`;
      return { ref: { vcs: 'bzr', url: this.bzrUrl(unique), branch: '' }, identity, lpIdentity: identity, tip: async () => str(branch, 'last_scanned_id') };
    }
    const repoLink = str(mp, 'source_git_repository_link');
    const path = str(mp, 'source_git_path');
    if (!repoLink || !path) throw new ProposalDataError(`it has no source git repository or path`);
    const repo = await this.entry(repoLink);
    const name = shortRef(path);
    const identity = `${str(repo, 'git_identity') ?? str(repo, 'unique_name')}:${name}`;
    const tip = async () => {
      const ref = await this.client.named(repo.self_link, 'getRefByPath', { path }, refSchema.nullable());
      if (!ref) throw new ProposalDataError(`its source branch ${identity} no longer exists`);
      return str(ref, 'commit_sha1');
    };
    return { ref: { vcs: 'git', url: this.gitUrl(repo), branch: name }, identity, lpIdentity: lpGitIdentity(repo, name), tip };
  }

  async proposal(mp: LpEntry, found: FoundTarget): Promise<Proposal> {
    const source = await this.#source(mp, found);
    const title = `${source.identity} into ${found.identity}`;
    const status = str(mp, 'queue_status') ?? 'unknown';
    const commitMessage = (str(mp, 'commit_message') ?? str(mp, 'description') ?? '').trim();
    const reviewed = str(mp, 'reviewed_revid') ?? null;
    const approved = status === 'Approved';
    const votes = approved ? await this.votes(mp, found) : [];
    const readiness = approved
      ? await this.#readiness(mp, found, { commitMessage, reviewed, votes, tip: source.tip })
      : ({ state: 'waiting', reason: `status is "${status}", not Approved` } as const);
    const meta: LaunchpadMeta = {
      selfLink: mp.self_link,
      targetLink: found.owner.self_link,
      queueStatus: status,
      reviewedRevid: reviewed,
      dateReviewed: str(mp, 'date_reviewed') ?? null,
      // The subject of Launchpad's own mail about the proposal (BranchMergeProposal.title), with its names.
      subject: `Re: [Merge] ${source.lpIdentity} into ${this.#lpIdentity(found)}`,
      vcs: found.vcs,
      ...(str(mp, 'source_git_repository_link') ? { sourceRepositoryLink: str(mp, 'source_git_repository_link')! } : {}),
    };
    return {
      id: `launchpad:${this.#relative(mp.self_link)}`,
      forge: 'launchpad',
      url: str(mp, 'web_link') ?? mp.self_link,
      title,
      source: source.ref,
      target: found.branch,
      approvedRevision: reviewed ?? undefined,
      commitMessage,
      votes,
      readiness,
      ...(meta.dateReviewed ? { approvedAt: meta.dateReviewed } : {}),
      ...(this.#priorities.get(mp.self_link) ? { priority: this.#priorities.get(mp.self_link)! } : {}),
      meta,
    };
  }

  #relative(link: string): string {
    return link.startsWith(this.client.base) ? link.slice(this.client.base.length) : link;
  }

  async votes(mp: LpEntry, found: FoundTarget): Promise<Vote[]> {
    const link = str(mp, 'votes_collection_link');
    if (!link) return [];
    const out: Vote[] = [];
    for await (const ref of this.client.collection(link, undefined, voteSchema)) {
      const reviewerLink = str(ref, 'reviewer_link');
      const reviewer = personName(reviewerLink);
      let vote: Vote['vote'] | undefined;
      if (ref.is_pending === true) vote = 'Pending';
      else {
        const commentLink = str(ref, 'comment_link');
        const comment = commentLink ? await this.client.get(commentLink, undefined, voteCommentSchema) : undefined;
        const value = comment ? str(comment, 'vote') : undefined;
        vote = value && VOTE_NAMES.has(value as Vote['vote']) ? (value as Vote['vote']) : undefined;
      }
      if (!vote) continue;
      const trusted = reviewerLink ? await this.trusted(found.owner.self_link, reviewerLink) : false;
      out.push({ reviewer, vote, trusted });
      // A trusted reviewer's vote tag `priority=<name>` asks the queue for that priority.
      const tag = PRIORITY_TAG.exec(str(ref, 'review_type') ?? '');
      if (tag && trusted) this.#priorities.set(mp.self_link, tag[1]!);
    }
    return out;
  }

  trusted(targetLink: string, reviewerLink: string): Promise<boolean> {
    const key = `${targetLink} ${reviewerLink}`;
    let t = this.#trust.get(key);
    if (!t) {
      t = this.client.named(targetLink, 'isPersonTrustedReviewer', { reviewer: reviewerLink }, trustSchema);
      this.#trust.set(key, t);
    }
    return t;
  }

  /** Launchpad's identity of the target (GitRef.identity has no `lp:`; a bzr branch's is its bzr_identity). */
  #lpIdentity(found: FoundTarget): string {
    return found.vcs === 'git' ? lpGitIdentity(found.owner, shortRef(str(found.ref, 'path') ?? '')) : found.identity;
  }

  async #readiness(
    mp: LpEntry,
    found: FoundTarget,
    p: { commitMessage: string; reviewed: string | null; votes: Vote[]; tip: () => Promise<string | undefined> },
  ): Promise<Readiness> {
    const reject = (r: Rejection): Readiness => ({ state: 'rejected', code: r.code, reason: r.reason });
    if (!p.reviewed) return reject(new Rejection('no-approved-revision'));
    if (!p.commitMessage) return reject(new Rejection('no-commit-message'));
    // The API's view of the source tip (its last scan): pushed after approval → not what was reviewed.
    // The VCS plugin checks the real tip again when it fetches.
    const tip = await p.tip();
    if (tip && tip !== p.reviewed) return reject(new Rejection('changes-after-approval', { tip, approved: p.reviewed }));
    const criteria = this.options.criteria;
    const evaluation = evaluateVotes(p.votes, criteria);
    if (!evaluation.ok) {
      const untrustedApprovers = p.votes.filter((v) => !v.trusted && v.vote === 'Approve').map((v) => v.reviewer);
      const approvalMissing = evaluation.failed.some((c) => c.vote === 'Approve');
      if (approvalMissing && evaluation.counts.Approve === 0 && untrustedApprovers.length) {
        return reject(new Rejection('untrusted-approval', { target: found.identity, reviewers: untrustedApprovers.join(', ') }));
      }
      return reject(new Rejection('votes', { criteria: criteria.text, detail: evaluation.detail }));
    }
    const waiting = await this.#prerequisite(mp, found);
    return waiting ? { state: 'waiting', reason: waiting } : { state: 'ready' };
  }

  /** Why the proposal waits for its prerequisite, or undefined when there is none or it is merged. */
  async #prerequisite(mp: LpEntry, found: FoundTarget): Promise<string | undefined> {
    let source: LpEntry | null;
    let identity: string;
    if (found.vcs === 'bzr') {
      const link = str(mp, 'prerequisite_branch_link');
      if (!link) return undefined;
      source = await this.entry(link);
      identity = str(source, 'bzr_identity') ?? link;
    } else {
      const link = str(mp, 'prerequisite_git_repository_link');
      const path = str(mp, 'prerequisite_git_path');
      if (!link || !path) return undefined;
      const repo = await this.entry(link);
      identity = `${str(repo, 'git_identity') ?? str(repo, 'unique_name')}:${shortRef(path)}`;
      source = await this.client.named(repo.self_link, 'getRefByPath', { path }, refSchema.nullable());
      if (!source) return `the prerequisite branch ${identity} no longer exists; retarget or drop the prerequisite`;
    }
    const targets = str(source, 'landing_targets_collection_link');
    if (targets) {
      for await (const other of this.client.collection(targets)) {
        if (this.#targets(other, found) && str(other, 'queue_status') === 'Merged') return undefined;
      }
    }
    return `the prerequisite ${identity} is not merged into ${found.identity} yet`;
  }
}
