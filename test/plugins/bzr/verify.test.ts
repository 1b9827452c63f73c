/** What `verify` (and so `byoci doctor`) says about brz, the ssh key and known_hosts. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run } from '../../../core/process.js';
import bzrPlugin from '../../../plugins/bzr/index.js';
import type { Note, Problem, ProjectConfig } from '../../../hooks/index.js';
import { missingCommands, needs } from '../../support/components.js';
import { applyPlugins, targetFor, verifyPlugin } from '../../support/harness.js';
import { testSpec } from '../../support/spec.js';

function project(vcs: string): ProjectConfig {
  return {
    name: 'brz',
    targets: [targetFor('launchpad', { vcs, url: 'lp:brz' }, { url: 'lp:brz', vcs })],
    test: testSpec({ backend: 'auto', command: ['make', 'check'] }),
  };
}

function verify(config: unknown, secrets: Record<string, string>, projects: ProjectConfig[]): Promise<{ problems: Problem[]; notes: Note[] }> {
  return verifyPlugin({ plugin: bzrPlugin, config, secrets }, projects);
}

describe('bzr plugin: verify', () => {
  test('notes the brz version when brz runs', async (t) => {
    if (!needs(t, 'brz', missingCommands('brz'))) return;
    const { problems, notes } = await verify({}, {}, [project('bzr')]);
    assert.deepEqual(problems, []);
    assert.ok(notes.some((n) => n.source === 'bzr' && /^brz \d+\.\d+\.\d+$/.test(n.message)), JSON.stringify(notes));
  });

  test('brz missing is a problem when a target is a bzr branch; without one brz is not run', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const bzr = await verify({}, {}, [project('bzr')]);
      assert.equal(bzr.problems.length, 1);
      assert.match(bzr.problems[0]!.message, /brz \(Breezy\) is not installed/);
      assert.equal(bzr.problems[0]!.hint, 'apt-get install brz');
      const git = await verify({}, {}, [project('git')]);
      assert.deepEqual(git.problems, []);
      // brz was not run (it would have been found missing): the note says it was not checked.
      assert.deepEqual(git.notes.filter((n) => n.source === 'bzr').map((n) => n.message), ['no bzr target: brz not checked']);
    } finally {
      process.env.PATH = path;
    }
  });

  test('an ssh-key that is no private key and an unreadable knownHosts are problems, in one go', async () => {
    const { problems } = await verify({ knownHosts: '/nonexistent/known_hosts' }, { 'ssh-key': 'not a key' }, []);
    const messages = problems.map((p) => p.message);
    assert.ok(messages.includes('plugins.bzr.knownHosts: cannot read /nonexistent/known_hosts'), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('secret bzr/ssh-key is not a private key')), messages.join('\n'));
  });

  test('launchpadUser is written into the private HOME, where brz reads it (lp: then resolves to bzr+ssh)', async (t) => {
    if (!needs(t, 'brz', missingCommands('brz'))) return;
    const harness = await applyPlugins([{ plugin: bzrPlugin, config: { launchpadUser: 'byoci-lander' } }]);
    try {
      await harness.hooks.verify.promise({ projects: [], problems: [], notes: [], signal: harness.run.signal });
      const home = join(harness.run.workdir, 'bzr-home');
      const result = await run(['brz', 'config', 'launchpad_username'], { cwd: home, env: { HOME: home } });
      assert.equal(result.stdout.trim(), 'byoci-lander');
    } finally {
      harness.cleanup();
    }
    await assert.rejects(
      applyPlugins([{ plugin: bzrPlugin, config: { launchpadUser: 'x\n[DEFAULT]' } }]),
      /plugins\.bzr\.launchpadUser: must be a Launchpad user name/,
    );
  });

  test('unknown config keys are refused by the schema', async () => {
    await assert.rejects(applyPlugins([{ plugin: bzrPlugin, config: { knwonHosts: 'x' } }]), /plugins\.bzr\.knwonHosts: unknown option/);
  });
});
