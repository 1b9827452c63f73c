/**
 * Typed targets: forges declare their target schema, core validates every target with it
 * at config load (file and line), hands VCS plugins the branch, and keys it canonically.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, canonicalUrl, targetKey } from '../../core/index.js';
import github from '../../plugins/github/index.js';
import gitPlugin from '../../plugins/git/index.js';
import host from '../../plugins/host/index.js';
import launchpad from '../../plugins/launchpad/index.js';
import local from '../../plugins/local/index.js';
import { createTestBot } from '../support/bot.js';

const FILE = '/etc/byoci/byoci.yaml';

async function load(yaml: string) {
  return createTestBot({ yaml, file: FILE, plugins: [local, launchpad, github, gitPlugin, host], defaultPlugins: ['git', 'host'] });
}

async function problemsOf(yaml: string): Promise<string[]> {
  const error = await load(yaml).catch((e: unknown) => e);
  assert.ok(error instanceof ConfigError, String(error));
  return error.message.split('\n').slice(1).map((l) => l.trim());
}

const project = (targets: string, backend = 'unsafe-host') =>
  ['projects:', '  calc:', '    targets:', targets, '    test:', `      backend: ${backend}`, '      command: make check', ''].join('\n');

describe('typed targets', () => {
  test('a typo in a forge field is reported with file and line at config load', async () => {
    const problems = await problemsOf(
      [
        'plugins:',
        '  local: {dir: proposals}',
        project(
          [
            '      - forge: local',
            '        repo: trunk.git',
            '        brnach: main',
            '      - forge: github',
            '        repo: not-a-repo',
            '      - forge: launchpad',
            '        url: lp:brz',
            '        vsc: git',
          ].join('\n'),
        ),
      ].join('\n'),
    );
    assert.deepEqual(problems, [
      `- ${FILE}:8:17: projects.calc.targets.0.brnach: unknown option of a local target (did you mean branch?)`,
      `- ${FILE}:10:15: projects.calc.targets.1.repo: must be "owner/name", got "not-a-repo"`,
      `- ${FILE}:13:14: projects.calc.targets.2.vsc: unknown option of a launchpad target (did you mean vcs?)`,
    ]);
  });

  test('VCS plugins get the branch each forge states; candidates carry their target', async () => {
    const { bot } = await load(
      [
        'plugins:',
        '  local: {dir: .}',
        project(
          [
            '      - {forge: local, repo: ./trunk.git/, branch: main}',
            '      - {forge: github, repo: acme/calc, branch: stable}',
            '      - {forge: launchpad, url: "lp:~brz/brz/trunk"}',
          ].join('\n'),
        ),
      ].join('\n'),
    );
    try {
      const [calc] = bot.projects;
      assert.deepEqual(
        calc?.targets.map((t) => [t.forge, t.branch]),
        [
          ['local', { vcs: 'git', url: '/etc/byoci/trunk.git', branch: 'main' }],
          ['github', { vcs: 'git', url: 'https://github.com/acme/calc', branch: 'stable' }],
          ['launchpad', { vcs: 'bzr', url: 'lp:~brz/brz/trunk', branch: '' }],
        ],
      );
      assert.deepEqual(calc?.targets[0]?.options, { repo: './trunk.git/', branch: 'main', vcs: 'git' });
      assert.deepEqual(bot.handles.vcs, ['git']);
      assert.deepEqual(bot.handles.backends, ['unsafe-host']);
    } finally {
      await bot.shutdown();
    }
  });

  test('a backend no loaded plugin declares is a config problem (no closed list in core)', async () => {
    const problems = await problemsOf(project('      - {forge: local, repo: trunk.git, branch: main}', 'kvm'));
    assert.deepEqual(problems, [
      `- ${FILE}:6:16: projects.calc.test.backend: no loaded plugin provides backend "kvm" (known: auto, unsafe-host)`,
    ]);
  });

  test('targetKey: one key per branch, whatever the spelling', () => {
    const key = (url: string, branch = 'main', vcs = 'git') => targetKey({ vcs, url, branch });
    assert.equal(key('git@GitHub.com:acme/calc.git'), key('https://github.com/acme/calc'));
    assert.equal(key('ssh://git@github.com:22/acme/calc/'), key('https://github.com/acme/calc.git'));
    assert.equal(key('/srv/calc.git/'), key('/srv/calc.git'));
    assert.equal(key('file:///srv/calc.git'), key('/srv/calc.git'));
    assert.notEqual(key('/srv/calc.git'), key('/srv/calc.git', 'stable'));
    assert.notEqual(key('lp:brz', '', 'bzr'), key('lp:brz', '', 'git'));
    assert.equal(key('/srv/calc.git'), 'git:/srv/calc#main');
    assert.equal(canonicalUrl('git+ssh://vila@git.launchpad.net/~vila/brz/+git/brz'), 'git.launchpad.net/~vila/brz/+git/brz');
    // A Target keys on its branch: what the queue keys the proposals found on it.
    assert.equal(targetKey({ forge: 'local', branch: { vcs: 'git', url: '/srv/calc.git', branch: 'main' }, options: {} }), 'git:/srv/calc#main');
  });
});
