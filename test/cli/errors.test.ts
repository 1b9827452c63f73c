/**
 * The operator-error catalogue (core/errors.ts, docs/errors.md): each operator error has a
 * stable code and a hint, the CLI prints both (and `--json` carries them), exit codes are
 * those of the error's class, and every code is documented.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../core/config.js';
import { ConfigError, OPERATOR_ERRORS, PluginError, describeError, exitCodeFor } from '../../core/errors.js';
import { definePlugin } from '../../core/plugin.js';
import { pluginSecrets } from '../../core/plugin-api.js';
import { openStore, StoreError } from '../../store/index.js';
import { createTestBot } from '../support/bot.js';
import { byoci } from '../support/cli.js';
import { tempDir } from '../support/git-repos.js';

const tmp = tempDir('byoci-errors-');
after(() => tmp.remove());

function configFile(name: string, text: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  return file;
}

describe('operator errors on the command line', () => {
  test('a missing config file: code config-missing and its hint, exit 2; --json carries them', async () => {
    const missing = join(tmp.dir, 'nope.yaml');
    const text = await byoci(['--config', missing, 'list']);
    assert.equal(text.code, 2, text.stderr);
    assert.match(text.stderr, /nope\.yaml: configuration file not found\n/);
    assert.match(text.stderr, new RegExp(`^hint: ${escape(OPERATOR_ERRORS['config-missing'])}$`, 'm'));
    assert.match(text.stderr, /^code: config-missing$/m);

    const json = await byoci(['--json', '--config', missing, 'list']);
    assert.equal(json.code, 2, json.stderr);
    const line = JSON.parse(json.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(line.code, 'config-missing');
    assert.equal(line.hint, OPERATOR_ERRORS['config-missing']);
    assert.deepEqual(line.problems, [`${missing}: configuration file not found`]);
  });

  test('a YAML syntax error is config-parse; an unknown plugin is plugin-unknown; both exit 2', async () => {
    const broken = await byoci(['--config', configFile('broken.yaml', 'projects: [unclosed\n'), 'list']);
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(broken.stderr, /^code: config-parse$/m);

    const project = 'projects:\n  demo:\n    targets: [{forge: local, repo: ./t.git, branch: main}]\n    test: {command: make check}\n';
    const unknown = await byoci(['--json', '--config', configFile('unknown.yaml', `plugins:\n  nosuchplugin: {}\n  local: {dir: .}\n${project}`), 'list']);
    assert.equal(unknown.code, 2, unknown.stderr);
    const line = JSON.parse(unknown.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(line.code, 'plugin-unknown', unknown.stderr);
    assert.match(String(line.hint), /built-in plugin/);
    assert.match(JSON.stringify(line.problems), /plugins\.nosuchplugin: no built-in plugin, file or installed package named \\"nosuchplugin\\" \(packages are looked up from /);

    const typo = await byoci(['--config', configFile('typo.yaml', `plugins:\n  ircc: {}\n  local: {dir: .}\n${project.replace('forge: local', 'forge: lokal')}`), 'list']);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /plugins\.ircc: no built-in plugin, file or installed package named "ircc" \(did you mean irc\?\)/);
    assert.match(typo.stderr, /forge: no forge plugin named "lokal" \(did you mean local\?\) \(built-in forges: local, launchpad, github\)/);
    assert.doesNotMatch(typo.stderr, /\n\s+at /);
  });
});

describe('operator errors in core', () => {
  test('the config loader codes what went wrong', () => {
    const codeOf = (options: Parameters<typeof loadConfig>[0]) => {
      try {
        loadConfig({ env: {}, ...options });
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.code;
      }
      return 'loaded';
    };
    assert.equal(codeOf({ file: join(tmp.dir, 'absent.yaml') }), 'config-missing');
    assert.equal(codeOf({ file: tmp.dir }), 'config-unreadable');
    assert.equal(codeOf({ text: 'a: [1', file: '/x.yaml' }), 'config-parse');
    assert.equal(codeOf({ text: 'nosuchoption: 1\n', file: '/x.yaml' }), 'config-invalid');
  });

  test('a missing secret: code secret-missing at verify (exit 2) and at run time (exit 3, through the plugin error)', async () => {
    const needy = definePlugin({ name: 'needy', description: 'needs a token', secrets: { token: { description: 't' } }, apply() {} });
    const { bot } = await createTestBot({ yaml: 'plugins:\n  needy: {}\n', plugins: [needy], defaultPlugins: [], stores: [] });
    try {
      const error = await bot.verifyOrThrow().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.code, 'secret-missing');
      assert.equal(exitCodeFor(error), 2);
    } finally {
      await bot.shutdown('done');
    }
    const thrown = (() => {
      try {
        pluginSecrets('needy', new Map(), ['env']).require('token');
      } catch (error) {
        return new PluginError('needy', 'report', error);
      }
      return undefined;
    })();
    assert.deepEqual(describeError(thrown), { code: 'secret-missing', hint: 'byoci secrets set needy/token (or BYOCI_SECRET_NEEDY_TOKEN in the environment)' });
    assert.equal(exitCodeFor(thrown), 3);
  });

  test('a store written by a newer byoci is store-newer; an uncatalogued error is internal', () => {
    const path = join(tmp.dir, 'store.db');
    openStore(path, { migrations: [{ id: 'queue-1', up: (db) => db.exec('CREATE TABLE queue_x (a)') }, { id: 'queue-2', up: () => {} }] }).close();
    const error = (() => {
      try {
        openStore(path, { migrations: [{ id: 'queue-1', up: () => {} }] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof StoreError);
    assert.equal(describeError(error).code, 'store-newer');
    assert.match(describeError(error).hint, /newer byoci: upgrade this slave/);
    assert.deepEqual(describeError(new Error('boom')), { code: 'internal', hint: OPERATOR_ERRORS.internal });
  });
});

test('docs/errors.md documents every code of the catalogue', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  for (const code of Object.keys(OPERATOR_ERRORS)) assert.match(doc, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `${code} is not in docs/errors.md`);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
