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
