/**
 * GitHub commit statuses (combined status: the latest of each context) and check runs of a
 * commit, read with a token of remote-ci's own (`remote-ci/github-token`, read-only scopes
 * suffice). Shapes: GitHub's OpenAPI `combined-commit-status` and `checks/list-for-ref`.
 */
import { z } from 'zod';
import type { z as Z } from 'zod';
import type { githubSite } from './config.js';
import { expectOk, parseJson, request } from './http.js';
import type { ReadContext, RemoteResult, RemoteState } from './results.js';

type GithubSite = Z.output<typeof githubSite>;

const combinedStatus = z
  .object({
    state: z.string(),
    total_count: z.number().int().optional(),
    statuses: z.array(
      z
        .object({
          context: z.string(),
          state: z.enum(['error', 'failure', 'pending', 'success']),
          target_url: z.string().nullable().optional(),
          description: z.string().nullable().optional(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

const checkRuns = z
  .object({
    total_count: z.number(),
    check_runs: z.array(
      z
        .object({
          name: z.string(),
          status: z.string(),
          conclusion: z.string().nullable(),
          html_url: z.string().nullable().optional(),
          details_url: z.string().nullable().optional(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

const STATUS: Record<string, RemoteState> = { success: 'success', pending: 'pending', failure: 'failure', error: 'failure' };
/** Check run conclusions; a completed run with none (or an unknown one, `constructor` too: own keys only) is not green. */
const CONCLUSION: Record<string, RemoteState> = {
  success: 'success',
  neutral: 'success',
  skipped: 'success',
  failure: 'failure',
  cancelled: 'failure',
  timed_out: 'failure',
  action_required: 'failure',
  stale: 'failure',
};

/** GitHub's largest page; at most MAX_PAGES pages (1000 contexts or check runs) are read. */
const PER_PAGE = 100;
const MAX_PAGES = 10;

function headers(token: string | undefined): Record<string, string> {
  return {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'byoci',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** Statuses and check runs of `sha`; an unknown commit (404/422) has none yet. */
export async function readGithub(site: GithubSite, sha: string, token: string | undefined, ctx: ReadContext): Promise<RemoteResult[]> {
  const base = `${site.url.replace(/\/+$/, '')}/repos/${site.repo}/commits/${encodeURIComponent(sha)}`;
  const out: RemoteResult[] = [];
  if (site.read.includes('statuses')) {
    for (let page = 1; page <= MAX_PAGES; page++) {
      const answer = await request(`${base}/status?per_page=${PER_PAGE}&page=${page}`, { headers: headers(token) }, ctx.limits);
      if (answer.status === 404 || answer.status === 422) break;
      const body = parseJson(expectOk(answer), combinedStatus);
      for (const s of body.statuses) {
        out.push({ name: s.context, state: STATUS[s.state]!, result: s.state, ...(s.target_url ? { url: s.target_url } : {}), ...(s.description ? { detail: s.description } : {}) });
      }
      if (body.statuses.length < PER_PAGE || (body.total_count !== undefined && page * PER_PAGE >= body.total_count)) break;
    }
  }
  if (site.read.includes('checks')) {
    for (let page = 1; page <= MAX_PAGES; page++) {
      const answer = await request(`${base}/check-runs?per_page=${PER_PAGE}&page=${page}&filter=latest`, { headers: headers(token) }, ctx.limits);
      if (answer.status === 404 || answer.status === 422) break;
      const body = parseJson(expectOk(answer), checkRuns);
      for (const c of body.check_runs) {
        const state: RemoteState = c.status !== 'completed' ? 'pending' : c.conclusion !== null && Object.hasOwn(CONCLUSION, c.conclusion) ? (CONCLUSION[c.conclusion] as RemoteState) : 'failure';
        const url = c.html_url ?? c.details_url;
        out.push({ name: c.name, state, result: c.status === 'completed' ? (c.conclusion ?? 'no conclusion') : c.status, ...(url ? { url } : {}) });
      }
      if (body.check_runs.length < PER_PAGE || page * PER_PAGE >= body.total_count) break;
    }
  }
  return out;
}
