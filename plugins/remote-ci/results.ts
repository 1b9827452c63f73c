/**
 * What a remote site says about one revision, in one vocabulary: every site's own words
 * (GitHub's `failure`, Jenkins' `UNSTABLE`, Launchpad's `Cancelled`) mapped to pending,
 * success or failure, with the remote's word kept for the comment.
 */
import type { HttpLimits } from './http.js';

export type RemoteState = 'pending' | 'success' | 'failure';

export interface RemoteResult {
  /** Status context, check run name, job name, report title. */
  name: string;
  state: RemoteState;
  /** The remote's own word for it (`failure`, `UNSTABLE`, `Failed`…). */
  result: string;
  /** Where a human sees it. */
  url?: string;
  /** More words for the comment, e.g. the failing tests of a Jenkins testReport. */
  detail?: string;
}

/** What reading a site needs besides the site's own config. */
export interface ReadContext {
  limits: HttpLimits;
}

/** The first link of a URL that belongs to `origin` (links taken from answers are checked). */
export function sameOrigin(url: string | null | undefined, base: string): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin === new URL(base).origin ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Jenkins queue item a link names (a buildWithParameters `Location`, a queue `url`), on
 * `root` (the configured Jenkins URL). Jenkins builds absolute links on its own configured
 * "Jenkins URL", which behind a proxy can name another host or scheme than the one we talk
 * to: the item is addressed by its id under `root`, so the credentials go nowhere else. A
 * link that names no queue item counts only on root's origin. Undefined otherwise.
 */
export function jenkinsQueueItem(link: string | null | undefined, root: string): string | undefined {
  const base = `${root.replace(/\/+$/, '')}/`;
  if (!link || !URL.canParse(link, base)) return undefined;
  const url = new URL(link, base);
  const id = /\/queue\/item\/(\d+)\/?$/.exec(url.pathname)?.[1];
  return id !== undefined ? `${base}queue/item/${id}/` : sameOrigin(url.toString(), base);
}
