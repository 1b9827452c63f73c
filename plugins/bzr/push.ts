/**
 * push: `brz push -r revid:<merge> -d <tree> <target>`, never `--overwrite`. When brz
 * refuses, the branches' ancestry says why (never brz's prose): the target already holds
 * the merge (a rerun, or landed then built upon) → success; the target has revisions the
 * merge does not contain (`brz missing --theirs-only` exits 1: it moved) → `push-rejected`.
 */
import type { Checkout, MergeResult, Proposal, PushResult } from '../../hooks/index.js';
import { Rejection } from '../../core/index.js';
import { BranchError, brz, inAncestry, lastLine, type BrzEnv } from './brz.js';
import { checkLocation, checkRevid, displayUrl } from './names.js';

export interface PushOptions {
  proposal: Proposal;
  checkout: Checkout;
  merge: MergeResult;
  env: BrzEnv;
  redact?: (text: string) => string;
}

export async function pushMerge(options: PushOptions): Promise<PushResult> {
  const { proposal, checkout, merge, env } = options;
  const redact = options.redact ?? ((s: string) => s);
  const dir = checkout.dir;
  const url = checkLocation('target', proposal.target.url);
  const target = displayUrl(url);
  const revision = checkRevid('merge revision', merge.revision);
  if (!(await inAncestry(env, dir, '.', revision))) throw new Error(`the merge revision ${revision} is not in ${dir}`);

  const pushed = await brz(env, dir, ['push', '--quiet', `--revision=revid:${revision}`, '--directory=.', '--', url]);
  if (pushed.exitCode === 0) return { revision };

  let contained: boolean;
  try {
    contained = await inAncestry(env, dir, url, revision);
  } catch (error) {
    if (!(error instanceof BranchError)) throw error;
    throw new Error(`brz push to ${target} failed: ${redact(lastLine(pushed))}; then ${redact(error.detail)}`);
  }
  if (contained) return { revision };
  // Exit 1: the target has revisions the tested merge does not contain.
  const theirs = await brz(env, dir, ['missing', '--theirs-only', '--line', '--directory=.', '--', url]);
  if (theirs.exitCode === 1) {
    const tip = await brz(env, dir, ['revision-info', `--directory=${url}`]);
    const now = tip.exitCode === 0 ? tip.stdout.trim().split(' ').slice(1).join(' ') : 'an unknown revision';
    throw new Rejection('push-rejected', { target }, `The target is now at ${now}; the tested merge is ${revision}.`);
  }
  throw new Error(`brz push to ${target} failed: ${redact(lastLine(pushed))}`);
}
