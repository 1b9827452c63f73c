/**
 * What byoci writes on GitHub, each write preceded by a look so that a rerun writes
 * nothing twice: the commit status, the rejection comment, the trigger label.
 */
import type { GithubClient } from './client.js';
import { marker } from './comments.js';

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface StatusRequest {
  owner: string;
  repo: string;
  sha: string;
  context: string;
  state: StatusState;
  description: string;
  targetUrl?: string;
}

/** GitHub cuts descriptions at 140 characters; cut them ourselves, on a word. */
export function statusDescription(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= 140) return flat;
  const cut = flat.slice(0, 139);
  const space = cut.lastIndexOf(' ');
  return `${space > 100 ? cut.slice(0, space) : cut}…`;
}

/** Sets the status unless the newest one of the context already says the same. Returns whether it wrote. */
export async function ensureStatus(client: GithubClient, s: StatusRequest, signal?: AbortSignal): Promise<boolean> {
  const description = statusDescription(s.description);
  const { data } = await client.rest.repos.listCommitStatusesForRef({
    owner: s.owner,
    repo: s.repo,
    ref: s.sha,
    per_page: 100,
    request: { signal },
  });
  const current = data.find((status) => status.context === s.context);
  if (
    current &&
    current.state === s.state &&
    current.description === description &&
    (current.target_url ?? undefined) === (s.targetUrl ?? undefined)
  ) {
    return false;
  }
  await client.rest.repos.createCommitStatus({
    owner: s.owner,
    repo: s.repo,
    sha: s.sha,
    state: s.state,
    context: s.context,
    description,
    ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    request: { signal },
  });
  return true;
}

/** Posts `body` unless a comment already carries the marker of (trigger, code). Returns whether it wrote. */
export async function ensureComment(
  client: GithubClient,
  where: { owner: string; repo: string; number: number; triggerId: string; code: string },
  body: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const wanted = marker(where.triggerId, where.code);
  const comments = await client.paginate(client.rest.issues.listComments, {
    owner: where.owner,
    repo: where.repo,
    issue_number: where.number,
    per_page: 100,
    request: { signal },
  });
  if (comments.some((c) => c.body?.includes(wanted))) return false;
  await client.rest.issues.createComment({
    owner: where.owner,
    repo: where.repo,
    issue_number: where.number,
    body,
    request: { signal },
  });
  return true;
}

/** Removes a label; a label already gone is fine. Returns whether it removed one. */
export async function removeLabel(
  client: GithubClient,
  where: { owner: string; repo: string; number: number },
  name: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await client.rest.issues.removeLabel({ owner: where.owner, repo: where.repo, issue_number: where.number, name, request: { signal } });
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}
