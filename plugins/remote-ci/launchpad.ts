/**
 * Launchpad CI: the revision status reports of a git repository for a commit, through
 * `git_repository.getStatusReports(commit_sha1)` (devel API; a collection page of
 * `revision_status_report` entries: title, result, result_summary, url, web_link). Read
 * anonymously (public repositories). Results: Waiting/Running pending, Succeeded/Skipped
 * green, Failed/Cancelled red (`devel.wadl`).
 */
import { z } from 'zod';
import type { z as Z } from 'zod';
import type { launchpadSite } from './config.js';
import { expectOk, parseJson, request } from './http.js';
import { sameOrigin, type ReadContext, type RemoteResult, type RemoteState } from './results.js';

type LaunchpadSite = Z.output<typeof launchpadSite>;

const RESULTS = ['Waiting', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled'] as const;
const STATE: Record<(typeof RESULTS)[number], RemoteState> = {
  Waiting: 'pending',
  Running: 'pending',
  Succeeded: 'success',
  Skipped: 'success',
  Failed: 'failure',
  Cancelled: 'failure',
};

const page = z
  .object({
    entries: z.array(
      z
        .object({
          title: z.string(),
          result: z.enum(RESULTS).nullable().optional(),
          result_summary: z.string().nullable().optional(),
          url: z.string().nullable().optional(),
          web_link: z.string().nullable().optional(),
        })
        .passthrough(),
    ),
    next_collection_link: z.string().optional(),
  })
  .passthrough();

/** The API root of the devel version, e.g. `https://api.launchpad.net/devel`. */
export function devel(site: LaunchpadSite): string {
  return `${site.url.replace(/\/+$/, '')}/devel`;
}

export async function readLaunchpad(site: LaunchpadSite, sha: string, ctx: ReadContext): Promise<RemoteResult[]> {
  const root = devel(site);
  const repository = site.repository.replace(/^lp:/, '').replace(/^\/+/, '');
  let url: string | undefined = `${root}/${repository.split('/').map(encodeURIComponent).join('/')}?ws.op=getStatusReports&commit_sha1=${encodeURIComponent(sha)}`;
  const out: RemoteResult[] = [];
  for (let pages = 0; url && pages < 10; pages++) {
    const answer = await request(url, { headers: { accept: 'application/json', 'user-agent': 'byoci' } }, ctx.limits);
    if (answer.status === 404) return out;
    const body = parseJson(expectOk(answer), page);
    for (const e of body.entries) {
      const result = e.result ?? 'Waiting';
      const link = e.url ?? e.web_link;
      out.push({ name: e.title, state: STATE[result], result, ...(link ? { url: link } : {}), ...(e.result_summary ? { detail: e.result_summary } : {}) });
    }
    url = sameOrigin(body.next_collection_link, root);
  }
  return out;
}
