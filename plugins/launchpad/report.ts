/**
 * What the bot says on a proposal: a `Merged` status with the landed revision, or a
 * comment `Re: [Merge] <source> into <target>` with the reason (+ BUILD_URL and the
 * redacted tail of the failing output) and the status back to `Needs review` at the
 * reviewed revision. Idempotent: every step first reads what Launchpad already shows.
 */
import type { Logger } from '../../core/index.js';
import type { LaunchpadClient, LpEntry } from './client.js';
import type { LaunchpadMeta } from './discover.js';

export interface ReporterOptions {
  log: Logger;
  /** Masks secrets in text the bot posts. */
  redact: (text: string) => string;
  /** Characters of output quoted at most. */
  commentTail: number;
}

export interface CommentText {
  subject: string;
  /** First paragraph; what identifies the comment when a rerun looks for it. */
  reason: string;
  buildUrl?: string;
  /** Extra text (test output tail, conflict list...), quoted and size-limited. */
  details?: string;
}

/** Keeps the last `max` characters, cut at a line start, saying how much was dropped. */
export function tail(text: string, max: number): string {
  const trimmed = text.replace(/\s+$/, '');
  if (trimmed.length <= max) return trimmed;
  const start = trimmed.length - max;
  let cut = trimmed.slice(start);
  // Drop the partial first line, unless the cut fell exactly on a line start.
  const nl = cut.indexOf('\n');
  if (trimmed[start - 1] !== '\n' && nl >= 0 && nl < cut.length - 1) cut = cut.slice(nl + 1);
  return `[… ${trimmed.length - cut.length} earlier characters omitted …]\n${cut}`;
}

export function commentBody(c: CommentText, options: Pick<ReporterOptions, 'redact' | 'commentTail'>): string {
  const parts = [c.reason.trim()];
  if (c.buildUrl) parts.push(`Build: ${c.buildUrl}`);
  // Redact the whole text before cutting it: a cut must never leave half a secret behind.
  const details = c.details ? options.redact(c.details) : '';
  if (details.trim() && options.commentTail > 0) {
    parts.push(`Last lines of the output:\n\n${tail(details, options.commentTail).replace(/^/gm, '    ')}`);
  }
  return options.redact(parts.join('\n\n'));
}

function firstParagraph(text: string): string {
  return text.trim().split(/\n\s*\n/)[0]!.trim();
}

export class Reporter {
  #me: Promise<string | undefined> | undefined;

  constructor(
    readonly client: LaunchpadClient,
    readonly options: ReporterOptions,
  ) {}

  /** Link of the landing user (the token's owner), to recognise our own comments. */
  me(): Promise<string | undefined> {
    this.#me ??= this.client
      .get<LpEntry>('')
      .then((root) => (typeof root.me_link === 'string' ? this.client.get<LpEntry>(root.me_link) : undefined))
      .then((me) => me?.self_link)
      .catch(() => undefined);
    return this.#me;
  }

  /** Posts the comment unless this bot already posted it since the last approval. */
  async ensureComment(meta: LaunchpadMeta, mp: LpEntry, c: CommentText): Promise<boolean> {
    const content = commentBody(c, this.options);
    const reason = firstParagraph(content);
    const since = typeof mp.date_reviewed === 'string' ? Date.parse(mp.date_reviewed) : undefined;
    const me = await this.me();
    const link = typeof mp.all_comments_collection_link === 'string' ? mp.all_comments_collection_link : undefined;
    if (link) {
      for await (const existing of this.client.collection(link)) {
        if (existing.title !== c.subject) continue;
        if (me && existing.author_link !== me) continue;
        if (since !== undefined && typeof existing.date_created === 'string' && Date.parse(existing.date_created) < since) continue;
        if (typeof existing.content === 'string' && firstParagraph(existing.content) === reason) {
          this.options.log.info('comment already posted, not posting it again', { proposal: meta.selfLink });
          return false;
        }
      }
    }
    await this.client.post(meta.selfLink, 'createComment', { subject: c.subject, content });
    this.options.log.info('comment posted', { proposal: meta.selfLink });
    return true;
  }

  /** Sets the status unless Launchpad already shows it; never touches a final status. */
  async ensureStatus(meta: LaunchpadMeta, mp: LpEntry, status: 'Merged' | 'Needs review', revid: string | undefined): Promise<boolean> {
    const current = String(mp.queue_status);
    if (current === status) {
      this.options.log.info('status already set', { proposal: meta.selfLink, status });
      return false;
    }
    if (current === 'Merged' || current === 'Superseded' || current === 'Rejected') {
      this.options.log.warn('proposal changed meanwhile, status left alone', { proposal: meta.selfLink, current, wanted: status });
      return false;
    }
    await this.client.post(meta.selfLink, 'setStatus', { status, revid });
    this.options.log.info('status set', { proposal: meta.selfLink, status, revid });
    return true;
  }

  async landed(meta: LaunchpadMeta, revision: string): Promise<void> {
    const mp = await this.client.get<LpEntry>(meta.selfLink);
    await this.ensureStatus(meta, mp, 'Merged', revision);
  }

  /**
   * A rejection: the comment, then `Needs review` at the reviewed revision, except for
   * rejections that promise a retry (`retry`: the push raced with another landing), which
   * keep the proposal approved so that the next run tries again.
   */
  async rejected(meta: LaunchpadMeta, c: Omit<CommentText, 'subject'>, options: { retry?: boolean } = {}): Promise<void> {
    const mp = await this.client.get<LpEntry>(meta.selfLink);
    if (mp.queue_status !== 'Approved' && mp.queue_status !== 'Queued') {
      this.options.log.info('proposal is no longer approved, nothing to report', { proposal: meta.selfLink, status: String(mp.queue_status) });
      return;
    }
    await this.ensureComment(meta, mp, { ...c, subject: meta.subject });
    if (options.retry) return;
    const revid = typeof mp.reviewed_revid === 'string' ? mp.reviewed_revid : meta.reviewedRevid ?? undefined;
    await this.ensureStatus(meta, mp, 'Needs review', revid);
  }

  /** An internal error: say so without internals; the status stays (not the proposal's fault). */
  async error(meta: LaunchpadMeta, buildUrl: string | undefined): Promise<void> {
    const mp = await this.client.get<LpEntry>(meta.selfLink);
    if (mp.queue_status !== 'Approved') return;
    await this.ensureComment(meta, mp, {
      subject: meta.subject,
      reason:
        'An internal error stopped the landing bot before it could decide on this proposal. ' +
        'This is not a problem with the proposal: the operators have the details in the build log, ' +
        'and the bot will try again on its next run.',
      buildUrl,
    });
  }
}
