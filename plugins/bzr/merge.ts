/**
 * merge: `brz merge -r revid:<approved> <source>` into the fresh target tree, then brz's
 * state decides, never its messages: the approved revision already in the target's
 * ancestry → nothing to merge (or a landing already made by an earlier run); `brz conflicts`
 * listing anything → conflict; `brz diff` exiting 0 (no change at all) → nothing to merge.
 * The commit carries the authors of the approved revision, the landing identity as
 * committer (BRZ_EMAIL) and the message core composed.
 */
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Checkout, MergeResult, Proposal } from '../../hooks/index.js';
import { Rejection } from '../../core/index.js';
import { brz, brzOk, inAncestry, lastLine, tipOf, type BrzEnv, type Identity } from './brz.js';
import { checkLocation, displayUrl } from './names.js';
import { readRevision } from './revision.js';

export interface MergeOptions {
  proposal: Proposal;
  checkout: Checkout;
  message: string;
  committer: Identity;
  env: BrzEnv;
}

export async function mergeProposal(options: MergeOptions): Promise<MergeResult> {
  const { checkout, proposal, committer, env } = options;
  const dir = checkout.dir;
  const approved = checkout.sourceRevision;
  const target = displayUrl(proposal.target.url);
  const sourceUrl = checkLocation('source', proposal.source.url);

  if (approved === 'null:' || (await inAncestry(env, dir, '.', approved))) {
    const landed = approved === 'null:' ? undefined : await findLanding(env, dir, approved, proposal.url);
    if (landed) return { revision: landed, alreadyLanded: true };
    throw new Rejection('nothing-to-merge', { target, approved });
  }

  const merged = await brz(env, dir, ['merge', `--revision=revid:${approved}`, '--', sourceUrl]);
  const conflicts = await listConflicts(env, dir);
  if (conflicts.length > 0) {
    await revert(env, dir);
    throw new Rejection('merge-conflict', { target, files: conflicts.join(', '), approved });
  }
  if (merged.exitCode !== 0) {
    await revert(env, dir);
    throw new Error(`brz merge of ${approved} into ${target} failed: ${lastLine(merged)}`);
  }
  // `brz diff` exits 0 when the tree has no change at all: the merge brought nothing new.
  const diff = await brz(env, dir, ['diff', '--', '.']);
  if (diff.exitCode === 0) {
    await revert(env, dir);
    throw new Rejection('nothing-to-merge', { target, approved });
  }
  if (diff.exitCode !== 1) throw new Error(`brz diff after the merge failed: ${lastLine(diff)}`);

  const { authors } = await readRevision(env, dir, approved);
  const messageFile = join(dirname(dir), 'byoci-merge-message');
  await writeFile(messageFile, options.message.endsWith('\n') ? options.message : `${options.message}\n`);
  try {
    await brzOk(
      env,
      dir,
      ['commit', '--quiet', `--file=${messageFile}`, ...authors.map((a) => `--author=${a}`)],
      `brz commit of the merge into ${target}`,
      committer,
    );
  } finally {
    await rm(messageFile, { force: true });
  }
  return { revision: await tipOf(env, dir, '.') };
}

/** What `brz conflicts` lists: the path of each conflict (the whole line when it names none). */
export async function listConflicts(env: BrzEnv, dir: string): Promise<string[]> {
  const out = await brzOk(env, dir, ['conflicts', '--directory=.'], 'brz conflicts');
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => /^[A-Z][\w ]* conflict in (.+)$/.exec(line)?.[1] ?? line);
}

async function revert(env: BrzEnv, dir: string): Promise<void> {
  // The workspace is thrown away anyway; the rejection is what matters.
  await brz(env, dir, ['revert', '--quiet', '--no-backup']).catch(() => undefined);
}

/** How many mainline revisions of the target are searched for a previous landing. */
const LANDING_LOOKBACK = 200;

/**
 * The merge revision by which this proposal already landed on the target (a rerun after
 * a crash between push and report): a mainline revision of the target whose merged
 * parents include the approved revision and whose message says `Merged from <url>`.
 */
export async function findLanding(env: BrzEnv, dir: string, approved: string, url: string): Promise<string | undefined> {
  const out = await brzOk(
    env,
    dir,
    ['log', '--long', '--show-ids', '--levels=1', `--limit=${LANDING_LOOKBACK}`, '--', '.'],
    'brz log of the target',
  );
  for (const record of parseLog(out)) {
    if (!record.parents.slice(1).includes(approved)) continue;
    if (record.message.some((l) => l.trim() === `Merged from ${url}`)) return record.revid;
  }
  return undefined;
}

interface LogRecord {
  revid: string;
  parents: string[];
  message: string[];
}

/**
 * Records of `brz log --long --show-ids --levels=1`. Header lines start at column 0 and
 * message lines are indented by two spaces, so a message cannot forge a header.
 */
export function parseLog(output: string): LogRecord[] {
  const records: LogRecord[] = [];
  let current: LogRecord | undefined;
  let inMessage = false;
  for (const line of output.split('\n')) {
    if (/^-{20,}$/.test(line)) {
      current = { revid: '', parents: [], message: [] };
      records.push(current);
      inMessage = false;
      continue;
    }
    if (!current) continue;
    if (inMessage) {
      if (line.startsWith('  ')) current.message.push(line.slice(2));
      else if (line.length === 0) current.message.push('');
      else inMessage = false;
      if (inMessage) continue;
    }
    if (line === 'message:') inMessage = true;
    else if (line.startsWith('revision-id: ')) current.revid = line.slice(13);
    else if (line.startsWith('parent: ')) current.parents.push(line.slice(8));
  }
  return records.filter((r) => r.revid.length > 0);
}
