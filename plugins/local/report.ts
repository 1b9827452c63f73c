/**
 * Writing outcomes back into proposal files, as the Launchpad flow does on a merge
 * proposal: a rejection appends `Re: [Merge] <source> into <target>` and sets the status
 * back to "Needs review"; a landing sets "Merged" and `merged_revision`. Idempotent: a
 * rerun neither duplicates the comment nor rewrites an unchanged file.
 */
import { pinnedLandingText } from '../../core/index.js';
import type { Outcome } from '../../hooks/index.js';
import type { ReadableLocalMeta } from './schema.js';
import { editProposalFile } from './store.js';

export interface ReportOptions {
  author: string;
  redact: (text: string) => string;
  now?: () => Date;
}

export function subjectFor(meta: Pick<ReadableLocalMeta, 'sourceLabel' | 'targetLabel'>): string {
  return `Re: [Merge] ${meta.sourceLabel} into ${meta.targetLabel}`;
}

/**
 * The comment of a rejection: the reason, then (a batched proposal) the sentence saying which
 * runs it was in and why it was judged the culprit, then the output, then the build.
 */
export function rejectionBody(reason: string, details: string | undefined, buildUrl: string | undefined, batch?: string): string {
  const parts = [reason.trim()];
  if (batch && batch.trim()) parts.push(batch.trim());
  if (details && details.trim()) parts.push(details.trimEnd());
  if (buildUrl) parts.push(`Build: ${buildUrl}`);
  return parts.join('\n\n');
}

/** Applies one outcome to its proposal file (`meta`: the forge's data of the proposal); returns whether the file changed. */
export async function reportOutcome(outcome: Outcome, meta: ReadableLocalMeta, options: ReportOptions): Promise<boolean> {
  const file = meta.file;

  if (outcome.kind === 'landed') {
    // The comment of a landing: bzr: the content that landed, by digest (a revid is only a
    // name); in a batch: in which run, with whom, and the runs it was in.
    const pinned = outcome.pinned;
    const subject = options.redact(subjectFor(meta));
    const paragraphs = [...(pinned ? [pinnedLandingText(outcome.revision, pinned)] : []), ...(outcome.batch ? [outcome.batch] : [])];
    const body = paragraphs.length
      ? options.redact(outcome.batch ? rejectionBody(paragraphs[0]!, undefined, outcome.buildUrl, paragraphs[1]) : paragraphs[0]!)
      : undefined;
    const date = (options.now ?? (() => new Date()))().toISOString();
    return editProposalFile(file, (doc) => {
      const posted = body === undefined || doc.comments().some((c) => c.subject === subject && c.body === body);
      if (!posted && body !== undefined) doc.addComment({ author: options.author, subject, body, date });
      const a = doc.set('status', 'Merged');
      const b = doc.set('merged_revision', outcome.revision);
      return !posted || a || b;
    });
  }
  if (outcome.kind === 'rejected') {
    const subject = options.redact(subjectFor(meta));
    const body = options.redact(rejectionBody(outcome.rejection.reason, outcome.rejection.details, outcome.buildUrl, outcome.batch));
    const date = (options.now ?? (() => new Date()))().toISOString();
    return editProposalFile(file, (doc) => {
      const last = doc.comments().at(-1);
      const duplicate = last !== undefined && last.subject === subject && last.body === body;
      if (!duplicate) doc.addComment({ author: options.author, subject, body, date });
      const changed = doc.set('status', 'Needs review');
      return !duplicate || changed;
    });
  }
  return false;
}
