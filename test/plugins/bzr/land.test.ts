/**
 * End to end through core's Bot: a tiny forge written here (discover: one bzr proposal;
 * report: records the outcomes), the bzr plugin and the unsafe-host backend, over real
 * Breezy branches. What the user sees: trunk's tip and the outcomes reported.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LandingResult } from '../../../core/bot.js';
import { definePlugin } from '../../../core/plugin.js';
import type { Outcome, Proposal } from '../../../hooks/index.js';
import bzrPlugin from '../../../plugins/bzr/index.js';
import host from '../../../plugins/host/index.js';
import { createTestBot } from '../../support/bot.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { ALICE, branchWith, makeBranches, revisionOf, tipOf, type Branches } from '../../support/bzr-branches.js';
import { snapshot, tempDir } from '../../support/git-repos.js';

const FORGE = 'fake-lp';

/** A forge that offers `proposal` for its target and records what core reports. */
function fakeForge(proposal: () => Proposal | undefined, outcomes: Outcome[]) {
  return definePlugin({
    name: FORGE,
    description: 'test forge: one bzr proposal',
    forge: {
      schema: z.object({ vcs: z.literal('bzr'), branch: z.string().min(1) }).strict(),
      branch: (t) => ({ vcs: t.vcs, url: t.branch, branch: '' }),
    },
    apply(hooks) {
      hooks.discover.tapPromise(async (proposals, { target }) => {
        const p = proposal();
        if (target.forge !== FORGE || !p) return proposals;
        return [...proposals, p];
      });
      hooks.report.tapPromise(async (outcome) => {
        if (outcome.proposal.forge === FORGE) outcomes.push(outcome);
      });
    },
  });
}

describe('bzr plugin: landing end to end through the Bot', suiteNeeds('brz', missingCommands('brz')), () => {
  let b: Branches;
  let work: { dir: string; remove(): void };
  before(async () => {
    b = await makeBranches();
    work = tempDir('byoci-bzr-land-');
  });
  after(() => {
    work.remove();
    b.remove();
  });

  async function land(
    proposal: Proposal,
    command: string,
    dryRun = false,
  ): Promise<{ outcomes: Outcome[]; results: LandingResult[]; exitCode: number; lines: string[] }> {
    const outcomes: Outcome[] = [];
    const yaml = [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(join(work.dir, 'artefacts'))}`,
      'landing: {user: lander, fullname: The Lander, email: lander@example.invalid}',
      'projects:',
      '  brz:',
      '    targets:',
      `      - {forge: ${FORGE}, vcs: bzr, branch: ${JSON.stringify(b.trunk)}}`,
      '    test:',
      '      backend: unsafe-host',
      `      command: ${JSON.stringify(command)}`,
      '      timeout: 120',
      '',
    ].join('\n');
    const { bot, lines } = await createTestBot({
      yaml,
      file: join(work.dir, 'byoci.yaml'),
      plugins: [fakeForge(() => proposal, outcomes), bzrPlugin, host],
      defaultPlugins: ['bzr', 'host'],
      stores: [],
      dryRun,
    });
    try {
      const notes = await bot.verifyOrThrow();
      assert.ok(notes.some((n) => n.source === 'bzr' && /^brz \d+\.\d+/.test(n.message)), 'doctor notes the brz version');
      const summary = await bot.landAll();
      return { outcomes, results: summary.results, exitCode: summary.exitCode, lines };
    } finally {
      await bot.shutdown();
    }
  }

  function proposalOf(source: string, approved: string, commitMessage: string): Proposal {
    return {
      id: `${FORGE}:1`,
      forge: FORGE,
      url: 'https://code.launchpad.example.invalid/~alice/brz/feature/+merge/1',
      title: 'Add feature.txt',
      source: { vcs: 'bzr', url: source, branch: '' },
      target: { vcs: 'bzr', url: b.trunk, branch: '' },
      approvedRevision: approved,
      commitMessage,
      votes: [{ reviewer: 'carol', vote: 'Approve', trusted: true }],
      readiness: { state: 'ready' },
    };
  }

  test('failing tests reject the proposal and trunk stays where it was', async () => {
    const broken = await branchWith(b, 'broken', { 'feature.txt': 'broken\n' }, 'broken feature');
    const before = await tipOf(b.trunk);
    const run = await land(proposalOf(broken.path, broken.revid, 'Broken'), 'grep -q working feature.txt');
    assert.equal(run.exitCode, 1);
    assert.deepEqual(run.outcomes.map((o) => o.kind), ['started', 'rejected']);
    const rejected = run.outcomes[1];
    assert.equal(rejected?.kind === 'rejected' && rejected.rejection.code, 'tests-failed');
    assert.equal(await tipOf(b.trunk), before);
  });

  test('--dry-run merges and tests but leaves trunk and the source byte-identical', async () => {
    const dry = await branchWith(b, 'dry', { 'feature.txt': 'working\n' }, 'dry run');
    const before = { trunk: snapshot(b.trunk), source: snapshot(dry.path) };
    const run = await land(proposalOf(dry.path, dry.revid, 'Dry'), 'grep -q working feature.txt', true);
    assert.deepEqual(run.results.map((r) => [r.kind, r.dryRun]), [['landed', true]]);
    assert.deepEqual(run.outcomes, [], 'nothing reported under --dry-run');
    assert.deepEqual(snapshot(b.trunk), before.trunk);
    assert.deepEqual(snapshot(dry.path), before.source);
  });

  test('an approved bzr proposal lands: trunk has the tested merge revision', async () => {
    const feature = await branchWith(b, 'feature', { 'feature.txt': 'working\n' }, 'feature');
    const before = await tipOf(b.trunk);
    const run = await land(proposalOf(feature.path, feature.revid, 'Add feature.txt'), 'grep -q working feature.txt');
    assert.equal(run.exitCode, 0, run.lines.join('\n'));
    assert.deepEqual(run.outcomes.map((o) => o.kind), ['started', 'landed']);
    const landed = run.outcomes[1];
    const tip = await tipOf(b.trunk);
    assert.equal(landed?.kind === 'landed' && landed.revision, tip);
    const rev = await revisionOf(b.trunk, tip);
    assert.deepEqual(rev.parents, [before, feature.revid]);
    assert.equal(rev.author, `${ALICE.name} <${ALICE.email}>`);
    assert.equal(rev.committer, 'The Lander <lander@example.invalid>');
    assert.equal(rev.message, 'Add feature.txt\n\nMerged from https://code.launchpad.example.invalid/~alice/brz/feature/+merge/1');

    // The forge still offers it (it crashed before recording "Merged"): a rerun reports it landed.
    const rerun = await land(proposalOf(feature.path, feature.revid, 'Add feature.txt'), 'false');
    assert.deepEqual(rerun.outcomes.map((o) => [o.kind, o.kind === 'landed' ? o.revision : '']), [['started', ''], ['landed', tip]]);
    assert.equal(await tipOf(b.trunk), tip);
  });
});
