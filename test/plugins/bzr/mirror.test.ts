/**
 * The bzr mirror (a shared repository per target): landings branch from it; the tip that
 * lands is the one this landing pulled from the source; a broken mirror is pulled again;
 * two landings at once share it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bzrPlugin from '../../../plugins/bzr/index.js';
import { bzrMirrorPath, targetMirrorBranch } from '../../../plugins/bzr/mirror.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { branchWith, brzIn, commitFiles, makeBranches, tipOf, type Branches } from '../../support/bzr-branches.js';
import { tempDir } from '../../support/git-repos.js';
import { vcsRun, type VcsRun } from '../../support/vcs-run.js';
import { proposalFor, rejectionOf } from './helpers.js';

// brz starts slowly (about 0.5 to 1 s a command): the tests run at once, each with a cache
// (so a mirror) of its own over the shared, never modified trunk; the two-landings test
// shares one mirror between its two runs on purpose.
describe('bzr plugin: the mirror', { ...suiteNeeds('brz', missingCommands('brz')), concurrency: true }, () => {
  let b: Branches;
  const caches: { dir: string; remove(): void }[] = [];
  const runs: VcsRun[] = [];
  /** A cache directory of one test. */
  const newCache = () => {
    const c = tempDir('byoci-bzr-cache-');
    caches.push(c);
    return c.dir;
  };
  const newRun = async (cache: string) => {
    const r = await vcsRun(bzrPlugin, {}, {}, { cacheDir: cache });
    runs.push(r);
    return r;
  };
  const mirror = (cache: string) => bzrMirrorPath(join(cache, 'bzr'), b.trunk);
  before(async () => {
    b = await makeBranches();
  });
  after(async () => {
    for (const r of runs) await r.cleanup();
    b.remove();
    for (const c of caches) c.remove();
  });

  test('the checkout is a standalone branch from the shared repository, naming the target, not the mirror', async () => {
    const cache = newCache();
    const feature = await branchWith(b, 'feature', { 'f.txt': 'f\n' }, 'Feature');
    const r = await newRun(cache);
    const checkout = await r.fetch(proposalFor(b, feature.path, feature.revid));
    assert.equal(checkout.sourceRevision, feature.revid);
    assert.equal(await tipOf(targetMirrorBranch(mirror(cache), b.trunk)), b.base);
    // Only the target's revisions go into the shared repository (bzr revision ids are names).
    assert.deepEqual(readdirSync(mirror(cache)).filter((n) => !n.startsWith('.') && n !== 'byoci-clean'), [targetMirrorBranch(mirror(cache), b.trunk).split('/').pop()]);
    assert.ok(existsSync(join(checkout.dir, '.bzr', 'repository')), 'a standalone branch: its own repository');
    assert.ok(!readFileSync(join(checkout.dir, '.bzr', 'branch', 'branch.conf'), 'utf8').includes(cache));
    const merged = await r.merge(proposalFor(b, feature.path, feature.revid), checkout);
    assert.ok(merged.revision);
    assert.equal(readFileSync(join(checkout.dir, 'f.txt'), 'utf8'), 'f\n');
  });

  test('after an overwriting push to the source, the old tip is refused; so is another branch\'s revision', async () => {
    const cache = newCache();
    const first = await branchWith(b, 'rewritten', { 'r.txt': 'old\n' }, 'Old');
    await (await newRun(cache)).fetch(proposalFor(b, first.path, first.revid));
    await brzIn(first.path, ['uncommit', '--force', '--quiet']);
    const second = await commitFiles(first.path, { 'r.txt': 'new\n' }, 'New');
    assert.equal((await (await newRun(cache)).fetch(proposalFor(b, first.path, second))).sourceRevision, second);
    assert.equal((await rejectionOf((await newRun(cache)).fetch(proposalFor(b, first.path, first.revid)))).code, 'approved-revision-missing');
    // Nor does a revision of another branch in the mirror count for this one.
    const mine = await branchWith(b, 'mine', { 'x.txt': 'x\n' }, 'Mine');
    assert.equal((await rejectionOf((await newRun(cache)).fetch(proposalFor(b, mine.path, second)))).code, 'approved-revision-missing');
  });

  test('a deleted source branch is unavailable after a landing from it', async () => {
    const cache = newCache();
    const doomed = await branchWith(b, 'doomed', { 'd.txt': 'd\n' }, 'Doomed');
    await (await newRun(cache)).fetch(proposalFor(b, doomed.path, doomed.revid));
    rmSync(doomed.path, { recursive: true, force: true });
    assert.equal((await rejectionOf((await newRun(cache)).fetch(proposalFor(b, doomed.path, doomed.revid)))).code, 'source-unavailable');
  });

  test('a corrupted mirror (its repository lost) is pulled again and the landing goes on', async () => {
    const cache = newCache();
    const sturdy = await branchWith(b, 'sturdy', { 's.txt': 's\n' }, 'Sturdy');
    await (await newRun(cache)).fetch(proposalFor(b, sturdy.path, sturdy.revid));
    const repo = join(mirror(cache), '.bzr', 'repository');
    for (const dir of ['packs', 'indices']) for (const f of readdirSync(join(repo, dir))) rmSync(join(repo, dir, f));
    const r = await newRun(cache);
    const checkout = await r.fetch(proposalFor(b, sturdy.path, sturdy.revid));
    assert.equal(checkout.sourceRevision, sturdy.revid);
    assert.ok(r.harness.lines.some((l) => /bzr mirror: broken: fetching it again/.test(l)), r.harness.lines.join('\n'));
    assert.equal(readFileSync(join(checkout.dir, 'README'), 'utf8'), 'hello\n');
  });

  test('two landings at once share the mirror', async () => {
    const cache = newCache();
    const x = await branchWith(b, 'para-x', { 'px.txt': 'x\n' }, 'X');
    const y = await branchWith(b, 'para-y', { 'py.txt': 'y\n' }, 'Y');
    const [rx, ry] = await Promise.all([newRun(cache), newRun(cache)]);
    const [cx, cy] = await Promise.all([rx.fetch(proposalFor(b, x.path, x.revid)), ry.fetch(proposalFor(b, y.path, y.revid))]);
    assert.deepEqual([cx.sourceRevision, cy.sourceRevision], [x.revid, y.revid]);
    await Promise.all([rx.merge(proposalFor(b, x.path, x.revid), cx), ry.merge(proposalFor(b, y.path, y.revid), cy)]);
    assert.ok(existsSync(join(cx.dir, 'px.txt')) && !existsSync(join(cx.dir, 'py.txt')));
    assert.ok(existsSync(join(cy.dir, 'py.txt')) && !existsSync(join(cy.dir, 'px.txt')));
  });
});
