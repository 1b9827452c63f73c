/**
 * The slave's own git configuration never acts on an untrusted tree: a smudge/clean filter
 * and a hooks directory in the slave user's global config (~/.gitconfig) do nothing when a
 * proposal's tree asks for them (`* filter=x` in .gitattributes).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { suiteNeeds, missingCommands } from '../../support/components.js';
import { branchWith, gitIn, makeRepos, type Repos } from '../../support/git-repos.js';
import { gitRuns, proposalFor } from './helpers.js';

describe('git plugin: the slave user\'s git config', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  const { newRun, cleanup } = gitRuns();
  const home = mkdtempSync(join(tmpdir(), 'byoci-slave-home-'));
  const marker = join(home, 'filter-ran');
  const hookMarker = join(home, 'hook-ran');
  const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
  before(async () => {
    repos = await makeRepos();
    const hooks = join(home, 'hooks');
    mkdirSync(hooks);
    for (const hook of ['post-checkout', 'post-merge', 'pre-commit', 'pre-push', 'reference-transaction']) {
      writeFileSync(join(hooks, hook), `#!/bin/sh\ntouch '${hookMarker}'\n`);
      chmodSync(join(hooks, hook), 0o755);
    }
    const config = [
      '[filter "x"]',
      `  smudge = "touch '${marker}'; cat"`,
      `  clean = "touch '${marker}'; cat"`,
      '  required = true',
      '[core]',
      `  hooksPath = ${hooks}`,
      '',
    ].join('\n');
    writeFileSync(join(home, '.gitconfig'), config);
    mkdirSync(join(home, '.config', 'git'), { recursive: true });
    writeFileSync(join(home, '.config', 'git', 'config'), config);
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = join(home, '.config');
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await cleanup();
    repos.remove();
    rmSync(home, { recursive: true, force: true });
  });

  test('a filter and hooks in ~/.gitconfig never run on a proposal asking for them', async () => {
    const approved = await branchWith(repos, 'filtered', { '.gitattributes': '* filter=x\n', 'data.txt': 'data\n' }, 'filter me');
    const r = await newRun();
    const proposal = proposalFor(repos, 'filtered', approved);
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), merged.revision);
    assert.equal(existsSync(marker), false, 'the slave\'s filter.x ran on the proposal\'s tree');
    assert.equal(existsSync(hookMarker), false, 'a hook of the slave\'s core.hooksPath ran');
  });
});
