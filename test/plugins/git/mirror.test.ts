/**
 * The git mirror: landings check out from a bare mirror in the cache directory, fetched
 * incrementally; what a mirror holds never stands in for what the source has now; a
 * broken mirror is found and fetched again; two landings at once share it safely.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { run } from '../../../core/process.js';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import gitPlugin from '../../../plugins/git/index.js';
import { mirrorHealthy, mirrorPath, sourceRefOf } from '../../../plugins/git/mirror.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { advanceTarget, branchWith, gitIn, makeRepos, tempDir, type Repos } from '../../support/git-repos.js';
import { vcsRun, type VcsRun } from '../../support/vcs-run.js';
import { proposalFor, rejectionOf } from './helpers.js';

describe('git plugin: the mirror', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  let cache: { dir: string; remove(): void };
  const runs: VcsRun[] = [];
  const newRun = async () => {
    const r = await vcsRun(gitPlugin, {}, {}, { cacheDir: cache.dir });
    runs.push(r);
    return r;
  };
  const mirror = () => mirrorPath(join(cache.dir, 'git'), repos.target);
  before(async () => {
    repos = await makeRepos();
    cache = tempDir('byoci-git-cache-');
  });
  after(async () => {
    for (const r of runs) await r.cleanup();
    repos.remove();
    cache.remove();
  });

  test('the checkout comes from the mirror: hardlinked, self-contained, naming no mirror; the next fetch is incremental', async () => {
    const approved = await branchWith(repos, 'first', { 'f.txt': 'first\n' }, 'First');
    const checkout = await (await newRun()).fetch(proposalFor(repos, 'first', approved));
    assert.equal(checkout.sourceRevision, approved);
    assert.equal(await gitIn(mirror(), ['rev-parse', 'refs/heads/main']), repos.base);
    assert.equal(await gitIn(mirror(), ['rev-parse', sourceRefOf(repos.source, 'first')]), approved);

    const git = join(checkout.dir, '.git');
    assert.equal(existsSync(join(git, 'objects', 'info', 'alternates')), false, 'no alternates: the copy a container gets is complete');
    assert.equal(await gitIn(checkout.dir, ['remote']), '', 'no remote naming the mirror');
    assert.ok(!readFileSync(join(git, 'config'), 'utf8').includes(cache.dir), 'the mirror path is not in the checkout config');
    const packs = readdirSync(join(git, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
    assert.ok(packs.length > 0 && packs.every((f) => statSync(join(git, 'objects', 'pack', f)).nlink >= 2), 'packs are hardlinks of the mirror');
    // A copy of the checkout (what a container gets: cp -a) is complete with the mirror gone.
    const copy = tempDir('byoci-git-copy-');
    const away = `${mirror()}.away`;
    try {
      await run(['cp', '-a', '--', `${checkout.dir}/.`, copy.dir]);
      renameSync(mirror(), away);
      await gitIn(copy.dir, ['fsck', '--no-progress', '--full', '--no-dangling']);
      assert.equal(await gitIn(copy.dir, ['rev-parse', 'refs/byoci/source']), approved);
    } finally {
      if (existsSync(away)) renameSync(away, mirror());
      copy.remove();
    }

    // Someone lands on main: the next fetch moves only that into the mirror.
    const landed = await advanceTarget(repos, { 'other.txt': 'x\n' }, 'Other landing');
    const packsBefore = readdirSync(join(mirror(), 'objects', 'pack')).length;
    const second = await (await newRun()).fetch(proposalFor(repos, 'first', approved));
    assert.equal(second.targetRevision, landed);
    assert.ok(readdirSync(join(mirror(), 'objects', 'pack')).length > packsBefore, 'a new (small) pack, not a new mirror');
  });

  test('after a force-push of the source branch: the new tip lands, the old one is refused although the mirror holds it', async () => {
    const old = await branchWith(repos, 'forced', { 'g.txt': 'old\n' }, 'Old version');
    assert.equal((await (await newRun()).fetch(proposalFor(repos, 'forced', old))).sourceRevision, old);
    const rewritten = await branchWith(repos, 'forced', { 'g.txt': 'new\n' }, 'Rewritten');
    await gitIn(repos.source, ['cat-file', '-e', old]);
    await gitIn(mirror(), ['cat-file', '-e', old]); // still in the mirror's objects
    const r = await newRun();
    assert.equal((await r.fetch(proposalFor(repos, 'forced', rewritten))).sourceRevision, rewritten);
    const rejection = await rejectionOf((await newRun()).fetch(proposalFor(repos, 'forced', old)));
    assert.equal(rejection.code, 'approved-revision-missing');
  });

  test('a deleted source branch is unavailable, whatever the mirror kept; its ref goes', async () => {
    const tip = await branchWith(repos, 'doomed', { 'd.txt': 'd\n' }, 'Doomed');
    await (await newRun()).fetch(proposalFor(repos, 'doomed', tip));
    await gitIn(repos.source, ['checkout', '--quiet', 'main']);
    await gitIn(repos.source, ['branch', '--quiet', '-D', 'doomed']);
    const rejection = await rejectionOf((await newRun()).fetch(proposalFor(repos, 'doomed', tip)));
    assert.equal(rejection.code, 'source-unavailable');
    assert.equal(await gitIn(mirror(), ['for-each-ref', sourceRefOf(repos.source, 'doomed')]), '');
  });

  test('an approved revision the mirror holds from another branch, absent from this source branch, is refused', async () => {
    const elsewhere = await branchWith(repos, 'elsewhere', { 'e.txt': 'e\n' }, 'Elsewhere');
    await (await newRun()).fetch(proposalFor(repos, 'elsewhere', elsewhere));
    const mine = await branchWith(repos, 'mine', { 'm.txt': 'm\n' }, 'Mine');
    const rejection = await rejectionOf((await newRun()).fetch(proposalFor(repos, 'mine', elsewhere)));
    assert.equal(rejection.code, 'approved-revision-missing');
    // The same from a source remote that never had it (another repository, same mirror).
    const fork = tempDir('byoci-git-fork-');
    try {
      await gitIn(fork.dir, ['clone', '--quiet', '--bare', repos.target, 'fork.git']);
      const forkUrl = join(fork.dir, 'fork.git');
      const proposal = proposalFor(repos, 'main', elsewhere);
      const fromFork = { ...proposal, source: { ...proposal.source, url: forkUrl } };
      assert.equal((await rejectionOf((await newRun()).fetch(fromFork))).code, 'approved-revision-missing');
    } finally {
      fork.remove();
    }
    assert.equal((await (await newRun()).fetch(proposalFor(repos, 'mine', mine))).sourceRevision, mine);
  });

  test('a corrupted mirror is detected and fetched again: lost objects, a garbage ref, an interrupted update', async () => {
    const tip = await branchWith(repos, 'sturdy', { 's.txt': 's\n' }, 'Sturdy');
    const land = async (repaired: RegExp | undefined) => {
      const r = await newRun();
      const checkout = await r.fetch(proposalFor(repos, 'sturdy', tip));
      const warnings = r.harness.lines.filter((l) => / WARN /.test(l) && /git mirror/.test(l));
      if (repaired) assert.ok(warnings.some((l) => repaired.test(l)), warnings.join('\n') || 'no warning');
      else assert.deepEqual(warnings, []);
      assert.equal(checkout.sourceRevision, tip);
      assert.equal(checkout.targetRevision, await gitIn(repos.target, ['rev-parse', 'main']));
      assert.equal(readFileSync(join(checkout.dir, 'README'), 'utf8'), 'hello\n');
      assert.ok(await mirrorHealthy(mirror()), 'the mirror is whole again');
    };
    await land(undefined);

    // Every object lost (a disk problem, a bad cleanup).
    for (const dir of ['pack', ...readdirSync(join(mirror(), 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d))]) {
      rmSync(join(mirror(), 'objects', dir), { recursive: true, force: true });
    }
    assert.equal(await mirrorHealthy(mirror()), false);
    await land(/broken: fetching it again/);

    // A ref file overwritten with garbage.
    await gitIn(mirror(), ['pack-refs', '--all', '--prune']).catch(() => undefined);
    writeFileSync(join(mirror(), 'refs', 'heads', 'main'), 'garbage\n');
    await land(/broken: fetching it again/);

    // kill -9 during an update: the marker is gone and git's lock files are left behind.
    rmSync(join(mirror(), 'byoci-clean'));
    writeFileSync(join(mirror(), 'refs', 'heads', 'main.lock'), '');
    writeFileSync(join(mirror(), 'packed-refs.lock'), '');
    await land(/removed lock files of an interrupted update/);
    assert.equal(existsSync(join(mirror(), 'refs', 'heads', 'main.lock')), false);
  });

  test('two landings at once on the same target share the mirror safely', async () => {
    const a = await branchWith(repos, 'para-a', { 'pa.txt': 'a\n' }, 'Parallel A');
    const b = await branchWith(repos, 'para-b', { 'pb.txt': 'b\n' }, 'Parallel B');
    await advanceTarget(repos, { 'moved.txt': 'm\n' }, 'Target moved');
    const main = await gitIn(repos.target, ['rev-parse', 'main']);
    const [ra, rb] = await Promise.all([newRun(), newRun()]);
    const [ca, cb] = await Promise.all([ra.fetch(proposalFor(repos, 'para-a', a)), rb.fetch(proposalFor(repos, 'para-b', b))]);
    assert.deepEqual([ca.sourceRevision, cb.sourceRevision], [a, b]);
    assert.deepEqual([ca.targetRevision, cb.targetRevision], [main, main]);
    const [ma, mb] = await Promise.all([ra.merge(proposalFor(repos, 'para-a', a), ca), rb.merge(proposalFor(repos, 'para-b', b), cb)]);
    assert.ok(existsSync(join(ca.dir, 'pa.txt')) && !existsSync(join(ca.dir, 'pb.txt')));
    assert.ok(existsSync(join(cb.dir, 'pb.txt')) && !existsSync(join(cb.dir, 'pa.txt')));
    assert.notEqual(ma.revision, mb.revision);
    assert.ok(await mirrorHealthy(mirror()));
  });

  test('the sweep removes the mirror of a target no longer configured once unused for mirrorMaxAge, never a configured one', async () => {
    const approved = await branchWith(repos, 'swept', { 's.txt': 's\n' }, 'Swept');
    const r = await newRun();
    await r.fetch(proposalFor(repos, 'swept', approved));
    const dir = mirror();
    assert.ok(existsSync(join(dir, 'byoci-clean')));
    const configured = [{ name: 'p', test: {} as never, targets: [{ forge: 'local', branch: { vcs: 'git' as const, url: repos.target, branch: 'main' } }] }] as never;
    const sweep = async (projects: unknown) => {
      const removed: string[] = [];
      await r.harness.hooks.sweep.promise({ runId: r.harness.run.id, workdir: r.harness.run.workdir, removed, projects: projects as never, signal: r.harness.run.signal });
      return removed;
    };
    // Unused for 20 days (its marker's mtime), but configured: kept.
    const old = Date.now() / 1000 - 20 * 86_400;
    utimesSync(join(dir, 'byoci-clean'), old, old);
    assert.deepEqual(await sweep(configured), []);
    // No longer configured, but used recently: kept.
    const recent = Date.now() / 1000 - 86_400;
    utimesSync(join(dir, 'byoci-clean'), recent, recent);
    assert.deepEqual(await sweep([]), []);
    // No longer configured and unused for 20 days (default mirrorMaxAge 14d): removed, its lock file too.
    utimesSync(join(dir, 'byoci-clean'), old, old);
    assert.deepEqual(await sweep([]), [`git: mirror ${dir}`]);
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(`${dir}.lock`), false);
    // The next landing makes it again.
    const again = await (await newRun()).fetch(proposalFor(repos, 'swept', approved));
    assert.equal(again.sourceRevision, approved);
    assert.ok(existsSync(join(dir, 'byoci-clean')));
  });

  test('plugins.git.mirror: false fetches afresh and keeps no mirror', async () => {
    const other = tempDir('byoci-git-nocache-');
    try {
      const r = await vcsRun(gitPlugin, { mirror: false }, {}, { cacheDir: other.dir });
      runs.push(r);
      const tip = await branchWith(repos, 'plain', { 'p.txt': 'p\n' }, 'Plain');
      assert.equal((await r.fetch(proposalFor(repos, 'plain', tip))).sourceRevision, tip);
      assert.equal(existsSync(join(other.dir, 'git')), false);
    } finally {
      other.remove();
    }
  });
});
