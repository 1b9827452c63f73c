/**
 * The seam between the forges' webhook parsers (plugins/<forge>/webhooks.ts, which verify
 * the signature over the raw body and parse) and the brain: each delivery becomes one
 * `BrainEvent`, the small normalised shape the rules match on and the journal stores.
 */
import { receiveWebhook, WebhookError as GithubWebhookError, type WebhookEvent as GithubEvent } from '../plugins/github/webhooks.js';
import { ciBuildConclusion, parseWebhook, WebhookError as LaunchpadWebhookError, type WebhookEvent as LaunchpadEvent } from '../plugins/launchpad/webhooks.js';
import type { EventKind, SourceName } from './config.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface BrainEvent {
  source: SourceName;
  /** The forge's delivery id (`X-GitHub-Delivery`, `X-Launchpad-Delivery`). */
  delivery: string;
  /** The forge's event name, e.g. `pull_request_review`, `merge-proposal:0.1`. */
  name: string;
  /** What it means for byoci; `ping` and `ignored` trigger nothing. */
  kind: EventKind | 'ping' | 'ignored';
  /** GitHub `owner/name`; Launchpad repository or branch path without the leading slash. */
  repo: string;
  /** Branches concerned (target branch of a proposal, pushed branches); empty: unknown. */
  branches: string[];
  /** `#12` (GitHub) or the merge proposal's path (Launchpad). */
  proposal?: string;
  revision?: string;
  label?: string;
  /** The check or status name and its result (remote-ci). */
  check?: string;
  conclusion?: string;
  /** The first line of a comment (pr-command). */
  comment?: string;
  sender?: string;
  /** One line for people (journal, status page). */
  summary: string;
  /**
   * Routes this delivery teaches the journal (journal.ts brain_routes): `pr:<n>` → a PR's
   * base branch, `rev:<sha>` → the branch a commit was pushed to.
   */
  learns?: Record<string, string>;
  /** The route key to look the branch up by when `branches` is empty. */
  routeBy?: string;
  /** The repository routes are learnt and looked up under, when not `repo` (Launchpad: the url-path). */
  routeRepo?: string;
  /** Set by the journal: the delivery the branch was learnt from. */
  routedFrom?: string;
}

/** A delivery refused: the HTTP status and a message for the sender. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `~brz/brz/+git/brz` for `/~brz/brz/+git/brz` and `lp:~brz/brz/+git/brz`. */
export function normaliseRepo(repo: string): string {
  return repo.replace(/^lp:/, '').replace(/^\/+/, '');
}

function branchOf(ref: string | null | undefined): string | undefined {
  if (!ref) return undefined;
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

/** Verifies (constant time, raw body) and parses a GitHub delivery. Headers are lower-case. */
export async function githubEvent(secret: string, headers: Headers, body: Buffer): Promise<BrainEvent> {
  const delivery = header(headers, 'x-github-delivery');
  let parsed: GithubEvent;
  try {
    parsed = await receiveWebhook({ secret, headers, body });
  } catch (error) {
    if (error instanceof GithubWebhookError) throw new DeliveryError(error.status, error.message);
    throw error;
  }
  if (!delivery) throw new DeliveryError(400, 'missing X-GitHub-Delivery header');
  return fromGithub(parsed, delivery);
}

// Each event is one object literal (no `{ ...base, kind }`: in Node 20's V8 a literal that
// spreads an object and then adds properties costs about a microsecond per property added).
export function fromGithub(e: GithubEvent, delivery: string): BrainEvent {
  switch (e.event) {
    case 'ignored':
      return { source: 'github', delivery, name: e.name, kind: 'ignored', repo: '', branches: [], summary: `${e.name}: not an event byoci acts on` };
    case 'ping':
      return { source: 'github', delivery, name: 'ping', kind: 'ping', repo: e.repo, branches: [], summary: 'ping' };
    case 'pull_request_review': {
      const approved = e.action === 'submitted' && e.state === 'APPROVED';
      return {
        source: 'github',
        delivery,
        name: e.event,
        kind: approved ? 'pr-approved' : 'ignored',
        repo: e.repo,
        branches: [e.baseRef],
        proposal: `#${e.number}`,
        revision: e.commitId,
        sender: e.reviewer,
        learns: { [`pr:${e.number}`]: e.baseRef },
        summary: `${e.repo}#${e.number} review ${e.action} ${e.state} by ${e.reviewer}`,
      };
    }
    case 'pull_request': {
      // Every pull_request event carries the PR's current base (opened, edited with a new base, ...).
      const labelled = e.action === 'labeled' && e.label !== undefined;
      const changed = ['opened', 'reopened', 'synchronize', 'edited', 'ready_for_review'].includes(e.action);
      const event: BrainEvent = {
        source: 'github',
        delivery,
        name: e.event,
        repo: e.repo,
        branches: [e.baseRef],
        proposal: `#${e.number}`,
        revision: e.headSha,
        sender: e.sender,
        learns: { [`pr:${e.number}`]: e.baseRef },
        kind: labelled ? 'pr-labelled' : changed ? 'pr-changed' : 'ignored',
        summary: labelled ? `${e.repo}#${e.number} labelled ${e.label} by ${e.sender}` : `${e.repo}#${e.number} ${e.action}`,
      };
      if (labelled) event.label = e.label;
      return event;
    }
    case 'issue_comment': {
      const first = (e.body.split(/\r?\n/)[0] ?? '').trim();
      const kind = e.action === 'created' && e.isPullRequest ? 'pr-command' : 'ignored';
      // The comment payload does not name the base branch: the journal looks it up from the
      // PR's pull_request events (else rules of every branch of the repo match).
      return {
        source: 'github',
        delivery,
        name: e.event,
        kind,
        repo: e.repo,
        branches: [],
        proposal: `#${e.number}`,
        routeBy: `pr:${e.number}`,
        comment: first,
        sender: e.author,
        summary: `${e.repo}#${e.number} comment by ${e.author}`,
      };
    }
    case 'check_run': {
      const done = e.action === 'completed' && e.conclusion !== null;
      return {
        source: 'github',
        delivery,
        name: e.event,
        kind: done ? 'remote-ci' : 'ignored',
        repo: e.repo,
        branches: [],
        ...(e.pullRequests[0] !== undefined ? { proposal: `#${e.pullRequests[0]}`, routeBy: `pr:${e.pullRequests[0]}` } : {}),
        revision: e.headSha,
        check: e.name,
        conclusion: e.conclusion ?? e.status,
        summary: `${e.repo} check ${e.name} ${e.conclusion ?? e.status}`,
      };
    }
    case 'status': {
      const done = e.state !== 'pending';
      return {
        source: 'github',
        delivery,
        name: e.event,
        kind: done ? 'remote-ci' : 'ignored',
        repo: e.repo,
        branches: e.branches,
        revision: e.sha,
        check: e.context,
        conclusion: e.state,
        summary: `${e.repo} status ${e.context} ${e.state}`,
      };
    }
    case 'push': {
      const branch = branchOf(e.ref);
      const kind = e.deleted || !e.ref.startsWith('refs/heads/') ? 'ignored' : 'push';
      return {
        source: 'github',
        delivery,
        name: e.event,
        kind,
        repo: e.repo,
        branches: branch ? [branch] : [],
        revision: e.after,
        sender: e.sender,
        summary: `${e.repo} push ${e.ref} ${e.before.slice(0, 12)}..${e.after.slice(0, 12)}`,
      };
    }
  }
}

/** Verifies (constant time, raw body, `X-Hub-Signature` sha1) and parses a Launchpad delivery. */
export function launchpadEvent(secret: string, headers: Headers, body: Buffer): BrainEvent {
  if (!secret) throw new Error('Launchpad webhook secret is empty');
  let parsed: LaunchpadEvent;
  try {
    parsed = parseWebhook(headers, body, secret);
  } catch (error) {
    if (error instanceof LaunchpadWebhookError) throw new DeliveryError(error.status, error.message);
    throw error;
  }
  if (!parsed.delivery) throw new DeliveryError(400, 'missing X-Launchpad-Delivery header');
  return fromLaunchpad(parsed);
}

export function fromLaunchpad(e: LaunchpadEvent): BrainEvent {
  switch (e.type) {
    case 'ping':
      return { source: 'launchpad', delivery: e.delivery, name: e.type, kind: 'ping', repo: '', branches: [], summary: 'ping' };
    case 'merge-proposal:0.1': {
      const state = e.new ?? e.old ?? {};
      const repo = normaliseRepo(String(state.target_git_repository ?? state.target_branch ?? ''));
      const branch = branchOf(typeof state.target_git_path === 'string' ? state.target_git_path : undefined);
      const approved = e.new?.queue_status === 'Approved' && e.old?.queue_status !== 'Approved';
      const kind = e.action === 'deleted' ? 'ignored' : approved ? 'proposal-approved' : 'proposal-changed';
      return {
        source: 'launchpad',
        delivery: e.delivery,
        name: e.type,
        kind,
        repo,
        branches: branch ? [branch] : [],
        proposal: e.mergeProposal,
        summary: `${e.mergeProposal} ${e.action}${e.new?.queue_status ? ` (${String(e.new.queue_status)})` : ''}`,
      };
    }
    case 'git:push:0.1': {
      const branches = Object.entries(e.refChanges)
        .filter(([ref, change]) => ref.startsWith('refs/heads/') && change.new !== null)
        .map(([ref]) => branchOf(ref) as string);
      const first = Object.entries(e.refChanges).find(([ref]) => ref === `refs/heads/${branches[0]}`)?.[1];
      const learns: Record<string, string> = {};
      for (const [ref, change] of Object.entries(e.refChanges)) {
        if (ref.startsWith('refs/heads/') && change.new) learns[`rev:${change.new}`] = ref.slice('refs/heads/'.length);
      }
      return {
        source: 'launchpad',
        delivery: e.delivery,
        name: e.type,
        kind: branches.length ? 'push' : 'ignored',
        repo: normaliseRepo(e.repositoryPath || e.repository),
        branches,
        ...(first?.new ? { revision: first.new } : {}),
        learns,
        routeRepo: normaliseRepo(e.repository),
        summary: `${normaliseRepo(e.repositoryPath || e.repository)} push ${branches.join(', ') || '(deletions only)'}`,
      };
    }
    case 'ci:build:0.1': {
      // The payload names the build, the repository, the commit and the status only: no
      // branch (a branch learnt from a git:push of that commit fills it in, journal.ts) and
      // no job name (a rule's `checks` cannot select Launchpad CI builds).
      const final = ciBuildConclusion(e.status);
      const repo = normaliseRepo(e.repository);
      return {
        source: 'launchpad',
        delivery: e.delivery,
        name: e.type,
        kind: final ? 'remote-ci' : 'ignored',
        repo,
        branches: [],
        routeBy: `rev:${e.commitSha1}`,
        routeRepo: repo,
        revision: e.commitSha1,
        check: e.build,
        conclusion: final ?? e.status,
        summary: `${repo} CI build ${e.build} ${e.status} (${e.commitSha1.slice(0, 12)})`,
      };
    }
    case 'bzr:push:0.1':
      return {
        source: 'launchpad',
        delivery: e.delivery,
        name: e.type,
        kind: e.new ? 'push' : 'ignored',
        repo: normaliseRepo(e.branchPath || e.branch),
        branches: [],
        ...(e.new ? { revision: e.new } : {}),
        summary: `${normaliseRepo(e.branchPath || e.branch)} push`,
      };
  }
}
