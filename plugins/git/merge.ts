/**
 * merge: `git merge --no-ff --no-commit` of the approved revision into the detached target
 * tip, then git's state decides (never its messages): unmerged paths → conflict, no
 * MERGE_HEAD or an empty index diff → nothing to merge. The commit carries the author of
 * the approved revision, the landing identity as committer and the message core composed.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkout, MergeResult, Proposal } from '../../hooks/index.js';
import { Rejection } from '../../core/index.js';
import { git, lastLine, resolveCommit, splitZ, type Identity } from './git.js';

export interface MergeOptions {
  proposal: Proposal;
  checkout: Checkout;
  message: string;
  committer: Identity;
  signal?: AbortSignal;
}

/** Author of a commit, exactly as recorded (name and email). */
export async function authorOf(dir: string, revision: string, signal?: AbortSignal): Promise<Identity> {
  const out = await git({ cwd: dir, signal }).raw(['show', '--no-patch', '--format=%an%x00%ae', revision, '--']);
  const [name = '', email = ''] = out.replace(/\n$/, '').split('\0');
  return { name, email };
}

export async function mergeProposal(options: MergeOptions): Promise<MergeResult> {
  const { checkout, proposal, committer } = options;
  const dir = checkout.dir;
  const approved = checkout.sourceRevision;
  const target = proposal.target.branch;
  const g = git({ cwd: dir, committer, author: committer, signal: options.signal });

  let failure: unknown;
  try {
    await g.raw(['merge', '--quiet', '--no-ff', '--no-commit', '--no-edit', approved]);
  } catch (error) {
    failure = error;
  }

  const conflicts = splitZ(await g.raw(['diff', '--name-only', '-z', '--diff-filter=U']));
  if (conflicts.length > 0) {
    await abortMerge(dir, options.signal);
    throw new Rejection('merge-conflict', { target, files: conflicts.join(', '), approved });
  }
  const mergeHead = await resolveCommit(g, 'MERGE_HEAD');
  if (!mergeHead) {
    if (failure) throw new Error(`git merge of ${approved} into ${target} failed: ${lastLine(failure)}`);
    const landed = await findLanding(dir, approved, proposal.url, options.signal);
    if (landed) return { revision: landed, alreadyLanded: true };
    throw new Rejection('nothing-to-merge', { target, approved });
  }
  if (failure) {
    await abortMerge(dir, options.signal);
    throw new Error(`git merge of ${approved} into ${target} failed: ${lastLine(failure)}`);
  }
  const staged = splitZ(await g.raw(['diff', '--cached', '--name-only', '-z']));
  if (staged.length === 0) {
    await abortMerge(dir, options.signal);
    throw new Rejection('nothing-to-merge', { target, approved });
  }

  const author = await authorOf(dir, approved, options.signal);
  const gitDir = (await g.raw(['rev-parse', '--absolute-git-dir'])).trim();
  const messageFile = join(gitDir, 'BYOCI_MERGE_MSG');
  await writeFile(messageFile, options.message.endsWith('\n') ? options.message : `${options.message}\n`);
  try {
    await git({ cwd: dir, committer, author, signal: options.signal }).raw([
      'commit', '--quiet', '--no-verify', '--cleanup=whitespace', '--file', messageFile,
    ]);
  } finally {
    await rm(messageFile, { force: true });
  }
  const revision = await resolveCommit(g, 'HEAD');
  if (!revision) throw new Error('HEAD does not resolve after the merge commit');
  return { revision };
}

/** How far back along the target's first-parent line a previous landing is looked for. */
const LANDING_LOOKBACK = 200;

/**
 * The merge commit by which this proposal already landed on the target (a rerun after a
 * crash between push and report): a merge on the target's first-parent line whose merged
 * parent is the approved revision and whose message says `Merged from <proposal url>`.
 */
export async function findLanding(dir: string, approved: string, url: string, signal?: AbortSignal): Promise<string | undefined> {
  const g = git({ cwd: dir, signal });
  const lines = (await g.raw(['rev-list', '--first-parent', '--merges', '--parents', `--max-count=${LANDING_LOOKBACK}`, 'HEAD', '--'])).split('\n');
  for (const line of lines) {
    const [commit, , ...merged] = line.trim().split(' ');
    if (!commit || !merged.includes(approved)) continue;
    const body = await g.raw(['show', '--no-patch', '--format=%B', commit, '--']);
    if (body.split('\n').some((l) => l.trim() === `Merged from ${url}`)) return commit;
  }
  return undefined;
}

async function abortMerge(dir: string, signal?: AbortSignal): Promise<void> {
  try {
    await git({ cwd: dir, signal }).raw(['merge', '--abort']);
  } catch {
    // The workspace is thrown away anyway; the rejection is what matters.
  }
}
