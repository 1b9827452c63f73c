/**
 * Finds the open pull requests of a target and decides, for each, whether it can land.
 */
import { Rejection, asForgeAnswerError, z } from '../../core/index.js';
import type { Proposal } from '../../hooks/types.js';
import type { GithubClient } from './client.js';
import { botAnswers, hasCommand } from './comments.js';
import type { GithubConfig, GithubTarget } from './config.js';
import { evaluate, isWriter, type ReviewInfo, type TriggerInfo } from './readiness.js';

/**
 * What the plugin keeps in `Proposal.meta` (validated by core when discover returns it,
 * read back typed with `api.proposalMeta`).
 */
export const metaSchema = z
  .object({
    owner: z.string().min(1),
    repo: z.string().min(1),
    number: z.number().int().positive(),
    headSha: z.string().min(1),
    /** The comment, review or label event that triggered the landing. */
    triggerId: z.string().optional(),
    /** Label that triggered the landing (removed on rejection). */
    triggerLabel: z.string().optional(),
  })
  .strict();

export type GithubMeta = z.output<typeof metaSchema>;

/** Permission of users on one repository, looked up once per run. */
export type PermissionCache = Map<string, Promise<string>>;

const ROLES = new Set(['admin', 'maintain', 'write', 'triage', 'read']);

export function permissionOf(
  client: GithubClient,
  cache: PermissionCache,
  owner: string,
  repo: string,
  user: string,
  signal?: AbortSignal,
): Promise<string> {
  const key = `${owner}/${repo}:${user}`;
  let found = cache.get(key);
  if (!found) {
    found = client.rest.repos
      .getCollaboratorPermissionLevel({ owner, repo, username: user, request: { signal } })
      .then(({ data }) => (data.role_name && ROLES.has(data.role_name) ? data.role_name : data.permission))
      .catch((error: { status?: number }) => {
        if (error.status === 404) return 'none';
        throw error;
      });
    cache.set(key, found);
  }
  return found;
}

function rejectionOf(code: 'source-unavailable', fields: Record<string, unknown>): { code: string; reason: string } {
  const r = new Rejection(code, fields);
  return { code: r.code, reason: r.reason };
}

interface Context {
  client: GithubClient;
  config: GithubConfig;
  target: GithubTarget;
  permissions: PermissionCache;
  /** Login of the token's owner: only its comments answer triggers. */
  botLogin: string;
  signal?: AbortSignal;
}

type Pull = Awaited<ReturnType<GithubClient['rest']['pulls']['list']>>['data'][number];

export async function discoverTarget(ctx: Context): Promise<Proposal[]> {
  const { client, target, signal } = ctx;
  const pulls = await client.paginate(client.rest.pulls.list, {
    owner: target.owner,
    repo: target.name,
    state: 'open',
    base: target.branch,
    per_page: 100,
    request: { signal },
  });
  const proposals: Proposal[] = [];
  for (const pull of pulls.sort((a, b) => a.number - b.number)) {
    if (pull.base.ref !== target.branch) continue;
    try {
      proposals.push(await proposalFor(ctx, pull));
    } catch (error) {
      // A junk answer about one pull request is GitHub's fault: it waits (nothing posted,
      // no status set), the run ends as an internal error, and the others go on.
      const junk = asForgeAnswerError(error);
      if (!junk) throw error;
      proposals.push(waitingOnForge(target, pull, junk.message));
    }
  }
  return proposals;
}

function waitingOnForge(target: GithubTarget, pull: Pull, why: string): Proposal {
  return {
    id: `github:${target.repo}#${pull.number}`,
    forge: 'github',
    url: pull.html_url,
    title: pull.title,
    source: { vcs: 'git', url: '', branch: pull.head.ref },
    target: { vcs: 'git', url: '', branch: target.branch },
    commitMessage: '',
    votes: [],
    readiness: { state: 'waiting', internal: true, reason: `internal error, not the proposal's fault: ${why}` },
  };
}

async function proposalFor(ctx: Context, pull: Pull): Promise<Proposal> {
  const { client, target, signal } = ctx;
  const repoArgs = { owner: target.owner, repo: target.name, per_page: 100, request: { signal } };
  const currentLabels = new Set(pull.labels.map((l) => l.name));
  const presentLabels = target.rules.labels.filter((l) => currentLabels.has(l));

  // Rate limit: a pull request that nothing triggers costs nothing beyond the list (its
  // labels are in the list answer); comments are read only when commands are configured,
  // conditionally (an unchanged list is a 304, which does not count).
  const comments = target.rules.commands.length
    ? await client.paginate(client.rest.issues.listComments, { ...repoArgs, issue_number: pull.number })
    : [];
  const triggers: TriggerInfo[] = [];
  for (const c of comments) {
    if (!c.user || !c.body || c.user.login === ctx.botLogin) continue;
    const command = target.rules.commands.find((cmd) => hasCommand(c.body as string, cmd));
    if (command) triggers.push({ id: `comment-${c.id}`, kind: 'command', what: command, user: c.user.login, at: c.created_at });
  }
  if (!presentLabels.length && !triggers.length) {
    return proposalOf(ctx, pull, evaluate(factsOf(pull, target, [], [], new Set(), new Map()), target.rules), { reviews: [], permissions: new Map(), priorityLabels: [] });
  }

  const labelled = presentLabels.length > 0 || [...currentLabels].some((l) => PRIORITY_LABEL.test(l));
  const [reviews, events] = await Promise.all([
    client.paginate(client.rest.pulls.listReviews, { ...repoArgs, pull_number: pull.number }),
    labelled ? client.paginate(client.rest.issues.listEvents, { ...repoArgs, issue_number: pull.number }) : Promise.resolve([]),
  ]);
  const priorityLabels: { name: string; user: string; at: string }[] = [];
  for (const e of events) {
    const label = 'label' in e ? e.label?.name : undefined;
    if (e.event !== 'labeled' || !label || !e.actor) continue;
    const priority = PRIORITY_LABEL.exec(label);
    if (priority && currentLabels.has(label)) priorityLabels.push({ name: priority[1]!, user: e.actor.login, at: e.created_at });
  }
  // A label triggers through the `labeled` event that added it as it is now: a label a
  // writer added, removed, and someone else added back counts as the last one's.
  for (const label of presentLabels) {
    let adding: (typeof events)[number] | undefined;
    for (const e of events) {
      const name = 'label' in e ? e.label?.name : undefined;
      if (name !== label) continue;
      if (e.event === 'labeled') adding = e;
      else if (e.event === 'unlabeled') adding = undefined;
    }
    if (adding?.actor) triggers.push({ id: `label-event-${adding.id}`, kind: 'label', what: label, user: adding.actor.login, at: adding.created_at });
  }
  // Only the bot's own markers (first line of a comment it authored) answer a trigger:
  // quoted test output or anyone else's comment cannot mark one handled.
  const handled = botAnswers(comments, ctx.botLogin);
  const reviewInfos: ReviewInfo[] = reviews
    .filter((r) => r.user && r.commit_id)
    .map((r) => ({ user: r.user!.login, state: r.state, commitId: r.commit_id as string }));

  const users = new Set([...triggers.map((t) => t.user), ...reviewInfos.map((r) => r.user), ...priorityLabels.map((l) => l.user)]);
  const permissions = new Map<string, string>();
  for (const user of users) {
    permissions.set(user, await permissionOf(client, ctx.permissions, target.owner, target.name, user, signal));
  }
  return proposalOf(ctx, pull, evaluate(factsOf(pull, target, reviewInfos, triggers, handled, permissions), target.rules), { reviews, permissions, priorityLabels });
}

function factsOf(
  pull: Pull,
  target: GithubTarget,
  reviews: ReviewInfo[],
  triggers: TriggerInfo[],
  handled: ReadonlySet<string>,
  permissions: ReadonlyMap<string, string>,
): Parameters<typeof evaluate>[0] {
  return {
    number: pull.number,
    draft: pull.draft === true,
    headSha: pull.head.sha,
    target: `${target.repo}:${target.branch}`,
    reviews,
    triggers,
    handled,
    permissions,
  };
}

type Review = Awaited<ReturnType<GithubClient['rest']['pulls']['listReviews']>>['data'][number];

function proposalOf(
  ctx: Context,
  pull: Pull,
  evaluation: ReturnType<typeof evaluate>,
  read: { reviews: readonly Review[]; permissions: ReadonlyMap<string, string>; priorityLabels: readonly { name: string; user: string; at: string }[] },
): Proposal {
  const { target } = ctx;
  const { reviews, permissions, priorityLabels } = read;
  const baseUrl =
    target.url ?? (ctx.config.cloneWith === 'ssh' ? pull.base.repo.ssh_url : pull.base.repo.clone_url);
  const headRepo = pull.head.repo;
  // A branch of the base repository is fetched from the base URL (the operator's, when set).
  // A fork's head (the fork may be private to the bot, renamed or deleted) is fetched from
  // the base repository's `refs/pull/N/head`, which GitHub keeps for every pull request;
  // the approved head sha pins what lands either way.
  const sameRepo = headRepo?.full_name === pull.base.repo.full_name;
  const source = sameRepo
    ? { vcs: 'git' as const, url: baseUrl, branch: pull.head.ref }
    : { vcs: 'git' as const, url: ctx.config.cloneWith === 'ssh' ? pull.base.repo.ssh_url : pull.base.repo.clone_url, branch: `refs/pull/${pull.number}/head` };
  const readiness = evaluation.readiness;
  const meta: GithubMeta = {
    owner: target.owner,
    repo: target.name,
    number: pull.number,
    headSha: pull.head.sha,
    ...(evaluation.trigger ? { triggerId: evaluation.trigger.id } : {}),
    ...(evaluation.trigger?.kind === 'label' ? { triggerLabel: evaluation.trigger.what } : {}),
  };
  const body = (pull.body ?? '').trim();
  // Only a writer's priority label counts (the last one added that is still there).
  const priority = priorityLabels.filter((l) => isWriter(permissions, l.user)).sort((a, b) => a.at.localeCompare(b.at)).at(-1)?.name;
  const approvedAt = readiness.state === 'ready' ? readyAt(evaluation.trigger?.at, reviews, pull.head.sha, permissions) : undefined;
  return {
    id: `github:${target.repo}#${pull.number}`,
    forge: 'github',
    url: pull.html_url,
    title: pull.title,
    source,
    target: { vcs: 'git', url: baseUrl, branch: target.branch },
    ...(evaluation.approvedRevision ? { approvedRevision: evaluation.approvedRevision } : {}),
    commitMessage: body ? `${pull.title} (#${pull.number})\n\n${body}` : `${pull.title} (#${pull.number})`,
    votes: evaluation.votes,
    readiness,
    ...(approvedAt ? { approvedAt } : {}),
    ...(priority ? { priority } : {}),
    meta,
  };
}

/** `byoci:priority=<name>` (or `byoci:priority:<name>`): a priority of queue.priorities. */
export const PRIORITY_LABEL = /^byoci:priority[=:]([a-z][a-z0-9-]*)$/;

/**
 * When the pull request became ready: the later of its trigger and the last approval from
 * a writer at the head commit (the queue's "first approved, first landed").
 */
function readyAt(
  triggerAt: string | undefined,
  reviews: readonly { user?: { login: string } | null; state: string; commit_id?: string | null; submitted_at?: string | null }[],
  head: string,
  permissions: ReadonlyMap<string, string>,
): string | undefined {
  const times = reviews
    .filter((r) => r.user && r.state.toUpperCase() === 'APPROVED' && r.commit_id === head && isWriter(permissions, r.user.login))
    .map((r) => r.submitted_at)
    .filter((t): t is string => typeof t === 'string');
  if (triggerAt) times.push(triggerAt);
  return times.sort().at(-1);
}
