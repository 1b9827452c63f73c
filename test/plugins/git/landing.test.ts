/**
 * The git plugin against real repositories: what lands, with which author and message,
 * and every way git's state says no.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteNeeds, missingCommands } from '../../support/components.js';
import { ALICE, BOB, advanceTarget, branchWith, commitFiles, gitIn, makeRepos, snapshot, type Repos } from '../../support/git-repos.js';
import { COMMITTER, gitRuns, messageFor, proposalFor, rejectionOf } from './helpers.js';
import { indexState } from '../../../plugins/git/merge.js';

describe('git plugin: landing', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  const { newRun, cleanup } = gitRuns();
  before(async () => {
    repos = await makeRepos();
  });
  after(async () => {
    await cleanup();
    repos.remove();
  });

  test('a clean merge lands the approved revision with its author, the message and Merged from', async () => {
    const approved = await branchWith(repos, 'feature', { 'b.txt': 'new file\n' }, 'Add b.txt');
    const proposal = proposalFor(repos, 'feature', approved, { commitMessage: 'Add b.txt\n\nLonger description.' });
    const r = await newRun();
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.sourceRevision, approved);
    assert.equal(checkout.targetRevision, repos.base);
    assert.equal(readFileSync(join(checkout.dir, 'README'), 'utf8'), 'hello\n');

    const merged = await r.merge(proposal, checkout);
    assert.notEqual(merged.alreadyLanded, true);
    const parents = (await gitIn(checkout.dir, ['show', '--no-patch', '--format=%P', merged.revision])).split(' ');
    assert.deepEqual(parents, [repos.base, approved], 'a --no-ff merge of the target tip and the approved revision');
    assert.equal(await gitIn(checkout.dir, ['show', '--no-patch', '--format=%an <%ae>', merged.revision]), `${ALICE.name} <${ALICE.email}>`);
    assert.equal(await gitIn(checkout.dir, ['show', '--no-patch', '--format=%cn <%ce>', merged.revision]), `${COMMITTER.name} <${COMMITTER.email}>`);
    assert.equal(
      await gitIn(checkout.dir, ['show', '--no-patch', '--format=%B', merged.revision]),
      'Add b.txt\n\nLonger description.\n\nMerged from https://forge.example.invalid/proposals/1',
    );
    assert.equal(readFileSync(join(checkout.dir, 'b.txt'), 'utf8'), 'new file\n');

    const pushed = await r.push(proposal, checkout, merged.revision);
    assert.equal(pushed.revision, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), merged.revision);

    // Pushing the same revision again (a rerun) succeeds and changes nothing.
    const again = await r.push(proposal, checkout, merged.revision);
    assert.equal(again.revision, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), merged.revision);

    // A rerun after a crash between push and report finds the landing instead of rejecting.
    const rerun = await newRun();
    const checkout2 = await rerun.fetch(proposal);
    const found = await rerun.merge(proposal, checkout2);
    assert.deepEqual(found, { revision: merged.revision, alreadyLanded: true });
  });

  test('a message with shell and comment characters is committed verbatim', async () => {
    const approved = await branchWith(repos, 'quoting', { 'q.txt': 'q\n' }, 'quoting');
    const text = "Fix `rm -rf $HOME`; echo $(id) 'quoted' \"double\"\n# not a comment\n--no-verify";
    const proposal = proposalFor(repos, 'quoting', approved, { commitMessage: text });
    const r = await newRun();
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    assert.equal(
      await gitIn(checkout.dir, ['show', '--no-patch', '--format=%B', merged.revision]),
      `${text}\n\nMerged from https://forge.example.invalid/proposals/1`,
    );
  });

  test('no approved revision (byoci test) merges the source tip', async () => {
    const tip = await branchWith(repos, 'untested', { 'u.txt': 'u\n' }, 'u');
    const r = await newRun();
    const proposal = proposalFor(repos, 'untested', undefined);
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.sourceRevision, tip);
  });

  test('a commit pushed to the source after approval is not landed', async () => {
    const approved = await branchWith(repos, 'moved', { 'm.txt': 'approved\n' }, 'approved change');
    const tip = await commitFiles(repos.source, { 'm.txt': 'sneaky\n' }, 'after approval', ALICE);
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, 'moved', approved)));
    assert.equal(rejection.code, 'changes-after-approval');
    assert.match(rejection.reason, new RegExp(`source is at ${tip}, the approved revision is ${approved}`));
  });

  test('an abbreviated approved revision is refused, even when a later commit matches it', async () => {
    const approved = await branchWith(repos, 'short-id', { 'short.txt': 'reviewed\n' }, 'reviewed change');
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, 'short-id', approved.slice(0, 7))));
    assert.equal(rejection.code, 'approved-revision-abbreviated');
    assert.match(rejection.reason, new RegExp(`"${approved.slice(0, 7)}" is not a full commit id`));
  });

  test('an approved revision that is not on the source branch is rejected', async () => {
    await branchWith(repos, 'elsewhere', { 'e.txt': 'e\n' }, 'e');
    const stray = await branchWith(repos, 'stray', { 's.txt': 's\n' }, 'stray');
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, 'elsewhere', stray)));
    assert.equal(rejection.code, 'approved-revision-missing');
    assert.match(rejection.reason, /not on the source branch elsewhere/);
  });

  test('a source branch that does not exist is rejected as unavailable', async () => {
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, 'no-such-branch', repos.base)));
    assert.equal(rejection.code, 'source-unavailable');
    assert.match(rejection.reason, /no-such-branch could not be fetched/);
  });

  test('nothing to merge: the target already contains the approved revision', async () => {
    const r = await newRun();
    await gitIn(repos.source, ['checkout', '--quiet', '-B', 'stale', repos.base]);
    const proposal = proposalFor(repos, 'stale', repos.base);
    const checkout = await r.fetch(proposal);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'nothing-to-merge');
    assert.match(rejection.reason, new RegExp(`main already contains the approved revision ${repos.base}`));
  });

  test('nothing to merge: the same change already landed by another route (empty merge)', async () => {
    const main = await gitIn(repos.target, ['rev-parse', 'refs/heads/main']);
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    await gitIn(repos.source, ['checkout', '--quiet', '-B', 'dup', repos.base]);
    const landedContent = await gitIn(repos.source, ['show', `${main}:b.txt`]);
    const approved = await commitFiles(repos.source, { 'b.txt': `${landedContent}\n` }, 'same change again', ALICE);
    const r = await newRun();
    const proposal = proposalFor(repos, 'dup', approved);
    const checkout = await r.fetch(proposal);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'nothing-to-merge');
  });

  test('a conflict is rejected naming the conflicting files', async () => {
    await advanceTarget(repos, { 'a.txt': 'one\nTWO (target)\nthree\n' }, 'target edits a.txt');
    const approved = await branchWith(repos, 'conflicting', { 'a.txt': 'one\ntwo (source)\nthree\n', 'c.txt': 'fine\n' }, 'source edits a.txt');
    // branchWith starts from the source's origin/main, which predates the target's edit.
    const r = await newRun();
    const proposal = proposalFor(repos, 'conflicting', approved);
    const checkout = await r.fetch(proposal);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'merge-conflict');
    assert.match(rejection.reason, /into main\. Conflicts in: a\.txt\./);
  });

  test('a push after the target moved is rejected as not a fast-forward', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'racing', { 'r.txt': 'r\n' }, 'racing');
    const r = await newRun();
    const proposal = proposalFor(repos, 'racing', approved);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    const moved = await advanceTarget(repos, { 'other.txt': 'landed meanwhile\n' }, 'someone else landed');
    const rejection = await rejectionOf(r.push(proposal, checkout, merged.revision));
    assert.equal(rejection.code, 'push-rejected');
    assert.match(rejection.reason, /The push to main was rejected as not a fast-forward/);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), moved, 'the target was not overwritten');
  });

  test('pushing a merge the target already contains (landed, then built upon) succeeds without rewriting', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'contained', { 'k.txt': 'k\n' }, 'contained');
    const r = await newRun();
    const proposal = proposalFor(repos, 'contained', approved);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const later = await advanceTarget(repos, { 'later.txt': 'later\n' }, 'landed after it');
    const again = await r.push(proposal, checkout, merged.revision);
    assert.equal(again.revision, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), later, 'the newer target tip stays');
  });

  test('fetch and merge never write to the source or target repositories', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'readonly', { 'ro.txt': 'ro\n' }, 'ro');
    await gitIn(repos.source, ['checkout', '--quiet', '--detach']);
    const before = { source: snapshot(repos.source), target: snapshot(repos.target) };
    const r = await newRun();
    const proposal = proposalFor(repos, 'readonly', approved);
    const checkout = await r.fetch(proposal);
    await r.merge(proposal, checkout, messageFor(proposal));
    assert.deepEqual(snapshot(repos.source), before.source);
    assert.deepEqual(snapshot(repos.target), before.target);
  });

  test('proposals of other VCSes are left to other plugins', async () => {
    const r = await newRun();
    const proposal = proposalFor(repos, 'feature', undefined);
    const bzr = { ...proposal, source: { ...proposal.source, vcs: 'bzr' as const }, target: { ...proposal.target, vcs: 'bzr' as const } };
    const result = await r.harness.hooks.fetch.promise({ proposal: bzr, workspace: r.workspace, signal: r.harness.run.signal });
    assert.equal(result, undefined);
  });

  test('the slave user identity never lands: committer comes from the payload', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'ident', { 'i.txt': 'i\n' }, 'ident', BOB);
    const r = await newRun();
    const proposal = proposalFor(repos, 'ident', approved);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    const idents = await gitIn(checkout.dir, ['show', '--no-patch', '--format=%an|%cn|%ce', merged.revision]);
    assert.equal(idents, `${BOB.name}|${COMMITTER.name}|${COMMITTER.email}`);
  });
});

test('indexState reads git diff --cached --name-status -z: unmerged paths, and renames with their two paths', () => {
  const out = ['U', 'a.txt', 'A', 'new file', 'R100', 'old.txt', 'renamed.txt', 'M', 'b\nc'].join('\0') + '\0';
  assert.deepEqual(indexState(out), { conflicts: ['a.txt'], staged: ['a.txt', 'new file', 'renamed.txt', 'b\nc'] });
  assert.deepEqual(indexState(''), { conflicts: [], staged: [] });
});
