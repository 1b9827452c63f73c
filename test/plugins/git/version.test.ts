/** verify's `git --version`: asked once per git binary, remembered in the cache directory. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gitBinary, gitVersion, VERSION_CACHE } from '../../../plugins/git/version.js';
import { tempDir } from '../../support/git-repos.js';

/** A `git` on its own PATH that answers `version` and counts how often it ran. */
function fakeGit(dir: string, answer: string, exitCode = 0): { bin: string; runs: () => number } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const count = join(dir, 'count');
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho x >> '${count}'\necho '${answer}'\nexit ${exitCode}\n`);
  chmodSync(join(bin, 'git'), 0o755);
  return { bin, runs: () => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0) };
}

async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test('git --version runs once for a binary; a changed binary, another PATH or a lost cache asks again', async () => {
  const tmp = tempDir();
  try {
    const cache = join(tmp.dir, 'cache');
    mkdirSync(cache);
    const a = fakeGit(join(tmp.dir, 'a'), 'git version 9.8.7');
    const path = `${a.bin}:/usr/bin:/bin`;
    assert.equal(await withPath(path, () => gitVersion(cache)), 'git version 9.8.7');
    assert.equal(await withPath(path, () => gitVersion(cache)), 'git version 9.8.7');
    assert.equal(a.runs(), 1, 'the second verify took the answer from the cache');
    assert.ok(existsSync(join(cache, VERSION_CACHE)));

    // The binary changes (as an upgrade would: rewritten, new mtime): asked again.
    writeFileSync(join(a.bin, 'git'), `#!/bin/sh\necho x >> '${join(tmp.dir, 'a', 'count')}'\necho 'git version 9.8.8'\n`);
    utimesSync(join(a.bin, 'git'), new Date(), new Date(Date.now() + 5000));
    assert.equal(await withPath(path, () => gitVersion(cache)), 'git version 9.8.8');
    assert.equal(a.runs(), 2);

    // Another git earlier on PATH: its own answer.
    const b = fakeGit(join(tmp.dir, 'b'), 'git version 1.2.3');
    assert.equal(await withPath(`${b.bin}:${path}`, () => gitVersion(cache)), 'git version 1.2.3');
    assert.equal(b.runs(), 1);

    // A cache file that is not ours (or half written): ignored, git asked.
    writeFileSync(join(cache, VERSION_CACHE), '{"identity": ');
    assert.equal(await withPath(`${b.bin}:${path}`, () => gitVersion(cache)), 'git version 1.2.3');
    assert.equal(b.runs(), 2);
  } finally {
    tmp.remove();
  }
});

test('a git that fails or is missing is a problem every time, never remembered', async () => {
  const tmp = tempDir();
  try {
    const cache = join(tmp.dir, 'cache');
    mkdirSync(cache);
    const broken = fakeGit(join(tmp.dir, 'broken'), 'error while loading shared libraries', 127);
    assert.equal(await withPath(broken.bin, () => gitVersion(cache)), undefined);
    assert.equal(await withPath(broken.bin, () => gitVersion(cache)), undefined);
    assert.equal(broken.runs(), 2);
    assert.equal(existsSync(join(cache, VERSION_CACHE)), false);

    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    assert.equal(gitBinary(empty), undefined);
    assert.equal(await withPath(empty, () => gitVersion(cache)), undefined);
    // A missing cache directory (the first run of a work directory) is made.
    rmSync(cache, { recursive: true });
    const ok = fakeGit(join(tmp.dir, 'ok'), 'git version 9.8.7');
    assert.equal(await withPath(ok.bin, () => gitVersion(cache)), 'git version 9.8.7');
    assert.equal(await withPath(ok.bin, () => gitVersion(cache)), 'git version 9.8.7');
    assert.equal(ok.runs(), 1);
    assert.ok(existsSync(join(cache, VERSION_CACHE)));
  } finally {
    tmp.remove();
  }
});

test('the real git answers its version', async () => {
  const tmp = tempDir();
  try {
    const version = await gitVersion(tmp.dir);
    assert.match(version ?? '', /^git version \d+\.\d+/);
    assert.equal(await gitVersion(tmp.dir), version);
  } finally {
    tmp.remove();
  }
});
