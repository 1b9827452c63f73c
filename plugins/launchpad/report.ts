/**
 * What the bot says on a proposal: a `Merged` status with the landed revision, or a
 * comment with the reason (+ BUILD_URL and the redacted tail of the failing output) and
 * the status back to `Needs review`. Idempotent: every step first reads what Launchpad
 * already shows. Comments are sent without a subject, so Launchpad gives them its own
 * mail subject (`Re: [Merge] <source> into <target>`, with its names) and mail threads
 * stay together.
 */
import { pinnedLandingText, type Logger } from '../../core/index.js';
import type { PinnedContent } from '../../hooks/index.js';
import { LaunchpadApiError, MAYBE_APPLIED, type LaunchpadClient, type LpEntry } from './client.js';
import { commentSchema, entrySchema, mergeProposalSchema, rootSchema } from './answers.js';
import type { LaunchpadMeta } from './discover.js';

export interface ReporterOptions {
  log: Logger;
  /** Masks secrets in text the bot posts. */
  redact: (text: string) => string;
  /** Characters of output quoted at most. */
  commentTail: number;
  /** Further tries of a createComment whose answer was lost and that Launchpad does not show (default 3). */
  retries?: number;
  /** Wait before looking again, ms; doubles on each try (default 1000). */
  retryDelayMs?: number;
}

export interface CommentText {
  /** First paragraph; what identifies the comment when a rerun looks for it. */
  reason: string;
  /** A batched proposal: which runs it was in, and why it was judged the culprit (second paragraph). */
  batch?: string;
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
  if (c.batch && c.batch.trim()) parts.push(c.batch.trim());
  if (c.buildUrl) parts.push(`Build: ${c.buildUrl}`);
  // Redact the whole text before cutting it: a cut must never leave half a secret behind.
  const details = c.details ? options.redact(c.details) : '';
  if (details.trim() && options.commentTail > 0) {
    parts.push(`Last lines of the output:\n\n${tail(details, options.commentTail).replace(/^/gm, '    ')}`);
  }
  return options.redact(parts.join('\n\n'));
}

/** The landing comment of a bzr proposal (see core's pinnedLandingText). */
export function landedText(revision: string, pinned: PinnedContent): CommentText {
  return { reason: pinnedLandingText(revision, pinned) };
}

/** A write whose answer was lost: a front end's 502/503/504, a timeout or a reset connection. */
function maybeApplied(error: unknown): boolean {
  return error instanceof LaunchpadApiError && (error.status === undefined || MAYBE_APPLIED.has(error.status));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

  /** Link of the landing user (the token's owner): the author of our own comments. */
  me(): Promise<string> {
    this.#me ??= this.client
      .get('', undefined, rootSchema)
      .then((root) => (typeof root.me_link === 'string' ? this.client.get(root.me_link, undefined, entrySchema) : undefined))
      .then((me) => {
        if (typeof me?.self_link !== 'string') throw new Error('Launchpad does not say who the landing user is (no me_link): cannot tell our comments apart');
        return me.self_link;
      });
    this.#me.catch(() => (this.#me = undefined));
    return this.#me as Promise<string>;
  }

  /**
   * Whether the landing user already posted this reason since the last approval. Launchpad
   * does not export a comment's subject (`title` is its own "Comment on proposed merge of
   * …"), so a comment is ours by its author and its first paragraph.
   */
  async posted(mp: LpEntry, content: string): Promise<boolean> {
    const reason = firstParagraph(content);
    const since = typeof mp.date_reviewed === 'string' ? Date.parse(mp.date_reviewed) : undefined;
    const me = await this.me();
    const link = typeof mp.all_comments_collection_link === 'string' ? mp.all_comments_collection_link : undefined;
    if (!link) return false;
    for await (const existing of this.client.collection(link, undefined, commentSchema)) {
      if (existing.author_link !== me) continue;
      if (since !== undefined && typeof existing.date_created === 'string' && Date.parse(existing.date_created) < since) continue;
      if (typeof existing.content === 'string' && firstParagraph(existing.content) === reason) return true;
    }
    return false;
  }

  /** Posts the comment unless this bot already posted it since the last approval. */
  async ensureComment(meta: LaunchpadMeta, mp: LpEntry, c: CommentText): Promise<boolean> {
    const content = commentBody(c, this.options);
    if (await this.posted(mp, content)) {
      this.options.log.info('comment already posted, not posting it again', { proposal: meta.selfLink });
      return false;
    }
    const retries = this.options.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        // No subject: Launchpad then uses "Re: " + its own title of the proposal, the subject of its mail.
        await this.client.post(meta.selfLink, 'createComment', { content });
        break;
      } catch (error) {
        if (!maybeApplied(error) || attempt >= retries) throw error;
        // The answer was lost; Launchpad may have posted it. Look before trying again.
        this.options.log.warn('createComment answer lost, looking before posting again', {
          proposal: meta.selfLink,
          status: (error as LaunchpadApiError).status,
          attempt: attempt + 1,
        });
        await sleep((this.options.retryDelayMs ?? 1000) * 2 ** attempt);
        if (await this.posted(mp, content)) {
          this.options.log.info('comment posted (the lost answer had been applied)', { proposal: meta.selfLink });
          return true;
        }
      }
    }
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
    // Setting a status twice is setting it once (Launchpad accepts a transition to the same state).
    await this.client.post(meta.selfLink, 'setStatus', { status, revid }, { idempotent: true });
    this.options.log.info('status set', { proposal: meta.selfLink, status, revid });
    return true;
  }

  /**
   * A landing: `Merged` with the landed revision. A bzr landing first gets a comment with
   * the content it pinned (the reviewed revid and its strict testament sha1): Launchpad
   * keeps no digest of the reviewed content, so the comment is where a reviewer can check
   * it. A landing made in a batch gets one too, saying in which run, with whom, and the runs
   * it was in (the second paragraph when both). Comment before status: a crash between them
   * leaves the proposal approved, and the rerun finds the comment (by author and first
   * paragraph) and only sets the status.
   */
  async landed(meta: LaunchpadMeta, revision: string, options: { pinned?: PinnedContent; batch?: string; buildUrl?: string } = {}): Promise<void> {
    const mp = await this.client.get(meta.selfLink, undefined, mergeProposalSchema);
    if ((options.pinned || options.batch) && (mp.queue_status === 'Approved' || mp.queue_status === 'Queued')) {
      const text: CommentText = options.pinned
        ? { ...landedText(revision, options.pinned), ...(options.batch ? { batch: options.batch } : {}) }
        : { reason: options.batch! };
      await this.ensureComment(meta, mp, { ...text, ...(options.buildUrl ? { buildUrl: options.buildUrl } : {}) });
    }
    await this.ensureStatus(meta, mp, 'Merged', revision);
  }

  /** A rejection: the comment, then `Needs review` at the reviewed revision. */
  async rejected(meta: LaunchpadMeta, c: CommentText): Promise<void> {
    const mp = await this.client.get(meta.selfLink, undefined, mergeProposalSchema);
    if (mp.queue_status !== 'Approved' && mp.queue_status !== 'Queued') {
      this.options.log.info('proposal is no longer approved, nothing to report', { proposal: meta.selfLink, status: String(mp.queue_status) });
      return;
    }
    await this.ensureComment(meta, mp, c);
    const revid = typeof mp.reviewed_revid === 'string' ? mp.reviewed_revid : meta.reviewedRevid ?? undefined;
    await this.ensureStatus(meta, mp, 'Needs review', revid);
  }

  /** An internal error: say so without internals; the status stays (not the proposal's fault). */
  async error(meta: LaunchpadMeta, buildUrl: string | undefined): Promise<void> {
    const mp = await this.client.get(meta.selfLink, undefined, mergeProposalSchema);
    if (mp.queue_status !== 'Approved') return;
    await this.ensureComment(meta, mp, {
      reason:
        'An internal error stopped the landing bot before it could decide on this proposal. ' +
        'This is not a problem with the proposal: the operators have the details in the build log, ' +
        'and the bot will try again on its next run.',
      buildUrl,
    });
  }
}
