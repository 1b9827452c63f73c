/**
 * What byoci writes on GitHub, each write preceded by a look so that a rerun writes
 * nothing twice: the commit status, the rejection comment, the trigger label.
 */
import { maybeApplied, type GithubClient } from './client.js';
import { botAnswered, marker } from './comments.js';

/** Tries of a write whose answer was lost and that GitHub does not show afterwards. */
const WRITE_TRIES = 3;

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

/** The newest status of `context` on `sha`: statuses come newest first, read page after page until found. */
async function newestStatus(client: GithubClient, s: StatusRequest, signal?: AbortSignal) {
  const pages = client.paginate.iterator(client.rest.repos.listCommitStatusesForRef, {
    owner: s.owner,
    repo: s.repo,
    ref: s.sha,
    per_page: 100,
    request: { signal },
  });
  for await (const page of pages) {
    const found = page.data.find((status) => status.context === s.context);
    if (found) return found;
  }
  return undefined;
}

/**
 * Sets the status unless the newest one of the context already says the same. Returns
 * whether it wrote. A POST answered 5xx may have been applied: it looks again before
 * writing again, so a status is not written twice.
 */
export async function ensureStatus(client: GithubClient, s: StatusRequest, signal?: AbortSignal): Promise<boolean> {
  const description = statusDescription(s.description);
  const same = async () => {
    const current = await newestStatus(client, s, signal);
    return (
      !!current &&
      current.state === s.state &&
      current.description === description &&
      (current.target_url ?? undefined) === (s.targetUrl ?? undefined)
    );
  };
  if (await same()) return false;
  for (let attempt = 1; ; attempt += 1) {
    try {
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
    } catch (error) {
      if (!maybeApplied(error) || attempt >= WRITE_TRIES) throw error;
      if (await same()) return true;
    }
  }
}

/**
 * Posts `body` unless a comment the bot authored already starts with the marker of
 * (trigger, code). Returns whether it wrote. A POST answered 5xx may have been applied:
 * it looks again before posting again, so a lost answer never gives two comments.
 */
export async function ensureComment(
  client: GithubClient,
  where: { owner: string; repo: string; number: number; triggerId: string; code: string; botLogin: string },
  body: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const wanted = marker(where.triggerId, where.code);
  const posted = async () => {
    const comments = await client.paginate(client.rest.issues.listComments, {
      owner: where.owner,
      repo: where.repo,
      issue_number: where.number,
      per_page: 100,
      request: { signal },
    });
    return botAnswered(comments, where.botLogin, wanted);
  };
  if (await posted()) return false;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.rest.issues.createComment({
        owner: where.owner,
        repo: where.repo,
        issue_number: where.number,
        body,
        request: { signal },
      });
      return true;
    } catch (error) {
      if (!maybeApplied(error) || attempt >= WRITE_TRIES) throw error;
      if (await posted()) return true;
    }
  }
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
