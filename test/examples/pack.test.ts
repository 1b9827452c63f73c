/**
 * Acceptance of the published API, outside the repository: `npm pack` of byoci and of the
 * webhook example, both installed (npm's cache first, else the npm registry: no other network)
 * into a fresh directory, a config naming the plugin by package name, `byoci land` on the
 * local forge over real git repositories; the example reporter's receiver gets the
 * outcome; then the example's own tests run there with `byoci/testing`.
 *
 * The install runs with --ignore-scripts (a native module's install script would download
 * a prebuilt binary): better-sqlite3's binary is copied from this checkout's build, the one
 * `npm ci` compiled for this machine's Node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { branchWith, makeRepos, tempDir } from '../../testing/index.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { recordingServer } from '../support/plugin-fixture.js';

const exec = promisify(execFile);
const ROOT = resolve('.');
const LIMIT = { timeout: 240_000, maxBuffer: 32 * 1024 * 1024 };

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, ...LIMIT, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return stdout;
}

describe('the packed byoci with a plugin package, in a fresh directory', suiteNeeds('npm and git', missingCommands('npm', 'git')), () => {
  test('install offline, land with the webhook reporter named by package, run its own tests with the kit', { timeout: 600_000 }, async () => {
    const work = tempDir('byoci-pack-');
    const repos = await makeRepos();
    const server = await recordingServer({ status: 204, path: '/hook' });
    try {
      const tarballs = join(work.dir, 'tarballs');
      mkdirSync(tarballs);
      await npm(ROOT, ['pack', '--pack-destination', tarballs]);
      await npm(join(ROOT, 'examples/plugins/webhook'), ['pack', '--pack-destination', tarballs]);
      const files = readdirSync(tarballs).sort();
      assert.deepEqual(files, ['byoci-0.1.0.tgz', 'byoci-webhook-reporter-1.0.0.tgz']);

      const app = join(work.dir, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'lander', private: true, type: 'module' }));
      await npm(app, ['install', '--prefer-offline', '--ignore-scripts', ...files.map((f) => join(tarballs, f))]);
      cpSync(join(ROOT, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), { recursive: true });

      const approved = await branchWith(repos, 'fix', { 'fix.txt': 'fixed\n' }, 'Fix it');
      const proposals = join(app, 'proposals');
      mkdirSync(proposals);
      writeFileSync(
        join(proposals, '1.yaml'),
        YAML.stringify({
          id: '1',
          title: 'Fix it',
          source: { repo: repos.source, branch: 'fix' },
          target: { repo: repos.target, branch: 'main' },
          approved_revision: approved,
          status: 'Approved',
          commit_message: 'Fix it',
          votes: [{ reviewer: 'rita', vote: 'Approve' }],
        }),
      );
      writeFileSync(
        join(app, 'byoci.yaml'),
        YAML.stringify({
          workdir: join(app, 'work'),
          plugins: { local: { dir: 'proposals' }, 'byoci-webhook-reporter': { url: server.url } },
          projects: { demo: { targets: [{ forge: 'local', repo: repos.target, branch: 'main' }], test: { backend: 'unsafe-host', command: 'test -f fix.txt' } } },
        }),
      );
      const bin = join(app, 'node_modules/.bin/byoci');
      const env = { ...process.env, BYOCI_SECRET_WEBHOOK_HMAC_KEY: 'packed-key' };
      const landed = await exec(bin, ['--config', 'byoci.yaml', 'land'], { cwd: app, env, ...LIMIT });
      assert.match(landed.stderr, /landed/);
      // The default events are landed, rejected and error: one POST, signed.
      assert.deepEqual(server.requests.map((r) => JSON.parse(r.body).kind), ['landed']);
      assert.match(String(server.requests[0]?.headers['x-byoci-signature-256']), /^sha256=[0-9a-f]{64}$/);
      const plugins = await exec(bin, ['--config', 'byoci.yaml', '--json', 'plugins'], { cwd: app, env, ...LIMIT });
      const webhook = (JSON.parse(plugins.stdout) as { name: string; source: string; apiVersion: number }[]).find((p) => p.name === 'webhook');
      assert.deepEqual({ source: webhook?.source, apiVersion: webhook?.apiVersion }, { source: 'package', apiVersion: 1 });

      // A child test run of its own: without this run's NODE_TEST_CONTEXT it reports on stdout.
      const { NODE_TEST_CONTEXT: _context, ...childEnv } = process.env;
      const own = await exec(process.execPath, ['--test', '--test-reporter=tap', 'node_modules/byoci-webhook-reporter/test/'], { cwd: app, env: childEnv, ...LIMIT });
      assert.match(own.stdout, /# pass 2\n# fail 0/);
    } finally {
      await server.close();
      repos.remove();
      work.remove();
    }
  });
});
