/**
 * Load only what is configured: the built-ins a config needs are imported (the VCS of its
 * targets, the backends of its projects, the forges they name, the plugins it names), the
 * others are not; and verify checks only the tools of what is used.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../core/config.js';
import { resolvePlugins, type ExtraNeeds } from '../../core/loader.js';
import { BUILTINS, DEFAULT_PLUGINS, registry } from '../../plugins/index.js';
import { createTestBot } from '../support/bot.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-loader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'trunk.git'));
mkdirSync(join(dir, 'brz-trunk', '.bzr'), { recursive: true });

function yaml(targets: string[], backend = 'unsafe-host', plugins = ''): string {
  return [
    'plugins:',
    '  local: { dir: proposals }',
    plugins,
    'projects:',
    '  p:',
    '    targets:',
    ...targets.map((t) => `      - ${t}`),
    `    test: { backend: ${backend}, command: ['true'] }`,
  ].join('\n');
}

async function loaded(text: string, extra?: ExtraNeeds): Promise<string[]> {
  const config = loadConfig({ text, file: join(dir, 'byoci.yaml'), namespace: 'selftest', env: {} });
  const { plugins, problems } = await resolvePlugins(config.settings, config.configDir, registry, DEFAULT_PLUGINS, extra);
  assert.deepEqual(problems, []);
  return plugins.map((p) => p.plugin.name);
}

describe('which built-ins a run loads', () => {
  test('a git target tested on the host: git, host and the forge, nothing else', async () => {
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}'])), ['git', 'host', 'local']);
  });

  test('backend auto loads lxd, bwrap and unshare, in that order (the order auto tries them)', async () => {
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}'], 'auto')), ['git', 'lxd', 'bwrap', 'unshare', 'local']);
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}'], 'unshare')), ['git', 'unshare', 'local']);
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}'], 'bwrap')), ['git', 'bwrap', 'local']);
  });

  test('bzr is loaded for a bzr target: vcs: bzr, a local branch holding .bzr, a Launchpad bzr URL', async () => {
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, vcs: bzr}'])), ['bzr', 'host', 'local']);
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: brz-trunk}'])), ['bzr', 'host', 'local']);
    const lp = (url: string) => yaml([`{forge: launchpad, url: '${url}'}`]).replace('  local: { dir: proposals }', '  launchpad: {}');
    assert.deepEqual(await loaded(lp('lp:~brz/brz/trunk')), ['bzr', 'host', 'launchpad']);
    assert.deepEqual(await loaded(lp('lp:~brz/brz/+git/brz')), ['git', 'host', 'launchpad']);
  });

  test('a plugin named under plugins: is loaded whether needed or not; a command can add a need', async () => {
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}'], 'unsafe-host', '  bzr: {}')), ['git', 'host', 'local', 'bzr']);
    assert.deepEqual(await loaded(yaml(['{forge: local, repo: trunk.git, branch: main}']), { vcs: ['bzr'] }), ['git', 'bzr', 'host', 'local']);
  });

  test('no project: no default plugin at all', async () => {
    assert.deepEqual(await loaded('plugins:\n  irc: { server: 127.0.0.1, channels: {} }\n'), ['irc']);
  });
});

describe('verify checks what is used', () => {
  test('bzr named but no bzr target: brz is not run; git is checked for the git target', async () => {
    const { bot } = await createTestBot({
      yaml: yaml(['{forge: local, repo: trunk.git, branch: main}'], 'unsafe-host', '  bzr: {}'),
      file: join(dir, 'byoci.yaml'),
      plugins: await Promise.all(['git', 'bzr', 'host', 'local'].map((n) => BUILTINS.find((b) => b.name === n)!.load())),
      defaultPlugins: ['git', 'bzr', 'host'],
    });
    try {
      assert.deepEqual(bot.vcs, ['git']);
      const { notes } = await bot.verify();
      assert.deepEqual(notes.filter((n) => n.source === 'bzr').map((n) => n.message), ['no bzr target: brz not checked']);
      assert.ok(notes.some((n) => n.source === 'git' && /^git version /.test(n.message)), JSON.stringify(notes));
    } finally {
      await bot.shutdown();
    }
  });
});
