/**
 * The bzr plugin against real Breezy branches: what lands on trunk, with which authors and
 * message, and every way brz's state says no.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { ALICE, BOB, advanceTrunk, branchWith, brzIn, commitFiles, makeBranches, revisionOf, tipOf, type Branches } from '../../support/bzr-branches.js';
import { snapshot } from '../../support/git-repos.js';
import { COMMITTER, URL, bzrRuns, messageFor, proposalFor, rejectionOf } from './helpers.js';

describe('bzr plugin: landing', suiteNeeds('brz', missingCommands('brz')), () => {
  let b: Branches;
  const { newRun, cleanup } = bzrRuns();
  before(async () => {
    b = await makeBranches();
  });
  after(async () => {
    await cleanup();
    b.remove();
  });

  test('a clean merge lands the approved revision with its author, the message and Merged from; re-push and rerun are idempotent', async () => {
    const feature = await branchWith(b, 'feature', { 'b.txt': 'new file\n' }, 'Add b.txt');
    const proposal = proposalFor(b, feature.path, feature.revid, { commitMessage: 'Add b.txt\n\nLonger description.' });
    const r = await newRun();
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.sourceRevision, feature.revid);
    assert.equal(checkout.targetRevision, b.base);
    assert.equal(readFileSync(join(checkout.dir, 'README'), 'utf8'), 'hello\n');

    const merged = await r.merge(proposal, checkout);
    assert.notEqual(merged.alreadyLanded, true);
    const rev = await revisionOf(checkout.dir, merged.revision);
    assert.deepEqual(rev.parents, [b.base, feature.revid], 'a merge of the trunk tip and the approved revision');
    assert.equal(rev.author, `${ALICE.name} <${ALICE.email}>`);
    assert.equal(rev.committer, `${COMMITTER.name} <${COMMITTER.email}>`);
    assert.equal(rev.message, `Add b.txt\n\nLonger description.\n\nMerged from ${URL}`);
    assert.equal(readFileSync(join(checkout.dir, 'b.txt'), 'utf8'), 'new file\n');

    const pushed = await r.push(proposal, checkout, merged.revision);
    assert.equal(pushed.revision, merged.revision);
    assert.equal(await tipOf(b.trunk), merged.revision);

    // Pushing the same revision again (a rerun) succeeds and changes nothing.
    const again = await r.push(proposal, checkout, merged.revision);
    assert.equal(again.revision, merged.revision);
    assert.equal(await tipOf(b.trunk), merged.revision);

    // A rerun after a crash between push and report finds the landing instead of rejecting.
    const rerun = await newRun();
    const checkout2 = await rerun.fetch(proposal);
    assert.deepEqual(await rerun.merge(proposal, checkout2), { revision: merged.revision, alreadyLanded: true });
  });

  test('several authors on the approved revision are all kept', async () => {
    const extra = ['--author=Carol, the Second <carol@example.invalid>', '--author=Dan <dan@example.invalid>'];
    const multi = await branchWith(b, 'multi', { 'm.txt': 'm\n' }, 'two authors', { extra });
    const proposal = proposalFor(b, multi.path, multi.revid);
    const r = await newRun();
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    assert.equal((await revisionOf(checkout.dir, merged.revision)).author, 'Carol, the Second <carol@example.invalid>, Dan <dan@example.invalid>');
  });

  test('no approved revision (byoci test) merges the source tip', async () => {
    const untested = await branchWith(b, 'untested', { 'u.txt': 'u\n' }, 'u');
    const r = await newRun();
    const checkout = await r.fetch(proposalFor(b, untested.path, undefined));
    assert.equal(checkout.sourceRevision, untested.revid);
  });

  test('a commit pushed to the source after approval is not landed', async () => {
    const moved = await branchWith(b, 'moved', { 'm.txt': 'approved\n' }, 'approved change');
    const tip = await commitFiles(moved.path, { 'm.txt': 'sneaky\n' }, 'after approval', ALICE);
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(b, moved.path, moved.revid)));
    assert.equal(rejection.code, 'changes-after-approval');
    assert.equal(
      rejection.reason,
      `Unapproved changes were made after approval: the source is at ${tip}, the approved revision is ${moved.revid}. Review and approve again.`,
    );
  });

  test('an approved revision that is not in the source branch is rejected', async () => {
    const elsewhere = await branchWith(b, 'elsewhere', { 'e.txt': 'e\n' }, 'e');
    const stray = await branchWith(b, 'stray', { 's.txt': 's\n' }, 'stray');
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(b, elsewhere.path, stray.revid)));
    assert.equal(rejection.code, 'approved-revision-missing');
    assert.equal(rejection.reason, `The approved revision ${stray.revid} is not on the source branch ${elsewhere.path}.`);
  });

  test('a source branch that does not exist is rejected as unavailable', async () => {
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(b, join(b.root, 'no-such-branch'), b.base)));
    assert.equal(rejection.code, 'source-unavailable');
    assert.match(rejection.reason, /no-such-branch could not be fetched: .*Not a branch/);
  });

  test('nothing to merge: trunk already contains the approved revision', async () => {
    const stale = join(b.root, 'stale');
    await brzIn(b.root, ['branch', '--quiet', `--revision=revid:${b.base}`, '--', b.trunk, stale]);
    const r = await newRun();
    const proposal = proposalFor(b, stale, b.base);
    const checkout = await r.fetch(proposal);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'nothing-to-merge');
    assert.equal(rejection.reason, `There is nothing to merge: ${b.trunk} already contains the approved revision ${b.base}.`);
  });

  test('nothing to merge: the same change already landed by another route (empty merge)', async () => {
    // Both edit README identically (a file added on both sides would be a conflict in bzr).
    const landed = await advanceTrunk(b, { README: 'hello world\n' }, 'README landed directly');
    const dup = await branchWith(b, 'dup', { README: 'hello world\n' }, 'same change again', { from: b.base });
    const r = await newRun();
    const proposal = proposalFor(b, dup.path, dup.revid);
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.targetRevision, landed);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'nothing-to-merge');
  });

  test('a conflict is rejected naming the conflicting files', async () => {
    await advanceTrunk(b, { 'a.txt': 'one\nTWO (trunk)\nthree\n' }, 'trunk edits a.txt');
    const conflicting = await branchWith(b, 'conflicting', { 'a.txt': 'one\ntwo (source)\nthree\n', 'c.txt': 'fine\n' }, 'source edits a.txt', { from: b.base });
    const r = await newRun();
    const proposal = proposalFor(b, conflicting.path, conflicting.revid);
    const checkout = await r.fetch(proposal);
    const rejection = await rejectionOf(r.merge(proposal, checkout));
    assert.equal(rejection.code, 'merge-conflict');
    assert.equal(rejection.reason, `The proposal does not merge cleanly into ${b.trunk}. Conflicts in: a.txt.`);
  });

  test('a push after trunk moved (diverged) is rejected and trunk is not overwritten', async () => {
    const racing = await branchWith(b, 'racing', { 'r.txt': 'r\n' }, 'racing');
    const r = await newRun();
    const proposal = proposalFor(b, racing.path, racing.revid);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    const moved = await advanceTrunk(b, { 'other.txt': 'landed meanwhile\n' }, 'someone else landed');
    const rejection = await rejectionOf(r.push(proposal, checkout, merged.revision));
    assert.equal(rejection.code, 'push-rejected');
    assert.match(rejection.reason, /^The push to .*trunk was rejected as not a fast-forward/);
    assert.match(rejection.details ?? '', new RegExp(`now at ${moved}; the tested merge is ${merged.revision}`));
    assert.equal(await tipOf(b.trunk), moved, 'trunk was not overwritten');
  });

  test('pushing a merge trunk already contains (landed, then built upon) succeeds without rewriting', async () => {
    const contained = await branchWith(b, 'contained', { 'k.txt': 'k\n' }, 'contained');
    const r = await newRun();
    const proposal = proposalFor(b, contained.path, contained.revid);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    const later = await advanceTrunk(b, { 'later.txt': 'later\n' }, 'landed after it');
    const again = await r.push(proposal, checkout, merged.revision);
    assert.equal(again.revision, merged.revision);
    assert.equal(await tipOf(b.trunk), later, 'the newer trunk tip stays');
  });

  test('fetch and merge never write to the source or target branches', async () => {
    const readonly = await branchWith(b, 'readonly', { 'ro.txt': 'ro\n' }, 'ro');
    const before = { source: snapshot(readonly.path), target: snapshot(b.trunk) };
    const r = await newRun();
    const proposal = proposalFor(b, readonly.path, readonly.revid);
    const checkout = await r.fetch(proposal);
    await r.merge(proposal, checkout, messageFor(proposal));
    assert.deepEqual(snapshot(readonly.path), before.source);
    assert.deepEqual(snapshot(b.trunk), before.target);
  });

  test('the committer comes from the payload; the slave identity never lands', async () => {
    const ident = await branchWith(b, 'ident', { 'i.txt': 'i\n' }, 'ident', { who: BOB });
    const r = await newRun();
    const proposal = proposalFor(b, ident.path, ident.revid);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    const rev = await revisionOf(checkout.dir, merged.revision);
    assert.equal(rev.author, `${BOB.name} <${BOB.email}>`);
    assert.equal(rev.committer, `${COMMITTER.name} <${COMMITTER.email}>`);
  });

  test('proposals of other VCSes are left to other plugins', async () => {
    const r = await newRun();
    const proposal = proposalFor(b, b.trunk, undefined);
    const git = { ...proposal, source: { ...proposal.source, vcs: 'git' as const, branch: 'main' }, target: { ...proposal.target, vcs: 'git' as const, branch: 'main' } };
    const signal = r.harness.run.signal;
    assert.equal(await r.harness.hooks.fetch.promise({ proposal: git, workspace: r.workspace, signal }), undefined);
    const checkout = { dir: r.workspace, targetRevision: 'x', sourceRevision: 'y' };
    assert.equal(await r.harness.hooks.merge.promise({ proposal: git, checkout, message: 'm', committer: COMMITTER, signal }), undefined);
    assert.equal(await r.harness.hooks.push.promise({ proposal: git, checkout, merge: { revision: 'z' }, signal }), undefined);
  });
});
