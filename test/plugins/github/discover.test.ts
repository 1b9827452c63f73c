/**
 * discover against a local GitHub over real repositories: which pull requests are
 * landable, and for the others the reason `byoci list` shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { gitIn } from '../../support/git-repos.js';
import { targetFor, type Harness } from '../../support/harness.js';
import { ConfigError } from '../../../core/index.js';
import type { GithubMeta } from '../../../plugins/github/discover.js';
import { REPO, discover, githubHarness, makeWorld, only, projectOf, type World } from './helpers.js';

describe('github plugin: discover', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let h: Harness;
  before(async () => {
    world = await makeWorld();
    h = await githubHarness(world);
  });
  after(async () => {
    h.cleanup();
    await world.close();
  });

  test('a PR labelled by a writer and approved at its head is ready, with the approved head as revision', async () => {
    const { number, head } = await world.openPull('ready', { 'r.txt': 'r\n' }, { title: 'Add r', body: 'Adds r.' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'dave', state: 'APPROVED' });
    const p = only(await discover(h, world), number);
    assert.deepEqual(p.readiness, { state: 'ready' });
    assert.equal(p.approvedRevision, head);
    assert.equal(p.forge, 'github');
    assert.equal(p.url, `https://github.example/${REPO}/pull/${number}`);
    assert.deepEqual(p.target, { vcs: 'git', url: world.repos.target, branch: 'main' });
    assert.deepEqual(p.source, { vcs: 'git', url: world.repos.target, branch: 'ready' });
    assert.equal(p.commitMessage, `Add r (#${number})\n\nAdds r.`);
    assert.deepEqual(p.votes, [{ reviewer: 'dave', vote: 'Approve', trusted: true, revision: head }]);
  });

  test('an approval of an older head is rejected, naming both commits', async () => {
    const { number, head: old } = await world.openPull('stale', { 's.txt': 's\n' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    world.gh.comment(REPO, number, 'carol', 'Looks good.\n@byoci land\n');
    const tip = await world.pushMore('stale', { 's.txt': 's2\n' });
    const p = only(await discover(h, world), number);
    assert.equal(p.readiness.state, 'rejected');
    assert.ok(p.readiness.state === 'rejected' && p.readiness.code === 'changes-after-approval');
    assert.match(p.readiness.state === 'rejected' ? p.readiness.reason : '', new RegExp(`source is at ${tip.slice(0, 12)}.*${old.slice(0, 12)} by carol`));
    assert.notEqual(p.approvedRevision, tip, 'never the unapproved head');
  });

  test('a command from a user without write permission is ignored, saying who and why', async () => {
    const { number } = await world.openPull('nonwriter', { 'n.txt': 'n\n' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    world.gh.comment(REPO, number, 'mallory', '@byoci land');
    world.gh.label(REPO, number, 'byoci:land', 'alice');
    const p = only(await discover(h, world), number);
    assert.equal(p.readiness.state, 'waiting');
    const reason = p.readiness.state === 'waiting' ? p.readiness.reason : '';
    assert.match(reason, /needs a user with write permission/);
    assert.match(reason, /command "@byoci land" by mallory \(permission triage\)/);
    assert.match(reason, /label "byoci:land" added by alice \(permission read\)/);
  });

  test('outstanding changes requested by a writer reject; a later approval by the same writer clears them', async () => {
    const { number } = await world.openPull('changes', { 'c.txt': 'c\n' });
    world.gh.label(REPO, number, 'byoci:land', 'dave');
    await world.gh.review(REPO, number, { user: 'dave', state: 'APPROVED' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'CHANGES_REQUESTED' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'COMMENTED' });
    let p = only(await discover(h, world), number);
    assert.equal(p.readiness.state, 'rejected');
    assert.ok(p.readiness.state === 'rejected');
    assert.equal(p.readiness.code, 'votes');
    assert.match(p.readiness.reason, /changes requested by carol/);
    assert.ok(p.votes.some((v) => v.reviewer === 'carol' && v.vote === 'Needs Fixing' && v.trusted));

    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    p = only(await discover(h, world), number);
    assert.deepEqual(p.readiness, { state: 'ready' });
  });

  test('changes requested by a non-writer do not block', async () => {
    const { number } = await world.openPull('drive-by', { 'd.txt': 'd\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    await world.gh.review(REPO, number, { user: 'mallory', state: 'CHANGES_REQUESTED' });
    const p = only(await discover(h, world), number);
    assert.deepEqual(p.readiness, { state: 'ready' });
    assert.ok(p.votes.some((v) => v.reviewer === 'mallory' && !v.trusted));
  });

  test('without a trigger a PR waits, and the reason says how to trigger it', async () => {
    const { number } = await world.openPull('untriggered', { 'u.txt': 'u\n' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    const p = only(await discover(h, world), number);
    assert.deepEqual(p.readiness, {
      state: 'waiting',
      reason: 'not triggered: add the label "byoci:land" or comment "@byoci land" (as a user with write permission)',
    });
  });

  test('triggered but approved only by non-writers is rejected as untrusted', async () => {
    const { number } = await world.openPull('untrusted', { 't.txt': 't\n' });
    world.gh.comment(REPO, number, 'carol', '@BYOCI LAND');
    await world.gh.review(REPO, number, { user: 'mallory', state: 'APPROVED' });
    const p = only(await discover(h, world), number);
    assert.ok(p.readiness.state === 'rejected');
    assert.equal(p.readiness.code, 'untrusted-approval');
    assert.match(p.readiness.reason, /acme\/widget:main: mallory/);
  });

  test('triggered without approvals waits for them; two approvals needed when configured per target', async () => {
    const { number } = await world.openPull('needs-two', { 'two.txt': '2\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    let p = only(await discover(h, world), number);
    assert.ok(p.readiness.state === 'waiting');
    assert.match(p.readiness.reason, /waiting for approvals: 0 of 1 from writers/);

    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    p = only(await discover(h, world, { rules: { approvals: 2 } }), number);
    assert.ok(p.readiness.state === 'waiting');
    assert.match(p.readiness.reason, /1 of 2/);
    await world.gh.review(REPO, number, { user: 'dave', state: 'APPROVED' });
    p = only(await discover(h, world, { rules: { approvals: 2 } }), number);
    assert.deepEqual(p.readiness, { state: 'ready' });
  });

  test('a dismissed approval does not count', async () => {
    const { number } = await world.openPull('dismissed', { 'x.txt': 'x\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'DISMISSED' });
    const p = only(await discover(h, world), number);
    assert.equal(p.readiness.state, 'waiting');
  });

  test('a draft waits', async () => {
    const { number } = await world.openPull('draft', { 'dr.txt': 'd\n' }, { draft: true });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    assert.deepEqual(only(await discover(h, world), number).readiness, { state: 'waiting', reason: 'the pull request is a draft' });
  });

  test('a ready PR whose fork was deleted is fetched from the base repository\'s refs/pull/N/head', async () => {
    const { number, head } = await world.openPull('orphan', { 'o.txt': 'o\n' }, { forkDeleted: true });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    const p = only(await discover(h, world), number);
    assert.deepEqual(p.readiness, { state: 'ready' });
    assert.deepEqual(p.source, { vcs: 'git', url: world.repos.target, branch: `refs/pull/${number}/head` });
    assert.equal(p.approvedRevision, head, 'still pinned to the approved head');
  });

  test('PRs on other base branches and targets of other forges are left alone', async () => {
    await gitIn(world.repos.source, ['push', '--quiet', 'origin', 'origin/main:refs/heads/release']);
    const { head } = await world.openPull('for-release', { 'rel.txt': 'r\n' });
    const number = world.gh.openPull(REPO, { head: 'for-release', base: 'release', user: 'alice', title: 'Backport' });
    const onMain = await discover(h, world);
    assert.ok(onMain.every((p) => p.target.branch === 'main'));
    assert.ok(!onMain.some((p) => p.title === 'Backport'));
    const onRelease = await discover(h, world, { branch: 'release' });
    assert.deepEqual(onRelease.map((p) => [p.id, p.target.branch, p.readiness.state]), [[`github:${REPO}#${number}`, 'release', 'waiting']]);
    assert.equal((onRelease[0]!.meta as GithubMeta).headSha, head);
    const project = projectOf(world);
    const other = await h.hooks.discover.promise([], { project, target: targetFor('launchpad', { url: 'lp:x' }, { url: 'lp:x' }), signal: h.run.signal });
    assert.deepEqual(other, []);
  });

  test('an invalid target names the field (core validates it with the forge schema at config load)', () => {
    assert.throws(
      () => projectOf(world, { repo: 'not-a-repo', branchh: 'x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.problems.map((p) => `${p.path}: ${p.message}`),
          ['projects.test.targets.0.repo: must be "owner/name", got "not-a-repo"', 'projects.test.targets.0.branchh: unknown option of a github target (did you mean branch?)'],
        );
        return true;
      },
    );
  });
});
