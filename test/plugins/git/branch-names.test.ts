/**
 * The in-process branch-name check (refs.ts branchNameProblem) against real git: every name
 * of a corpus of hostile names and of seeded random ones gets the answer
 * `git check-ref-format --branch <name>` gives inside a repository (the check the plugin ran
 * as a git process before: accepted when git succeeds and prints the name back).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { branchNameProblem, checkBranch, RefError } from '../../../plugins/git/refs.js';
import { tempDir } from '../../support/git-repos.js';

const exec = promisify(execFile);

const HOSTILE = [
  'main', 'feature/x', 'a/b/c', 'fix-1.2', 'v1.0', 'a.b', 'a_b', 'ümlaut', 'emoji-🙂', 'x@y', 'a@b{c}', '@a', 'a@', '{a}', 'a}',
  '', '-x', '--upload-pack=touch /tmp/pwned', 'x;touch /tmp/pwned', '$(id)', '`id`', 'a b', 'a\tb', 'a\nb', 'a\rb', 'a\x7fb', 'a\x01',
  'bad..name', '..', '.', 'a.', 'a/.b', '.a', 'a/b.', 'a/', '/a', 'a//b', 'a/./b', 'a/../b', 'x.lock', 'a/x.lock/b', 'a.lock/b', '.lock',
  'a.lockx', 'lock', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a]b', 'a\\b', '@', '@{-1}', '@{u}', 'a@{1}', 'HEAD', 'head', 'HEAD/x', 'x/HEAD',
  'refs/heads/main', 'refs/pull/1/head', '\u00a0x', 'x\u00a0', 'a\u00a0b', '\u2028', 'x\u3000', '\ufeffx', 'a\u200bb', '\ud800', 'x\udc00y',
  '🙂/🙂', 'é.lock', 'a..b', 'a/..', 'a./b', 'a/b/', 'FETCH_HEAD', 'ORIG_HEAD', '@@', '@/x', 'x/@', 'a{b', 'a}b{', 'a.@{b',
];

/** Names made of the characters git's rules care about, from a seeded generator. */
function randomNames(count: number): string[] {
  const alphabet = ['a', 'b', 'k', '.', '/', '@', '{', '}', '-', '~', '^', ':', '?', '*', '[', '\\', ' ', '\t', '\x7f', 'é', '\u00a0', 'lock', '.lock', 'HEAD', '..', '🙂', '_'];
  let x = 0x2545f491;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8);
  return Array.from({ length: count }, () => Array.from({ length: 1 + (next() % 7) }, () => alphabet[next() % alphabet.length]!).join(''));
}

async function gitAccepts(cwd: string, name: string): Promise<boolean> {
  try {
    const { stdout } = await exec('git', ['check-ref-format', '--branch', name], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
    return stdout.trim() === name;
  } catch {
    return false;
  }
}

test('branch names: the in-process rules answer as git check-ref-format --branch does, on hostile and random names', { timeout: 120_000 }, async () => {
  const repo = tempDir();
  try {
    await exec('git', ['init', '-q', repo.dir]);
    const names = [...new Set([...HOSTILE, ...randomNames(300)])];
    const disagree: string[] = [];
    let accepted = 0;
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(
        names.slice(i, i + 8).map(async (name) => {
          const ours = branchNameProblem(name) === undefined;
          const theirs = await gitAccepts(repo.dir, name);
          if (theirs) accepted += 1;
          if (ours !== theirs) disagree.push(`${JSON.stringify(name)}: git ${theirs ? 'accepts' : 'refuses'}, ours ${ours ? 'accepts' : `refuses (${branchNameProblem(name)})`}`);
        }),
      );
    }
    assert.deepEqual(disagree, []);
    // The corpus has both kinds in number (a rule refusing everything would fail above too).
    assert.ok(accepted >= 40 && names.length - accepted >= 200, `${accepted} of ${names.length} accepted`);
  } finally {
    repo.remove();
  }
});

test('a refused branch name is a RefError naming the field, the name and the rule', () => {
  assert.equal(checkBranch('source', 'feature/x'), 'feature/x');
  assert.throws(() => checkBranch('target', 'bad..name'), (e: unknown) => e instanceof RefError && e.message === 'target branch name "bad..name" is not a valid git branch name (contains "..")');
  assert.throws(() => checkBranch('source', 'x.lock'), /source branch name "x\.lock" is not a valid git branch name \(has a component ending with "\.lock"\)/);
  assert.throws(() => checkBranch('source', '-x'), /source branch name "-x" starts with "-"/);
  assert.throws(() => checkBranch('source', 'a\0b'), /contains control characters/);
  assert.throws(() => checkBranch('source', ''), /source branch name is empty/);
  assert.throws(() => checkBranch('target', 'HEAD'), /is not a valid git branch name \(is HEAD\)/);
});
