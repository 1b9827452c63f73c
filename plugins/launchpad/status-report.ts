/**
 * byoci's own result as a Launchpad revision status report, so the merge proposal page shows
 * it like any CI: `git_repository.newStatusReport(title, commit_sha1, url, result_summary,
 * result)` on the source repository at the approved revision when a landing starts
 * (`Running`, url = the build's log), then `revision_status_report.update(result, url,
 * result_summary)` with the outcome; on landing also a `Succeeded` report on the target
 * repository at the merged revision. Looks before it creates (`getStatusReports`): a rerun
 * updates the report of its title rather than adding a second one.
 */
import type { Outcome } from '../../hooks/index.js';
import type { Logger } from '../../core/index.js';
import type { LaunchpadClient, LpEntry } from './client.js';

export type ReportResult = 'Waiting' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled';

export interface StatusReportSpec {
  repositoryLink: string;
  commit: string;
  title: string;
  result: ReportResult;
  url?: string;
  summary: string;
}

/** Launchpad's summary field is short text: the first line, bounded. */
function summaryOf(text: string): string {
  const first = text.trim().split('\n')[0] ?? '';
  return first.length > 500 ? `${first.slice(0, 499)}…` : first;
}

/** Creates the report of `title` on the commit, or updates the existing one. */
export async function ensureStatusReport(client: LaunchpadClient, spec: StatusReportSpec, log: Logger): Promise<void> {
  const summary = summaryOf(spec.summary);
  const existing = (await client.all(spec.repositoryLink, { 'ws.op': 'getStatusReports', commit_sha1: spec.commit })).find(
    (e: LpEntry) => e.title === spec.title,
  );
  if (existing) {
    if (existing.result === spec.result && (existing.url ?? undefined) === spec.url && existing.result_summary === summary) return;
    await client.post(existing.self_link, 'update', { result: spec.result, url: spec.url, result_summary: summary }, { idempotent: true });
    log.info('status report updated', { commit: spec.commit, result: spec.result });
    return;
  }
  // Not idempotent (a second call adds a second report): not retried blindly; the next
  // outcome of this landing looks again before writing.
  await client.post(
    spec.repositoryLink,
    'newStatusReport',
    { title: spec.title, commit_sha1: spec.commit, url: spec.url, result_summary: summary, result: spec.result },
    { idempotent: false },
  );
  log.info('status report created', { commit: spec.commit, result: spec.result });
}

/** The reports an outcome calls for (git proposals only; bzr branches have none). */
export function reportsFor(
  outcome: Outcome,
  links: { source?: string; target: string; vcs: string },
  title: string,
  buildUrl: string | undefined,
): StatusReportSpec[] {
  const approved = outcome.proposal.approvedRevision;
  if (links.vcs !== 'git' || !links.source || !approved) return [];
  const url = buildUrl ? { url: buildUrl } : {};
  const on = (result: ReportResult, summary: string): StatusReportSpec => ({ repositoryLink: links.source!, commit: approved, title, result, summary, ...url });
  switch (outcome.kind) {
    case 'started':
      return [on('Running', 'byoci is landing this revision: merging, then testing')];
    case 'landed':
      return [
        on('Succeeded', `Landed as ${outcome.revision}`),
        { repositoryLink: links.target, commit: outcome.revision, title, result: 'Succeeded', summary: `Tested and landed by byoci (${outcome.proposal.url})`, ...url },
      ];
    case 'rejected':
      return [on('Failed', outcome.rejection.reason)];
    case 'error':
      return [on('Cancelled', 'byoci hit an internal error; not a verdict on this revision (the operators have the log)')];
  }
}
