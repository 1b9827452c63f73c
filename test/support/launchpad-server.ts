/**
 * A local Launchpad web service (node:http on 127.0.0.1:0) speaking the documented `devel`
 * API (shapes from ../shared/data/launchpad/devel.wadl): entries with `self_link`,
 * `web_link`, `resource_type_link` and `*_link`s; collections paged with `entries`,
 * `start`, `total_size`, `next_collection_link`; named reads (`GET ?ws.op=`) and
 * form-encoded named writes (`POST ws.op=`); the OAuth PLAINTEXT header checked on every
 * request; `400 Invalid state transition` on illegal status changes; and a switch that
 * answers the next requests with a server error (`failNext(2, 503)`).
 *
 * State is built by the test (`addPerson`, `addGitRepository`, `addProposal`, `vote`...)
 * and read back (`proposal(id)`, `requests`) to assert what a user would see.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { oauthEscape, parseAuthorizationHeader, type OAuthCredentials } from '../../plugins/launchpad/credentials.js';

export type QueueStatus =
  | 'Work in progress'
  | 'Needs review'
  | 'Approved'
  | 'Rejected'
  | 'Merged'
  | 'Code failed to merge'
  | 'Queued'
  | 'Superseded';

export type VoteValue = 'Approve' | 'Needs Fixing' | 'Needs Information' | 'Abstain' | 'Disapprove' | 'Needs Resubmitting';

export interface FakeGitRepository {
  path: string; // ~owner/project/+git/name
  owner: string;
  project: string;
  httpsUrl: string;
  sshUrl: string;
  defaultBranch: string; // refs/heads/master
  /** Project default repository: reachable as `lp:<project>`. */
  isDefault: boolean;
  trusted: Set<string>;
  refs: Map<string, string>; // refs/heads/x -> sha1
}

export interface FakeBzrBranch {
  path: string; // ~owner/project/name
  owner: string;
  project: string;
  trusted: Set<string>;
  lastRevision: string;
}

export interface FakeComment {
  id: number;
  author: string;
  /** The mail subject: Launchpad keeps it on the message but does not export it (the entry's `title` is its own). */
  subject: string;
  content: string;
  vote: VoteValue | null;
  date: string;
}

export interface FakeVote {
  id: number;
  reviewer: string;
  pending: boolean;
  commentId: number | null;
  /** The vote's tag (Launchpad's review_type), e.g. "code" or "priority=high". */
  reviewType?: string;
}

export type Branchish = { git: string; path: string } | { bzr: string };

export interface FakeProposal {
  id: number;
  source: Branchish;
  target: Branchish;
  prerequisite?: Branchish;
  /** Also listed among the landing candidates of this (wrong) target, as a stale index could. */
  alsoListedUnder?: Branchish;
  status: QueueStatus;
  reviewedRevid: string | null;
  commitMessage: string | null;
  description: string | null;
  registrant: string;
  dateCreated: string;
  dateReviewed: string | null;
  mergedRevisionId: string | null;
  votes: FakeVote[];
  comments: FakeComment[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  op: string | undefined;
  params: Record<string, string>;
  status: number;
}

export interface LaunchpadServerOptions {
  credentials: OAuthCredentials;
  /** Login of the token's owner: author of the comments the bot posts. */
  me?: string;
  /** Entries per collection page (small, so paging is exercised). */
  pageSize?: number;
  /**
   * The token's access level. With a READ_* level every write answers 401 with the
   * Unauthorized text, as Launchpad's security policy refuses write permissions to it.
   */
  accessLevel?: 'READ_PUBLIC' | 'READ_PRIVATE' | 'WRITE_PUBLIC' | 'WRITE_PRIVATE';
}

/** A request as the fake sees it, for `onRequest`: `METHOD /path?query ws.op=<op>`. */
export interface SeenRequest {
  method: string;
  path: string;
  op: string | undefined;
  params: Record<string, string>;
}

const FINAL: readonly QueueStatus[] = ['Merged', 'Superseded'];

function iso(): string {
  return new Date().toISOString();
}

/** Writes a whole answer (status, headers, body) of an overridden request. */
export type Responder = (res: ServerResponse, url: URL) => void | Promise<void>;

export class LaunchpadServer {
  readonly people = new Map<string, { name: string; displayName: string }>();
  readonly repos = new Map<string, FakeGitRepository>();
  readonly branches = new Map<string, FakeBzrBranch>();
  readonly proposals = new Map<number, FakeProposal>();
  readonly requests: RecordedRequest[] = [];
  readonly me: string;
  pageSize: number;
  #server: Server | undefined;
  #root = '';
  #ids = 100;
  #failures: { count: number; status: number; match?: RegExp; afterApplying?: boolean }[] = [];
  #overrides: { match: RegExp; respond: Responder; count: number }[] = [];
  #credentials: OAuthCredentials;
  #oopses = 0;
  accessLevel: NonNullable<LaunchpadServerOptions['accessLevel']>;
  /**
   * Called for every authorised request after it was applied and before it is answered:
   * a test can kill the bot there (a crash between two writes).
   */
  onRequest: ((request: SeenRequest) => void | Promise<void>) | undefined;

  constructor(options: LaunchpadServerOptions) {
    this.#credentials = options.credentials;
    this.accessLevel = options.accessLevel ?? 'WRITE_PRIVATE';
    this.me = options.me ?? 'byoci-bot';
    this.pageSize = options.pageSize ?? 2;
    this.addPerson(this.me, 'Byoci Bot');
  }

  /** Service root (without version), e.g. `http://127.0.0.1:4321/`. */
  get root(): string {
    return this.#root;
  }

  get base(): string {
    return `${this.#root}devel/`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain', 'X-Lazr-OopsId': 'OOPS-fakecrash' });
        res.end(`fake launchpad crashed: ${(error as Error).stack}`);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.#root = `http://127.0.0.1:${port}/`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
    this.#server = undefined;
  }

  /**
   * The next `count` requests answer `status`; with `match`, only requests whose
   * `METHOD /path?query ws.op=<op>` matches (the op of a POST comes from its form body).
   */
  failNext(count: number, status = 503, match?: RegExp): void {
    this.#failures.push({ count, status, match });
  }

  /**
   * The next `count` matching writes are applied, then answered `status` (a 502/504 from
   * the front end after the application server did the work: the answer was lost).
   */
  failAfterApplying(count: number, status: number, match: RegExp): void {
    this.#failures.push({ count, status, match, afterApplying: true });
  }

  /**
   * The next `count` requests matching `match` (`METHOD /path?query`) get `respond`'s
   * answer instead of Launchpad's (junk, endless or redirected answers for robustness tests).
   */
  override(match: RegExp, respond: Responder, count = Infinity): void {
    this.#overrides.push({ match, respond, count });
  }

  /** Removes every override. */
  clearOverrides(): void {
    this.#overrides = [];
  }

  // ---- state building -------------------------------------------------------------

  addPerson(name: string, displayName = name): void {
    this.people.set(name, { name, displayName });
  }

  addGitRepository(r: { owner: string; project: string; name: string; httpsUrl: string; sshUrl?: string; defaultBranch?: string; isDefault?: boolean; trusted?: string[] }): FakeGitRepository {
    const path = `~${r.owner}/${r.project}/+git/${r.name}`;
    const repo: FakeGitRepository = {
      path,
      owner: r.owner,
      project: r.project,
      httpsUrl: r.httpsUrl,
      sshUrl: r.sshUrl ?? `git+ssh://git.launchpad.test/${path}`,
      defaultBranch: r.defaultBranch ?? 'refs/heads/master',
      isDefault: r.isDefault ?? false,
      trusted: new Set([r.owner, ...(r.trusted ?? [])]),
      refs: new Map(),
    };
    for (const p of [r.owner, ...(r.trusted ?? [])]) if (!this.people.has(p)) this.addPerson(p);
    this.repos.set(path, repo);
    return repo;
  }

  setRef(repoPath: string, ref: string, sha1: string): void {
    this.#repo(repoPath).refs.set(ref.startsWith('refs/') ? ref : `refs/heads/${ref}`, sha1);
  }

  addBzrBranch(b: { owner: string; project: string; name: string; trusted?: string[]; lastRevision?: string }): FakeBzrBranch {
    const path = `~${b.owner}/${b.project}/${b.name}`;
    const branch: FakeBzrBranch = {
      path,
      owner: b.owner,
      project: b.project,
      trusted: new Set([b.owner, ...(b.trusted ?? [])]),
      lastRevision: b.lastRevision ?? 'null:',
    };
    if (!this.people.has(b.owner)) this.addPerson(b.owner);
    this.branches.set(path, branch);
    return branch;
  }

  addProposal(p: {
    source: Branchish;
    target: Branchish;
    prerequisite?: Branchish;
    alsoListedUnder?: Branchish;
    status?: QueueStatus;
    reviewedRevid?: string | null;
    commitMessage?: string | null;
    description?: string | null;
    registrant?: string;
  }): FakeProposal {
    const id = this.#ids++;
    const proposal: FakeProposal = {
      id,
      source: this.#ref(p.source),
      target: this.#ref(p.target),
      prerequisite: p.prerequisite ? this.#ref(p.prerequisite) : undefined,
      alsoListedUnder: p.alsoListedUnder ? this.#ref(p.alsoListedUnder) : undefined,
      status: p.status ?? 'Needs review',
      reviewedRevid: p.reviewedRevid ?? null,
      commitMessage: p.commitMessage === undefined ? null : p.commitMessage,
      description: p.description ?? null,
      registrant: p.registrant ?? 'someone',
      dateCreated: iso(),
      dateReviewed: p.status === 'Approved' ? iso() : null,
      mergedRevisionId: null,
      votes: [],
      comments: [],
    };
    if (!this.people.has(proposal.registrant)) this.addPerson(proposal.registrant);
    this.proposals.set(id, proposal);
    return proposal;
  }

  /** A reviewer's vote, as Launchpad records it: a vote reference plus its comment. */
  vote(id: number, reviewer: string, vote: VoteValue | 'pending', content = '', reviewType?: string): void {
    const p = this.proposal(id);
    if (!this.people.has(reviewer)) this.addPerson(reviewer);
    let ref = p.votes.find((v) => v.reviewer === reviewer);
    if (!ref) {
      ref = { id: this.#ids++, reviewer, pending: true, commentId: null };
      p.votes.push(ref);
    }
    if (reviewType !== undefined) ref.reviewType = reviewType;
    if (vote === 'pending') return;
    const comment = this.#comment(p, reviewer, `Re: ${this.#title(p)}`, content || `Review: ${vote}`, vote);
    ref.pending = false;
    ref.commentId = comment.id;
  }

  /** Approves at `revid` as Launchpad's "Approved" status change does. */
  approve(id: number, revid: string): void {
    const p = this.proposal(id);
    p.status = 'Approved';
    p.reviewedRevid = revid;
    p.dateReviewed = iso();
  }

  proposal(id: number): FakeProposal {
    const p = this.proposals.get(id);
    if (!p) throw new Error(`fake launchpad: no proposal ${id}`);
    return p;
  }

  proposalLink(id: number): string {
    const p = this.proposal(id);
    return `${this.base}${this.#branchPath(p.source)}/+merge/${p.id}`;
  }

  /** Comments the bot (the token's owner) posted on a proposal. */
  botComments(id: number): FakeComment[] {
    return this.proposal(id).comments.filter((c) => c.author === this.me);
  }

  // ---- representations ---------------------------------------------------------------

  #ref(b: Branchish): Branchish {
    if ('git' in b) {
      this.#repo(b.git);
      return { git: b.git, path: b.path.startsWith('refs/') ? b.path : `refs/heads/${b.path}` };
    }
    if (!this.branches.has(b.bzr)) throw new Error(`fake launchpad: no bzr branch ${b.bzr}`);
    return b;
  }

  #repo(path: string): FakeGitRepository {
    const r = this.repos.get(path);
    if (!r) throw new Error(`fake launchpad: no git repository ${path}`);
    return r;
  }

  #branchPath(b: Branchish): string {
    return 'git' in b ? b.git : b.bzr;
  }

  /**
   * `identity` of a merge source or target, as Launchpad's model has it: a git ref is
   * `<repository shortened path>:<name>` (no `lp:`; GitRef.identity), a bzr branch its
   * bzr_identity. The ref's `display_name` is the same text.
   */
  #identity(b: Branchish): string {
    return 'git' in b ? `${this.#repo(b.git).isDefault ? this.#repo(b.git).project : b.git}:${b.path.replace(/^refs\/heads\//, '')}` : `lp:${b.bzr}`;
  }

  /** BranchMergeProposal.title: the subject of Launchpad's own mail about the proposal. */
  #title(p: FakeProposal): string {
    return `[Merge] ${this.#identity(p.source)} into ${this.#identity(p.target)}`;
  }

  /** Mail subject of a proposal's comments (Launchpad's own, or what `createComment` was given). */
  mailSubject(id: number): string {
    return `Re: ${this.#title(this.proposal(id))}`;
  }

  #gitIdentity(r: FakeGitRepository): string {
    return r.isDefault ? `lp:${r.project}` : `lp:${r.path}`;
  }

  #person(name: string) {
    const p = this.people.get(name)!;
    return {
      self_link: `${this.base}~${name}`,
      web_link: `https://launchpad.test/~${name}`,
      resource_type_link: `${this.base}#person`,
      name: p.name,
      display_name: p.displayName,
      is_team: false,
    };
  }

  #personLink(name: string | null): string | null {
    return name ? `${this.base}~${name}` : null;
  }

  #repoEntry(r: FakeGitRepository) {
    const self = `${this.base}${r.path}`;
    return {
      self_link: self,
      web_link: `https://code.launchpad.test/${r.path}`,
      resource_type_link: `${this.base}#git_repository`,
      http_etag: `"${r.path}-1"`,
      id: [...this.repos.keys()].indexOf(r.path) + 1,
      name: r.path.split('/').pop(),
      unique_name: r.path,
      display_name: r.path,
      git_identity: this.#gitIdentity(r),
      git_https_url: r.httpsUrl,
      git_ssh_url: r.sshUrl,
      default_branch: r.defaultBranch,
      description: null,
      information_type: 'Public',
      private: false,
      repository_type: 'Hosted',
      owner_default: false,
      target_default: r.isDefault,
      owner_link: this.#personLink(r.owner),
      registrant_link: this.#personLink(r.owner),
      reviewer_link: null,
      target_link: `${this.base}${r.project}`,
      code_import_link: null,
      date_created: '2024-01-01T00:00:00+00:00',
      date_last_modified: '2024-01-01T00:00:00+00:00',
      branches_collection_link: `${self}/branches`,
      refs_collection_link: `${self}/refs`,
      landing_candidates_collection_link: `${self}/landing_candidates`,
      landing_targets_collection_link: `${self}/landing_targets`,
      dependent_landings_collection_link: `${self}/dependent_landings`,
      recipes_collection_link: `${self}/recipes`,
      subscribers_collection_link: `${self}/subscribers`,
      subscriptions_collection_link: `${self}/subscriptions`,
      webhooks_collection_link: `${self}/webhooks`,
    };
  }

  #refEntry(r: FakeGitRepository, path: string) {
    const self = `${this.base}${r.path}/+ref/${path.replace(/^refs\/heads\//, '')}`;
    return {
      self_link: self,
      web_link: `https://code.launchpad.test/${r.path}/+ref/${path.replace(/^refs\/heads\//, '')}`,
      resource_type_link: `${this.base}#git_ref`,
      http_etag: `"${r.path}-${path}"`,
      path,
      commit_sha1: r.refs.get(path) ?? null,
      repository_link: `${this.base}${r.path}`,
      landing_candidates_collection_link: `${self}/landing_candidates`,
      landing_targets_collection_link: `${self}/landing_targets`,
      dependent_landings_collection_link: `${self}/dependent_landings`,
      recipes_collection_link: `${self}/recipes`,
    };
  }

  #branchEntry(b: FakeBzrBranch) {
    const self = `${this.base}${b.path}`;
    return {
      self_link: self,
      web_link: `https://code.launchpad.test/${b.path}`,
      resource_type_link: `${this.base}#branch`,
      http_etag: `"${b.path}"`,
      unique_name: b.path,
      bzr_identity: `lp:${b.path}`,
      display_name: `lp:${b.path}`,
      name: b.path.split('/').pop(),
      url: null,
      branch_type: 'Hosted',
      lifecycle_status: 'Development',
      last_scanned_id: b.lastRevision,
      revision_count: 1,
      private: false,
      owner_link: this.#personLink(b.owner),
      project_link: `${this.base}${b.project}`,
      landing_candidates_collection_link: `${self}/landing_candidates`,
      landing_targets_collection_link: `${self}/landing_targets`,
      dependent_branches_collection_link: `${self}/dependent_branches`,
    };
  }

  #proposalEntry(p: FakeProposal) {
    const self = `${this.base}${this.#branchPath(p.source)}/+merge/${p.id}`;
    const git = (b: Branchish | undefined) =>
      b && 'git' in b ? { repo: `${this.base}${b.git}`, path: b.path } : { repo: null, path: null };
    const bzr = (b: Branchish | undefined) => (b && 'bzr' in b ? `${this.base}${b.bzr}` : null);
    return {
      self_link: self,
      web_link: `https://code.launchpad.test/${this.#branchPath(p.source)}/+merge/${p.id}`,
      resource_type_link: `${this.base}#branch_merge_proposal`,
      http_etag: `"mp-${p.id}-${p.status}-${p.comments.length}"`,
      address: `mp+${p.id}@code.launchpad.test`,
      queue_status: p.status,
      commit_message: p.commitMessage,
      description: p.description,
      reviewed_revid: p.reviewedRevid,
      merged_revision_id: p.mergedRevisionId,
      merged_revno: null,
      private: false,
      date_created: p.dateCreated,
      date_merged: p.status === 'Merged' ? iso() : null,
      date_review_requested: p.dateCreated,
      date_reviewed: p.dateReviewed,
      registrant_link: this.#personLink(p.registrant),
      merge_reporter_link: null,
      reviewer_link: null,
      source_branch_link: bzr(p.source),
      target_branch_link: bzr(p.target),
      prerequisite_branch_link: bzr(p.prerequisite),
      source_git_repository_link: git(p.source).repo,
      source_git_path: git(p.source).path,
      target_git_repository_link: git(p.target).repo,
      target_git_path: git(p.target).path,
      prerequisite_git_repository_link: git(p.prerequisite).repo,
      prerequisite_git_path: git(p.prerequisite).path,
      superseded_by_link: null,
      supersedes_link: null,
      preview_diff_link: null,
      preview_diffs_collection_link: `${self}/preview_diffs`,
      votes_collection_link: `${self}/votes`,
      all_comments_collection_link: `${self}/all_comments`,
      bugs_collection_link: `${self}/bugs`,
    };
  }

  #voteEntry(p: FakeProposal, v: FakeVote) {
    const mp = `${this.base}${this.#branchPath(p.source)}/+merge/${p.id}`;
    return {
      self_link: `${mp}/+review/${v.id}`,
      web_link: `https://code.launchpad.test/${this.#branchPath(p.source)}/+merge/${p.id}/+review/${v.id}`,
      resource_type_link: `${this.base}#code_review_vote_reference`,
      http_etag: `"vote-${v.id}"`,
      branch_merge_proposal_link: mp,
      comment_link: v.commentId === null ? null : `${mp}/comments/${v.commentId}`,
      date_created: p.dateCreated,
      is_pending: v.pending,
      registrant_link: this.#personLink(p.registrant),
      review_type: v.reviewType ?? null,
      reviewer_link: this.#personLink(v.reviewer),
    };
  }

  #commentEntry(p: FakeProposal, c: FakeComment) {
    const mp = `${this.base}${this.#branchPath(p.source)}/+merge/${p.id}`;
    return {
      self_link: `${mp}/comments/${c.id}`,
      web_link: `https://code.launchpad.test/${this.#branchPath(p.source)}/+merge/${p.id}/comments/${c.id}`,
      resource_type_link: `${this.base}#code_review_comment`,
      http_etag: `"comment-${c.id}"`,
      id: c.id,
      // CodeReviewComment.title: Launchpad's text, not the subject given to createComment
      // (which is not exported at all).
      title: `Comment on proposed merge of ${this.#identity(p.source)} into ${this.#identity(p.target)}`,
      content: c.content,
      message_body: c.content,
      as_quoted_email: c.content.replace(/^/gm, '> '),
      vote: c.vote,
      vote_tag: null,
      author_link: this.#personLink(c.author),
      owner_link: this.#personLink(c.author),
      branch_merge_proposal_link: mp,
      date_created: c.date,
      date_deleted: null,
      date_last_edited: null,
      revisions_collection_link: `${mp}/comments/${c.id}/revisions`,
    };
  }

  #comment(p: FakeProposal, author: string, subject: string, content: string, vote: VoteValue | null): FakeComment {
    const c: FakeComment = { id: this.#ids++, author, subject, content, vote, date: iso() };
    p.comments.push(c);
    return c;
  }

  #page(url: URL, all: unknown[]) {
    const start = Number(url.searchParams.get('ws.start') ?? '0');
    const size = Number(url.searchParams.get('ws.size') ?? String(this.pageSize));
    const entries = all.slice(start, start + size);
    const page: Record<string, unknown> = {
      start,
      total_size: all.length,
      entries,
      resource_type_link: `${this.base}#page-resource`,
    };
    if (start + size < all.length) {
      const next = new URL(url.href);
      next.searchParams.set('ws.start', String(start + size));
      next.searchParams.set('ws.size', String(size));
      page.next_collection_link = next.href;
    }
    if (start > 0) {
      const prev = new URL(url.href);
      prev.searchParams.set('ws.start', String(Math.max(0, start - size)));
      page.prev_collection_link = prev.href;
    }
    return page;
  }

  #candidates(target: Branchish, url: URL) {
    const same = (a: Branchish | undefined, b: Branchish) =>
      !!a && ('git' in a && 'git' in b ? a.git === b.git && a.path === b.path : 'bzr' in a && 'bzr' in b && a.bzr === b.bzr);
    const list = [...this.proposals.values()].filter(
      (p) => !['Merged', 'Rejected', 'Superseded'].includes(p.status) && (same(p.target, target) || same(p.alsoListedUnder, target)),
    );
    return this.#page(url, list.map((p) => this.#proposalEntry(p)));
  }

  #landingTargets(source: Branchish, url: URL) {
    const same = (a: Branchish, b: Branchish) =>
      'git' in a && 'git' in b ? a.git === b.git && a.path === b.path : 'bzr' in a && 'bzr' in b && a.bzr === b.bzr;
    const list = [...this.proposals.values()].filter((p) => same(p.source, source));
    return this.#page(url, list.map((p) => this.#proposalEntry(p)));
  }

  // ---- HTTP ----------------------------------------------------------------------------

  #authorised(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (!header) return 'Authorization header missing';
    const p = parseAuthorizationHeader(header);
    if (!p) return 'Authorization is not OAuth';
    const c = this.#credentials;
    if (p.oauth_signature_method !== 'PLAINTEXT') return `Unsupported signature method ${p.oauth_signature_method}`;
    if (p.oauth_consumer_key !== c.consumerKey) return 'Unknown consumer';
    if (p.oauth_token !== c.accessToken) return 'Unknown access token';
    if (p.oauth_signature !== `${oauthEscape(c.consumerSecret)}&${oauthEscape(c.accessSecret)}`) return 'Invalid signature';
    if (!p.oauth_nonce || !/^\d+$/.test(p.oauth_timestamp ?? '')) return 'Nonce and timestamp are required';
    if (p.oauth_version && p.oauth_version !== '1.0') return 'Unsupported OAuth version';
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#root);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { method, path: url.pathname, op: undefined, params: Object.fromEntries(url.searchParams), status: 0 };
    this.requests.push(record);
    const override = this.#overrides.find((o) => o.count > 0 && o.match.test(`${method} ${url.pathname}${url.search}`));
    if (override) {
      override.count -= 1;
      record.status = -2;
      await override.respond(res, url);
      return;
    }
    let answer: { status: number; body: unknown; headers: Record<string, string> } | undefined;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      answer = { status, body, headers };
    };
    const applyThenFail = await this.#route(req, url, raw, record, send);
    if (!answer) answer = { status: 500, body: 'fake launchpad: no answer', headers: {} };
    if (applyThenFail) answer = { status: applyThenFail, body: this.#errorPage(applyThenFail), headers: {} };
    if (this.onRequest && record.status !== -1) await this.onRequest({ method: record.method, path: record.path, op: record.op, params: record.params });
    record.status = answer.status;
    const { status, body, headers } = answer;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const oops = status >= 500 && status !== 502 && status !== 503 && status !== 504 ? { 'X-Lazr-OopsId': `OOPS-fake${++this.#oopses}` } : {};
    res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json', ...oops, ...headers });
    res.end(text);
  }

  /** The text of an error answer: the front end's page for 502/503/504, Launchpad's for the rest. */
  #errorPage(status: number): string {
    return status === 502 || status === 503 || status === 504 ? 'Service temporarily unavailable' : 'Internal Server Error';
  }

  /** Routes one request through `send`; returns the status to answer instead once it is applied, if any. */
  async #route(
    req: IncomingMessage,
    url: URL,
    raw: string,
    record: RecordedRequest,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): Promise<number | undefined> {
    const method = record.method;
    let params = record.params;
    let applyThenFail: number | undefined;

    if (method === 'POST') {
      params = Object.fromEntries(new URLSearchParams(raw));
      record.params = params;
    }
    const op = params['ws.op'];
    record.op = op;
    const described = `${method} ${url.pathname}${url.search}${op ? ` ws.op=${op}` : ''}`;
    const failure = this.#failures.find((f) => f.count > 0 && (!f.match || f.match.test(described)));
    if (failure) {
      failure.count--;
      if (failure.afterApplying) applyThenFail = failure.status;
      else {
        record.status = -1;
        send(failure.status, this.#errorPage(failure.status));
        return undefined;
      }
    }
    const denied = this.#authorised(req);
    if (denied) {
      record.status = -1;
      send(401, denied);
      return undefined;
    }
    if (method === 'POST' && this.accessLevel.startsWith('READ_')) {
      // Launchpad's security policy refuses every write permission to a READ_* token; the
      // webservice answers 401 with the Unauthorized exception's text (object, attribute,
      // permission). The exact text is reconstructed from the source, not recorded.
      const permission = op === 'createComment' ? 'launchpad.AnyPerson' : 'launchpad.Edit';
      send(401, `(<BranchMergeProposal object>, '${op ?? ''}', '${permission}')`);
      return undefined;
    }
    this.#dispatch(req, url, method, params, op, send);
    return applyThenFail;
  }

  #dispatch(
    req: IncomingMessage,
    url: URL,
    method: string,
    params: Record<string, string>,
    op: string | undefined,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {

    if (method === 'POST') {
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        return send(415, 'Named operations take a form-encoded body');
      }
    } else if (method !== 'GET') {
      return send(405, `${method} not supported by this fake`);
    }
    // Launchpad's 404 text is zope's NotFound: the object traversed so far (Python's repr)
    // and the name it had no child for, Python-quoted. For the root that is
    // `Object: <lp.systemhomes.WebServiceApplication object at 0x7f7cc57a7370>, name: 'notaproject'`
    // (as recorded by other clients' tests); the repr of deeper objects is not known here,
    // so a path below the root names the whole path on the root.
    const ROOT_REPR = '<lp.systemhomes.WebServiceApplication object at 0x7f0000000000>';
    if (!url.pathname.startsWith('/devel/')) {
      return send(404, `Object: ${ROOT_REPR}, name: ${pythonRepr(url.pathname.split('/')[1] ?? '')}`);
    }
    const path = decodeURIComponent(url.pathname.slice('/devel/'.length)).replace(/\/$/, '');
    const notFound = () => send(404, `Object: ${ROOT_REPR}, name: ${pythonRepr(path)}`);
    const noSuchOp = () => send(400, `No such operation: ${op}`);

    if (path === '') {
      const links: Record<string, string> = { resource_type_link: `${this.base}#service-root` };
      for (const c of ['branches', 'git_repositories', 'people', 'projects', 'bugs']) {
        links[`${c}_collection_link`] = `${this.base}${c === 'git_repositories' ? '+git' : c}`;
      }
      links.me_link = `${this.base}people/+me`;
      return send(200, links);
    }
    if (path === 'people/+me') return send(200, this.#person(this.me));
    if (path === '+git') {
      if (op !== 'getByPath') return noSuchOp();
      const wanted = params.path ?? '';
      const repo = this.repos.get(wanted) ?? [...this.repos.values()].find((r) => r.isDefault && r.project === wanted);
      return send(200, repo ? this.#repoEntry(repo) : null);
    }
    if (path === 'branches') {
      if (op !== 'getByUrl') return noSuchOp();
      const m = /^lp:(.+)$/.exec(params.url ?? '');
      const branch = m ? this.branches.get(m[1]!) : undefined;
      return send(200, branch ? this.#branchEntry(branch) : null);
    }
    const person = /^~([^/]+)$/.exec(path);
    if (person) return this.people.has(person[1]!) ? send(200, this.#person(person[1]!)) : notFound();

    const mp = /^(.+)\/\+merge\/(\d+)(?:\/(votes|all_comments|comments\/(\d+)))?$/.exec(path);
    if (mp) {
      const p = this.proposals.get(Number(mp[2]));
      if (!p || this.#branchPath(p.source) !== mp[1]) return notFound();
      if (mp[3] === 'votes') return send(200, this.#page(url, p.votes.map((v) => this.#voteEntry(p, v))));
      if (mp[3] === 'all_comments') return send(200, this.#page(url, p.comments.map((c) => this.#commentEntry(p, c))));
      if (mp[4]) {
        const c = p.comments.find((x) => x.id === Number(mp[4]));
        return c ? send(200, this.#commentEntry(p, c)) : notFound();
      }
      if (method === 'GET') return op ? noSuchOp() : send(200, this.#proposalEntry(p));
      if (op === 'createComment') {
        const vote = (params.vote || null) as VoteValue | null;
        // BranchMergeProposal.createComment: no subject → "Re: " + the proposal's title.
        const subject = params.subject ? params.subject : `Re: ${this.#title(p)}`;
        const c = this.#comment(p, this.me, subject, params.content ?? '', vote);
        return send(201, '', { Location: `${this.base}${this.#branchPath(p.source)}/+merge/${p.id}/comments/${c.id}` });
      }
      if (op === 'setStatus') {
        const next = params.status as QueueStatus | undefined;
        const valid: QueueStatus[] = ['Work in progress', 'Needs review', 'Approved', 'Rejected', 'Merged', 'Code failed to merge', 'Queued', 'Superseded'];
        if (!next || !valid.includes(next)) return send(400, `status: Invalid value ${JSON.stringify(next)}.`);
        if (FINAL.includes(p.status) || next === 'Superseded') {
          return send(400, `Invalid state transition for merge proposal: ${p.status} -> ${next}`);
        }
        if (next === 'Approved') {
          p.reviewedRevid = params.revid || p.reviewedRevid;
          p.dateReviewed = iso();
        }
        if (next === 'Merged') p.mergedRevisionId = params.revid || null;
        if ((next === 'Needs review' && p.status !== 'Needs review') || next === 'Work in progress') {
          // requestReview() / setAsWorkInProgress(): _mark_unreviewed() clears the review.
          p.reviewedRevid = null;
          p.dateReviewed = null;
        }
        p.status = next;
        return send(200, null);
      }
      return noSuchOp();
    }

    const refPath = /^(.+\/\+git\/[^/]+)\/\+ref\/(.+?)(?:\/(landing_candidates|landing_targets))?$/.exec(path);
    if (refPath) {
      const repo = this.repos.get(refPath[1]!);
      const full = refPath[2]!.startsWith('refs/') ? refPath[2]! : `refs/heads/${refPath[2]}`;
      if (!repo || !repo.refs.has(full)) return notFound();
      if (refPath[3] === 'landing_candidates') return send(200, this.#candidates({ git: repo.path, path: full }, url));
      if (refPath[3] === 'landing_targets') return send(200, this.#landingTargets({ git: repo.path, path: full }, url));
      return send(200, this.#refEntry(repo, full));
    }

    const repoPath = /^(.+\/\+git\/[^/]+)(?:\/(landing_candidates))?$/.exec(path);
    if (repoPath) {
      const repo = this.repos.get(repoPath[1]!);
      if (!repo) return notFound();
      if (repoPath[2]) {
        const list = [...this.proposals.values()].filter((p) => 'git' in p.target && p.target.git === repo.path && !FINAL.includes(p.status));
        return send(200, this.#page(url, list.map((p) => this.#proposalEntry(p))));
      }
      if (!op) return send(200, this.#repoEntry(repo));
      if (op === 'getRefByPath') {
        const wanted = params.path ?? '';
        const full = wanted.startsWith('refs/') ? wanted : `refs/heads/${wanted}`;
        return send(200, repo.refs.has(full) ? this.#refEntry(repo, full) : null);
      }
      if (op === 'isPersonTrustedReviewer') return send(200, this.#trusted(repo.trusted, params.reviewer));
      return noSuchOp();
    }

    const bzr = /^(~[^/]+\/[^/]+\/[^/+]+)(?:\/(landing_candidates|landing_targets))?$/.exec(path);
    if (bzr) {
      const branch = this.branches.get(bzr[1]!);
      if (!branch) return notFound();
      if (bzr[2] === 'landing_candidates') return send(200, this.#candidates({ bzr: branch.path }, url));
      if (bzr[2] === 'landing_targets') return send(200, this.#landingTargets({ bzr: branch.path }, url));
      if (!op) return send(200, this.#branchEntry(branch));
      if (op === 'isPersonTrustedReviewer') return send(200, this.#trusted(branch.trusted, params.reviewer));
      return noSuchOp();
    }
    return notFound();
  }

  #trusted(trusted: Set<string>, reviewerLink: string | undefined): boolean {
    const m = reviewerLink ? /\/~([^/]+)$/.exec(reviewerLink) : null;
    return !!m && trusted.has(m[1]!);
  }
}

/** Starts a fake Launchpad; stop it with `close()` in `after()`. */
/** A string as Python's repr() writes it (single quotes unless it holds one and no double quote). */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = text.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), `\\${quote}`).replace(/\n/g, '\\n');
  return `${quote}${body}${quote}`;
}

export async function startLaunchpadServer(options: LaunchpadServerOptions): Promise<LaunchpadServer> {
  return new LaunchpadServer(options).start();
}
