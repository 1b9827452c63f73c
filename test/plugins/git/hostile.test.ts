/**
 * Branch names, URLs and revisions come from proposers: whatever they contain, nothing
 * is ever executed. Valid-but-nasty names land like any other; invalid ones are refused
 * with a rejection that says why.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { suiteNeeds, missingCommands } from '../../support/components.js';
import { branchWith, gitIn, makeRepos, type Repos } from '../../support/git-repos.js';
import { gitRuns, proposalFor, rejectionOf } from './helpers.js';

describe('git plugin: hostile names', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  const { newRun, cleanup } = gitRuns();
  const marker = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
  before(async () => {
    repos = await makeRepos();
  });
  after(async () => {
    await cleanup();
    repos.remove();
    rmSync(marker, { force: true });
  });

  test('a valid branch name holding $(...) lands and executes nothing', async () => {
    // Valid for git (no spaces): a shell would run `touch /tmp/pwned-...`.
    const branch = `$(touch\${IFS}${marker})`;
    const approved = await branchWith(repos, branch, { 'x.txt': 'x\n' }, 'x');
    const r = await newRun();
    const proposal = proposalFor(repos, branch, approved);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), merged.revision);
    assert.equal(existsSync(marker), false, `${marker} must not exist`);
  });

  test('a target branch named $(id) is pushed to literally', async () => {
    await gitIn(repos.target, ['branch', '$(id)', 'main']);
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'to-id', { 'id.txt': 'id\n' }, 'id');
    const r = await newRun();
    const base = proposalFor(repos, 'to-id', approved);
    const proposal = { ...base, target: { ...base.target, branch: '$(id)' } };
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/$(id)']), merged.revision);
    const branches = (await gitIn(repos.target, ['for-each-ref', '--format=%(refname)', 'refs/heads/'])).split('\n');
    assert.ok(!branches.some((b) => b.includes('uid=')), 'no branch named after the output of id');
  });

  test('`x;touch /tmp/pwned-…` is not a branch name: rejected, nothing runs', async () => {
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, `x;touch ${marker}`, repos.base)));
    assert.equal(rejection.code, 'source-unavailable');
    assert.match(rejection.reason, /is not a valid git branch name/);
    assert.equal(existsSync(marker), false);
  });

  test('an option-looking branch name is refused before git sees it', async () => {
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, `--upload-pack=touch ${marker}`, repos.base)));
    assert.equal(rejection.code, 'source-unavailable');
    assert.match(rejection.reason, /starts with "-"/);
    assert.equal(existsSync(marker), false);
  });

  test('option-looking and ext:: source URLs are refused', async () => {
    const r = await newRun();
    for (const url of [`--upload-pack=touch ${marker}`, `ext::sh -c touch% ${marker}`]) {
      const base = proposalFor(repos, 'main', repos.base);
      const rejection = await rejectionOf(r.fetch({ ...base, source: { ...base.source, url } }));
      assert.equal(rejection.code, 'source-unavailable');
    }
    assert.equal(existsSync(marker), false);
  });

  test('an approved revision that is not a commit id is rejected, not passed to git', async () => {
    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(repos, 'main', '--output=/tmp/x')));
    assert.equal(rejection.code, 'approved-revision-missing');
  });

  test('an invalid target branch is an operator error naming the field', async () => {
    const r = await newRun();
    const base = proposalFor(repos, 'main', repos.base);
    await assert.rejects(
      r.fetch({ ...base, target: { ...base.target, branch: 'bad..name' } }),
      /target branch name "bad\.\.name" is not a valid git branch name/,
    );
  });
});
