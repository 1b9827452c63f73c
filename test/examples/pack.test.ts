/**
 * Acceptance of the published API, outside the repository: `npm pack` of byoci and of the
 * webhook example, both installed (npm's cache first, else the npm registry: no other network)
 * into a fresh directory, a config naming the plugin by package name, `byoci land` on the
 * local forge over real git repositories; the example reporter's receiver gets the
 * outcome; then the example's own tests run there with `byoci/testing`. The same install
 * (npm pack builds dist/: tsc, then scripts/bundle.mjs) runs the bundled `byoci brain` with
 * BYOCI_BRAIN_THREADS=1: its worker threads are files tsc wrote beside the bundle's chunks.
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
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { BRAIN_MIGRATIONS, decisionId } from '../../brain/journal.js';
import { QUEUE_MIGRATIONS } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../../core/test-report/index.js';
import { openStore } from '../../store/index.js';
import { branchWith, makeRepos, tempDir } from '../../testing/index.js';
import { http, postGithub, push, until } from '../brain/helpers.js';
import { spawnBrain, TOKEN, USER, type BrainProcess } from '../support/brain-process.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { startJenkinsServer } from '../support/jenkins-server.js';
import { recordingServer } from '../support/plugin-fixture.js';

const exec = promisify(execFile);
const ROOT = resolve('.');
const LIMIT = { timeout: 240_000, maxBuffer: 32 * 1024 * 1024 };

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, ...LIMIT, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return stdout;
}

describe('the packed byoci with a plugin package, in a fresh directory', suiteNeeds('npm and git', missingCommands('npm', 'git')), () => {
  let work: ReturnType<typeof tempDir>;
  let app: string;
  before(async () => {
    work = tempDir('byoci-pack-');
    const tarballs = join(work.dir, 'tarballs');
    mkdirSync(tarballs);
    await npm(ROOT, ['pack', '--pack-destination', tarballs]);
    await npm(join(ROOT, 'examples/plugins/webhook'), ['pack', '--pack-destination', tarballs]);
    const files = readdirSync(tarballs).sort();
    assert.deepEqual(files, ['byoci-0.1.0.tgz', 'byoci-webhook-reporter-1.0.0.tgz']);

    app = join(work.dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'lander', private: true, type: 'module' }));
    await npm(app, ['install', '--prefer-offline', '--ignore-scripts', ...files.map((f) => join(tarballs, f))]);
    cpSync(join(ROOT, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), { recursive: true });
  }, { timeout: 600_000 });
  after(() => work?.remove());

  test('install offline, land with the webhook reporter named by package, run its own tests with the kit', { timeout: 600_000 }, async () => {
    const repos = await makeRepos();
    const server = await recordingServer({ status: 204, path: '/hook' });
    try {
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
    }
  });

  test('the bundled byoci brain with BYOCI_BRAIN_THREADS=1: journal thread, trigger in Jenkins, retention worker', { timeout: 120_000 }, async () => {
    const dir = join(work.dir, 'brain');
    mkdirSync(dir);
    // An old finished delivery, for the retention worker (another file tsc wrote) to delete.
    const seed = openStore(join(dir, 'byoci.db'), { migrations: [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS, ...BRAIN_MIGRATIONS] });
    const old = Date.now() - 200 * 86_400_000;
    const oldDecision = decisionId(old);
    seed.prepare(`INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', 'old-1', 'push', 'push', 'octo/packed', 's', '{}', 1, ?)`).run(old);
    seed.prepare(`INSERT INTO brain_triggers (id, rule, job, params_json, state, created_at, next_at, attempts) VALUES (?, 'packed-push', 'packed-test', '{}', 'queued', ?, ?, 1)`).run(oldDecision, old, old);
    seed.prepare(`INSERT INTO brain_trigger_deliveries (trigger_id, source, delivery_id) VALUES (?, 'github', 'old-1')`).run(oldDecision);
    seed.close();
    const jenkins = await startJenkinsServer({ user: USER, token: TOKEN, jobs: [{ name: 'packed-test', params: { BYOCI_DECISION: '', REVISION: '' } }] });
    let brain: BrainProcess | undefined;
    try {
      brain = await spawnBrain(
        dir,
        {
          listen: { host: '127.0.0.1', port: 0 },
          sources: ['github'],
          jenkins: { url: jenkins.url, user: USER, timeout: '2s', retryMin: '20ms', retryMax: '200ms' },
          rules: [{ name: 'packed-push', on: ['push'], repo: 'octo/packed', branch: 'main', job: 'packed-test', params: { REVISION: '${revision}' } }],
        },
        { cli: [join(app, 'node_modules/byoci/dist/cli/main.js')], env: { BYOCI_BRAIN_THREADS: '1' } },
      );
      const health = await http(new URL('healthz', brain.url).toString());
      assert.equal(health.status, 200, health.body);
      assert.deepEqual({ ok: JSON.parse(health.body).ok, threads: JSON.parse(health.body).threads }, { ok: true, threads: 2 });
      const revision = 'c0ffee'.padEnd(40, '0');
      const answer = await postGithub(brain.url, 'push', 'packed-1', push({ repo: 'octo/packed', branch: 'main', after: revision }));
      assert.equal(answer.status, 202, answer.body);
      const { triggers } = JSON.parse(answer.body) as { triggers: string[] };
      assert.equal(triggers.length, 1);
      await until(() => jenkins.builds.some((b) => b.params.BYOCI_DECISION === triggers[0]), 'the build in Jenkins', 30_000);
      assert.deepEqual(jenkins.builds.map((b) => [b.job, b.params.REVISION]), [['packed-test', revision]]);
      const store = openStore(join(dir, 'byoci.db'), { migrations: [], readonly: true });
      try {
        await until(() => store.prepare(`SELECT 1 FROM brain_deliveries WHERE delivery_id = 'old-1'`).get() === undefined, 'the retention worker deleting the old delivery', 30_000);
        assert.deepEqual(store.prepare(`SELECT delivery_id, kind FROM brain_deliveries`).all(), [{ delivery_id: 'packed-1', kind: 'push' }]);
        assert.equal(store.prepare(`SELECT trigger_id FROM brain_trigger_deliveries WHERE delivery_id = 'packed-1'`).pluck().get(), triggers[0]);
        assert.equal(store.prepare(`SELECT 1 FROM brain_triggers WHERE id = ?`).get(oldDecision), undefined);
      } finally {
        store.close();
      }
      // The round logs once its last batch is back: the log line may reach us after the delete is visible.
      await until(() => /journal retention: deleted what is older than brain\.retention/.test(brain?.stderr() ?? ''), 'the retention round logged', 30_000);
      assert.match(brain.stderr(), /journal retention: deleted what is older than brain\.retention/);
    } finally {
      const code = brain ? await brain.stop() : undefined;
      await jenkins.close();
      if (brain) assert.equal(code, 0, brain.stderr());
    }
  });
});
