/**
 * merge: `git merge --no-ff --no-commit` of the approved revision into the detached target
 * tip, then git's state decides (never its messages): unmerged paths → conflict, no
 * MERGE_HEAD or an empty index diff → nothing to merge. The commit carries the author of
 * the approved revision, the landing identity as committer and the message core composed.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkout, MergeResult, Proposal } from '../../hooks/index.js';
import { Rejection } from '../../core/index.js';
import { git, lastLine, resolveCommit, splitZ, type GitRunner, type Identity } from './git.js';

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
  // The approved revision's author is read (`git show`, read-only) while git merges; no
  // process of it outlives the hook, whatever the merge comes to.
  const author = authorOf(options.checkout.dir, options.checkout.sourceRevision, options.signal);
  const settled = author.catch(() => undefined); // a failure is the commit's to report (or nobody's)
  try {
    return await merge(options, author);
  } finally {
    await settled;
  }
}

async function merge(options: MergeOptions, authorOfApproved: Promise<Identity>): Promise<MergeResult> {
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

  // One look at the index: unmerged paths (status U) and what the merge staged.
  const { conflicts, staged } = indexState(await g.raw(['diff', '--cached', '--name-status', '-z']));
  if (conflicts.length > 0) {
    await abortMerge(dir, options.signal);
    throw new Rejection('merge-conflict', { target, files: conflicts.join(', '), approved });
  }
  const gitDir = await gitDirOf(dir, g);
  const mergeHead = await mergeHeadOf(gitDir, g);
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
  if (staged.length === 0) {
    await abortMerge(dir, options.signal);
    throw new Rejection('nothing-to-merge', { target, approved });
  }

  const author = await authorOfApproved;
  const messageFile = join(gitDir, 'BYOCI_MERGE_MSG');
  await writeFile(messageFile, options.message.endsWith('\n') ? options.message : `${options.message}\n`);
  try {
    // No auto maintenance (a `git maintenance run --auto` process) in a checkout thrown away after the landing.
    await git({ cwd: dir, committer, author, signal: options.signal }).raw([
      '-c', 'maintenance.auto=false', 'commit', '--quiet', '--no-verify', '--cleanup=whitespace', '--file', messageFile,
    ]);
  } finally {
    await rm(messageFile, { force: true });
  }
  const revision = await headOf(gitDir, g);
  if (!revision) throw new Error('HEAD does not resolve after the merge commit');
  return { revision };
}

/** Paths of `git diff --cached --name-status -z`: the unmerged ones (U) and all of them. */
export function indexState(output: string): { conflicts: string[]; staged: string[] } {
  const fields = splitZ(output);
  const conflicts: string[] = [];
  const staged: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const status = fields[i]!;
    // Renames and copies (R100, C75) carry two paths; -M is off, but read them right anyway.
    const paths = /^[RC]/.test(status) ? [fields[i + 1]!, fields[i + 2]!] : [fields[i + 1]!];
    i += paths.length;
    const path = paths[paths.length - 1]!;
    staged.push(path);
    if (status === 'U') conflicts.push(path);
  }
  return { conflicts, staged };
}

/** The checkout's git directory: `<dir>/.git` as fetch makes it, else what git says. */
async function gitDirOf(dir: string, g: GitRunner): Promise<string> {
  const plain = join(dir, '.git');
  if ((await stat(plain).catch(() => undefined))?.isDirectory()) return plain;
  return (await g.raw(['rev-parse', '--absolute-git-dir'])).trim();
}

/** The commit being merged, read from MERGE_HEAD as git wrote it (git answers when the file is unusual). */
async function mergeHeadOf(gitDir: string, g: GitRunner): Promise<string | undefined> {
  const text = await readFile(join(gitDir, 'MERGE_HEAD'), 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : undefined));
  if (text === '') return undefined;
  const oid = text === undefined ? undefined : /^([0-9a-f]{40}|[0-9a-f]{64})\n?$/.exec(text)?.[1];
  return oid ?? resolveCommit(g, 'MERGE_HEAD');
}

/** The detached HEAD's commit as git wrote it into HEAD (git answers for a symbolic or unusual HEAD). */
async function headOf(gitDir: string, g: GitRunner): Promise<string | undefined> {
  const text = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '');
  return /^([0-9a-f]{40}|[0-9a-f]{64})\n?$/.exec(text)?.[1] ?? resolveCommit(g, 'HEAD');
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
