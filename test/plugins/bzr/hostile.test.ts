/**
 * Hostile names and messages from a proposal never run as commands: they reach brz as
 * single argv entries and land (or are refused) literally.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { branchWith, brzIn, commitFiles, makeBranches, revisionOf, tipOf, type Branches } from '../../support/bzr-branches.js';
import { URL, bzrRuns, proposalFor, rejectionOf } from './helpers.js';

describe('bzr plugin: hostile input', suiteNeeds('brz', missingCommands('brz')), () => {
  let b: Branches;
  let marker: string;
  const { newRun, cleanup } = bzrRuns();
  before(async () => {
    b = await makeBranches();
    marker = join(b.root, 'PWNED');
  });
  after(async () => {
    await cleanup();
    b.remove();
  });

  test('a source path, message and author full of shell syntax land literally and run nothing', async () => {
    const evil = `$(touch ${marker}); touch ${marker} \`touch ${marker}\``;
    // A file name cannot hold "/": the path's commands write PWNED relative to wherever they would run.
    const dir = join(b.root, 'src $(touch PWNED); touch PWNED `touch PWNED` x');
    mkdirSync(dir);
    await brzIn(b.root, ['branch', '--quiet', '--', b.trunk, join(dir, 'branch')]);
    const author = `Mallory $(touch ${marker}) <m@example.invalid>`;
    const revid = await commitFiles(join(dir, 'branch'), { 'evil.txt': 'x\n' }, `msg ${evil}`, undefined, [`--author=${author}`]);
    const message = `Fix \`rm -rf $HOME\`; echo $(touch ${marker}) 'quoted' "double"\n# not a comment\n--no-verify\n-m evil`;
    const proposal = proposalFor(b, join(dir, 'branch'), revid, { commitMessage: message });
    const r = await newRun();
    const checkout = await r.fetch(proposal);
    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    const rev = await revisionOf(b.trunk, await tipOf(b.trunk));
    assert.equal(rev.message, `${message}\n\nMerged from ${URL}`);
    assert.equal(rev.author, author);
    for (const where of [marker, join(b.root, 'PWNED'), join(process.cwd(), 'PWNED'), join(r.workspace, 'PWNED'), join(checkout.dir, 'PWNED')]) {
      assert.equal(existsSync(where), false, `nothing was executed (${where})`);
    }
  });

  test('a source URL that looks like an option is rejected before brz sees it', async () => {
    const r = await newRun();
    for (const url of ['--help', '-Oevil=1', `--directory=${b.trunk}`]) {
      const rejection = await rejectionOf(r.fetch(proposalFor(b, url, b.base)));
      assert.equal(rejection.code, 'source-unavailable');
      assert.match(rejection.reason, /starts with "-"/);
    }
    const rejection = await rejectionOf(r.fetch(proposalFor(b, `${b.trunk}\ntouch ${marker}`, b.base)));
    assert.match(rejection.reason, /contains control characters/);
    assert.equal(existsSync(marker), false);
  });

  test('an approved revision id with spaces or option syntax is refused or not found, never run', async () => {
    const feature = await branchWith(b, 'feature', { 'f.txt': 'f\n' }, 'f');
    const r = await newRun();
    for (const approved of [`x; touch ${marker}`, '--help', `$(touch ${marker})`]) {
      const rejection = await rejectionOf(r.fetch(proposalFor(b, feature.path, approved)));
      assert.equal(rejection.code, 'approved-revision-missing', approved);
    }
    assert.equal(existsSync(marker), false);
  });

  test('a target URL that looks like an option is an operator error, not a rejection', async () => {
    const r = await newRun();
    const proposal = proposalFor(b, b.trunk, undefined);
    await assert.rejects(
      r.fetch({ ...proposal, target: { ...proposal.target, url: '--no-tree' } }),
      (error: Error) => /target branch URL "--no-tree" starts with "-"/.test(error.message) && error.name !== 'Rejection',
    );
  });

  test('brz loads no plugin of a site directory (only its own core plugins)', async () => {
    const feature = await branchWith(b, 'plugin-probe', { 'p.txt': 'p\n' }, 'probe');
    const r = await newRun();
    // A site-packages plugin, in the user site of brz's HOME: a site plugin brz would load.
    const home = join(r.harness.run.workdir, 'bzr-home');
    const site = spawnSync('python3', ['-m', 'site', '--user-site'], { env: { ...process.env, HOME: home }, encoding: 'utf8' }).stdout.trim();
    assert.ok(site.startsWith(home), site);
    const pluginDir = join(site, 'breezy', 'plugins', 'byoci_probe');
    mkdirSync(pluginDir, { recursive: true });
    const probe = join(b.root, 'SITE-PLUGIN-LOADED');
    writeFileSync(join(pluginDir, '__init__.py'), `open(${JSON.stringify(probe)}, 'w').write('loaded')\n`);
    const checkout = await r.fetch(proposalFor(b, feature.path, feature.revid));
    assert.equal(checkout.sourceRevision, feature.revid);
    assert.equal(existsSync(probe), false, 'a site plugin was loaded by brz');
  });
});
