/**
 * Issue 17's remote-CI acceptance through the real `byoci` command, the local forge and
 * real git repositories, against local GitHub and Jenkins sites: a proposal whose required
 * GitHub status is red is rejected naming it; one whose Jenkins job never reports is taken
 * out after the timeout; a green one lands; `byoci list` says what each waits for.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { run } from '../../core/process.js';
import { byoci } from '../support/cli.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { startGithubSite, startJenkinsSite, type GithubSite, type JenkinsSite } from '../support/remote-ci-servers.js';

const GIT_ENV = {
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Ada',
  GIT_AUTHOR_EMAIL: 'ada@example.org',
  GIT_COMMITTER_NAME: 'Ada',
  GIT_COMMITTER_EMAIL: 'ada@example.org',
};

async function git(args: string[], cwd: string): Promise<string> {
  return (await run(['git', ...args], { cwd, env: GIT_ENV })).stdout.trim();
}

describe('remote CI gate in landings', suiteNeeds('git', missingCommands('git')), () => {
  let gh: GithubSite;
  let jenkins: JenkinsSite;
  before(async () => {
    [gh, jenkins] = await Promise.all([startGithubSite('octo/calc', 'ghp_e2eT0ken'), startJenkinsSite()]);
  });
  after(async () => {
    await Promise.all([gh.close(), jenkins.close()]);
  });

  test('red GitHub status: rejected naming it; silent Jenkins job: taken out after the timeout; green: lands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-remote-e2e-'));
    const work = join(dir, 'work');
    const trunk = join(dir, 'trunk.git');
    const contrib = join(dir, 'contrib.git');
    const proposals = join(dir, 'proposals');
    mkdirSync(proposals);
    await git(['init', '-q', '--bare', '-b', 'main', trunk], dir);
    await git(['init', '-q', '-b', 'main', work], dir);
    writeFileSync(join(work, 'README'), 'calc\n');
    await git(['add', '.'], work);
    await git(['commit', '-q', '-m', 'start'], work);
    await git(['push', '-q', trunk, 'main'], work);
    const revisions: Record<string, string> = {};
    for (const [n, branch] of [['1', 'green'], ['2', 'red-status'], ['3', 'silent-job']] as const) {
      await git(['checkout', '-q', '-b', branch, 'main'], work);
      writeFileSync(join(work, `${branch}.txt`), `${branch}\n`);
      await git(['add', '.'], work);
      await git(['commit', '-q', '-m', branch], work);
      revisions[branch] = await git(['rev-parse', 'HEAD'], work);
      writeFileSync(
        join(proposals, `${n}.yaml`),
        stringify({ id: n, title: branch, source: { repo: contrib, branch }, target: { repo: trunk, branch: 'main' }, approved_revision: revisions[branch], status: 'Approved', commit_message: `Land ${branch}.`, votes: [{ reviewer: 'rita', vote: 'Approve' }] }),
      );
      await git(['checkout', '-q', 'main'], work);
    }
    await git(['clone', '-q', '--bare', work, contrib], dir);

    // The remote sites: GitHub CI green for 1 and 3, red for 2; Jenkins built 1 only.
    gh.status(revisions.green!, 'ci/unit', 'success');
    gh.checkRun(revisions.green!, 'lint', 'completed', 'success');
    gh.status(revisions['red-status']!, 'ci/unit', 'failure', 'https://ci.example.invalid/unit/12');
    gh.checkRun(revisions['red-status']!, 'lint', 'completed', 'success');
    gh.status(revisions['silent-job']!, 'ci/unit', 'success');
    gh.checkRun(revisions['silent-job']!, 'lint', 'completed', 'success');
    jenkins.addBuild('calc-integration', { revision: revisions.green!, result: 'SUCCESS' });
    jenkins.addBuild('calc-integration', { revision: revisions['red-status']!, result: 'SUCCESS' });

    const config = join(dir, 'byoci.yaml');
    writeFileSync(
      config,
      stringify({
        byoci: 'selftest',
        workdir: 'runs',
        artefacts: 'artefacts',
        secrets: { order: ['env'] },
        plugins: {
          local: { dir: 'proposals', trusted: ['rita'] },
          'remote-ci': {
            sites: { gh: { type: 'github', url: gh.url, repo: 'octo/calc' }, ci: { type: 'jenkins', url: jenkins.url } },
            require: { calc: [{ site: 'gh', name: 'ci/*' }, { site: 'gh', name: 'lint' }, { site: 'ci', name: 'calc-integration' }] },
            timeout: '1500ms',
            interval: '100ms',
            requestTimeout: 2,
          },
        },
        projects: { calc: { targets: [{ forge: 'local', repo: '{configDir}/trunk.git', branch: 'main' }], test: { backend: 'unsafe-host', command: ['true'], timeout: '1m' } } },
      }),
    );
    // remote-ci's own secret (a read-only token will do); the fake answers 401 without it.
    const env = { BYOCI_SECRET_REMOTE_CI_GITHUB_TOKEN: 'ghp_e2eT0ken' };

    const list = await byoci(['--config', config, 'list'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ready +calc +local:1 +green +\(will land\)$/m);
    assert.match(list.stdout, /^ready +calc +local:2 +red-status +\(will land once green: gh ci\/\*: failure \(will be rejected\)\)$/m);
    assert.match(list.stdout, /^ready +calc +local:3 +silent-job +\(will land once green: ci calc-integration: not reported\)$/m);

    const land = await byoci(['--config', config, '--json', 'land'], { env });
    assert.equal(land.code, 1, land.stderr);
    const results = (JSON.parse(land.stdout) as { results: { proposal: string; kind: string; code?: string; reason?: string }[] }).results;
    const by = Object.fromEntries(results.map((r) => [r.proposal, r]));
    assert.equal(by['local:1']?.kind, 'landed');
    assert.equal(by['local:2']?.code, 'remote-failed');
    assert.equal(by['local:2']?.reason, `The required result ci/unit from gh is failure for revision ${revisions['red-status']} (https://ci.example.invalid/unit/12). ci/unit failure.`);
    assert.equal(by['local:3']?.code, 'remote-timeout');
    assert.match(by['local:3']?.reason ?? '', /^Taken out of the landing queue: the required result calc-integration from ci was still not reported for revision [0-9a-f]{40} after 1\.5 s\./);
    assert.match(land.stderr, /waiting for: ci calc-integration: not reported/);
    assert.doesNotMatch(land.stderr + land.stdout, /ghp_e2eT0ken/);

    // While a landing waits, `byoci queue` says for what.
    gh.status(revisions['silent-job']!, 'ci/unit', 'success');
    const slow = join(dir, 'slow.yaml');
    writeFileSync(slow, readFileSync(config, 'utf8').replace("timeout: 1500ms", 'timeout: 20s'));
    writeFileSync(join(proposals, '3.yaml'), readFileSync(join(proposals, '3.yaml'), 'utf8').replace('Needs review', 'Approved'));
    let queueText = '';
    const waitingLand = await byoci(['--config', slow, 'land'], {
      env,
      onSpawn: (pid, output) => {
        const poll = setInterval(() => {
          if (!/waiting for: ci calc-integration/.test(output.stderr()) || queueText) return;
          queueText = 'asked';
          void byoci(['--config', slow, 'queue'], { env }).then((q) => {
            queueText = q.stdout + q.stderr;
            jenkins.addBuild('calc-integration', { revision: revisions['silent-job']!, result: 'SUCCESS' });
          });
        }, 100);
        setTimeout(() => clearInterval(poll), 30_000).unref();
        void pid;
      },
    });
    assert.equal(waitingLand.code, 0, waitingLand.stderr);
    assert.match(queueText, /step gate.*: waiting for: ci calc-integration: not reported/);

    const file = (n: string) => parse(readFileSync(join(proposals, `${n}.yaml`), 'utf8')) as { status: string; comments?: { body: string }[] };
    assert.equal(file('1').status, 'Merged');
    assert.equal(file('2').status, 'Needs review');
    assert.match(file('2').comments?.at(-1)?.body ?? '', /ci\/unit from gh is failure .*https:\/\/ci\.example\.invalid\/unit\/12/);
    assert.match(file('3').comments?.find((c) => /Taken out/.test(c.body))?.body ?? '', /Taken out of the landing queue/);
    assert.equal(file('3').status, 'Merged', 'approved again, it landed once its job reported');
    const landed = await git(['--git-dir', trunk, 'log', '--first-parent', '--format=%s', 'main'], dir);
    assert.deepEqual(landed.split('\n'), ['Land silent-job.', 'Land green.', 'start']);
  });
});
