/**
 * Real Breezy (bzr) branches for tests: a treeless trunk (like a Launchpad branch), source
 * branches with commits by chosen authors, and a way for "someone else" to land on trunk.
 * brz runs with a private HOME under the temp dir, never the user's breezy config.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../core/process.js';
import { ALICE, BOB, type Person } from './git-repos.js';

export { ALICE, BOB, type Person };

export interface Branches {
  root: string;
  /** Treeless branch, the landing target. */
  trunk: string;
  /** Revision id of the first commit on trunk. */
  base: string;
  remove(): void;
}

/** Private HOME of the test's own brz commands (never the user's breezy config), removed at exit. */
const TEST_HOME = join(tmpdir(), `byoci-bzr-test-home-${process.pid}`);
process.once('exit', () => rmSync(TEST_HOME, { recursive: true, force: true }));

/** Runs brz in `cwd` as `who`; throws with brz's stderr when it fails. */
export async function brzIn(cwd: string, args: string[], who: Person = BOB, home = TEST_HOME): Promise<string> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const result = await run(['brz', ...args], { cwd, env: { HOME: home, LANG: 'C.UTF-8', BRZ_EMAIL: `${who.name} <${who.email}>` } });
  return result.stdout.trim();
}

/** The tip revision id of the branch at `dir`. */
export async function tipOf(dir: string): Promise<string> {
  return (await brzIn(dir, ['revision-info', '--directory=.'])).split(' ')[1]!;
}

/** Writes `files` into the tree at `dir`, adds and commits them; returns the new revision id. */
export async function commitFiles(dir: string, files: Record<string, string>, message: string, who: Person = BOB, extra: string[] = []): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await brzIn(dir, ['add', '--quiet'], who);
  await brzIn(dir, ['commit', '--quiet', '-m', message, ...extra], who);
  return tipOf(dir);
}

export async function makeBranches(): Promise<Branches> {
  const root = mkdtempSync(join(tmpdir(), 'byoci-bzr-'));
  const seed = join(root, 'seed');
  await brzIn(root, ['init', '--quiet', seed]);
  const base = await commitFiles(seed, { README: 'hello\n', 'a.txt': 'one\ntwo\nthree\n' }, 'Initial commit');
  const trunk = join(root, 'trunk');
  await brzIn(root, ['branch', '--quiet', '--no-tree', seed, trunk]);
  rmSync(seed, { recursive: true, force: true });
  return { root, trunk, base, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A new source branch `name` (a directory beside trunk) from trunk's tip, or from `from`
 * (a revision id on trunk), with one commit of `files`. Returns the branch path and revision.
 */
export async function branchWith(
  b: Branches,
  name: string,
  files: Record<string, string>,
  message: string,
  options: { who?: Person; from?: string; extra?: string[] } = {},
): Promise<{ path: string; revid: string }> {
  const path = join(b.root, name);
  const rev = options.from ? [`--revision=revid:${options.from}`] : [];
  await brzIn(b.root, ['branch', '--quiet', ...rev, '--', b.trunk, path]);
  const revid = await commitFiles(path, files, message, options.who ?? ALICE, options.extra);
  return { path, revid };
}

/** Someone else lands `files` on trunk; returns trunk's new tip. */
export async function advanceTrunk(b: Branches, files: Record<string, string>, message: string): Promise<string> {
  const work = mkdtempSync(join(b.root, 'advance-'));
  try {
    await brzIn(work, ['branch', '--quiet', '--', b.trunk, 'w']);
    const revid = await commitFiles(join(work, 'w'), files, message, BOB);
    await brzIn(join(work, 'w'), ['push', '--quiet', '--directory=.', '--', b.trunk]);
    return revid;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The stored metadata of `revid` in the branch at `dir`, from `brz log --long`. */
export async function logOf(dir: string, revid: string): Promise<string> {
  return brzIn(dir, ['log', '--long', '--show-ids', `--revision=revid:${revid}`, '--', '.']);
}

/** The fields of `revid` a user reads in `brz log --long`: author(s), committer, parents, message. */
export async function revisionOf(dir: string, revid: string): Promise<{ author: string; committer: string; parents: string[]; message: string }> {
  const lines = (await logOf(dir, revid)).split('\n');
  const at = lines.indexOf('message:');
  const header = lines.slice(0, at);
  const field = (name: string) => header.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
  const committer = field('committer') ?? '';
  return {
    committer,
    author: field('author') ?? committer,
    parents: header.filter((l) => l.startsWith('parent: ')).map((l) => l.slice(8)),
    message: messageLines(lines.slice(at + 1)).join('\n').trimEnd(),
  };
}

/** The indented message lines of a log record (brz may print a note after them). */
function messageLines(lines: string[]): string[] {
  const end = lines.findIndex((l) => l.length > 0 && !l.startsWith('  '));
  return (end < 0 ? lines : lines.slice(0, end)).map((l) => l.slice(2));
}
