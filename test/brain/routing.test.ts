/**
 * Events that do not name their branch: a PR comment command (GitHub's issue_comment payload
 * names the PR, not its base) goes to the land rule of the base branch the PR's own
 * pull_request events named; a Launchpad CI build (ci:build:0.1 names the commit only) goes
 * to the rule of the branch a git:push put that commit on. Unknown: every branch's rule, as
 * before. Real payloads (@octokit/webhooks-examples; Launchpad's documented shapes) over
 * loopback HTTP into the real brain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { brainConfigSchema, startBrain, type Brain } from '../../brain/index.js';
import { startJenkinsServer, type JenkinsServer } from '../support/jenkins-server.js';
import { GITHUB_SECRET, JENKINS, LAUNCHPAD_SECRET, example, postGithub, postLaunchpad } from './helpers.js';

const REPO = 'Codertocat/Hello-World';
const LP_REPO = '~brz/brz/+git/brz';

function land(name: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { name, job: name, land: true, params: { BRANCH: '${branch}', REASON: '${summary}' }, ...extra };
}

const rules = [
  land('hello-master', { on: ['pr-command', 'remote-ci'], source: 'github', repo: REPO, branch: 'master' }),
  land('hello-stable', { on: ['pr-command', 'remote-ci'], source: 'github', repo: REPO, branch: 'stable' }),
  land('brz-master', { on: ['remote-ci'], source: 'launchpad', repo: `lp:${LP_REPO}`, branch: 'master' }),
  land('brz-stable', { on: ['remote-ci'], source: 'launchpad', repo: `lp:${LP_REPO}`, branch: 'stable' }),
];

function comment(pr: number): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const c = example('issue_comment', 'created');
  c.issue.number = pr;
  c.issue.pull_request = { url: `https://api.github.com/repos/${REPO}/pulls/${pr}` };
  c.comment.body = '@byoci land';
  return c;
}

function pullRequest(action: string, pr: number, base: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const p = example('pull_request', action);
  p.number = pr;
  p.pull_request.number = pr;
  p.pull_request.base.ref = base;
  return p;
}

function ciBuild(sha: string, status: string, build = '/~brz/brz/+git/brz/+build/7'): Record<string, unknown> {
  return { build, action: 'status-changed', git_repository: `/${LP_REPO}`, commit_sha1: sha, status };
}

function gitPush(refs: Record<string, string>): Record<string, unknown> {
  return {
    git_repository: `/${LP_REPO}`,
    git_repository_path: LP_REPO,
    ref_changes: Object.fromEntries(Object.entries(refs).map(([ref, sha]) => [ref, { old: { commit_sha1: '0'.repeat(40) }, new: { commit_sha1: sha } }])),
  };
}

describe('brain: events without a branch are routed by what earlier deliveries said', () => {
  let dir: string;
  let jenkins: JenkinsServer;
  let brain: Brain;
  let n = 0;
  const id = () => `route-${process.pid}-${++n}`;
  const rulesOf = (body: string) => (JSON.parse(body).triggers as string[]).map((t) => brain.journal.trigger(t)?.rule).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-route-'));
    jenkins = await startJenkinsServer({
      ...JENKINS,
      jobs: rules.map((r) => ({ name: r.name as string, params: { BYOCI_DECISION: '', BRANCH: '', REASON: '' } })),
    });
    const config = brainConfigSchema.parse({
      listen: { host: '127.0.0.1', port: 0 },
      coalesce: '50ms',
      jenkins: { url: jenkins.url, user: JENKINS.user, timeout: '2s', retryMin: '20ms', retryMax: '200ms' },
      rules,
    });
    brain = await startBrain({ config, storePath: join(dir, 'byoci.db'), secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token }, log: silentLogger() });
  });
  after(async () => {
    await brain?.close();
    await jenkins?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a comment command goes to the land rule of the base branch its PR was opened against, then edited to', async () => {
    const opened = await postGithub(brain.url, 'pull_request', id(), pullRequest('opened', 31, 'stable'));
    assert.equal(opened.status, 202, opened.body);
    const first = await postGithub(brain.url, 'issue_comment', id(), comment(31));
    assert.equal(first.status, 202, first.body);
    assert.deepEqual(rulesOf(first.body), ['hello-stable']);
    const journaled = JSON.parse(
      (brain.db.prepare(`SELECT event_json FROM brain_deliveries WHERE kind = 'pr-command' ORDER BY rowid DESC LIMIT 1`).get() as { event_json: string }).event_json,
    );
    assert.deepEqual(journaled.branches, ['stable']);
    assert.ok(journaled.routedFrom, 'the journal names the delivery the branch was learnt from');

    // The PR's base is changed to master (an edited event carries the new base.ref); a later
    // synchronize carries it too: the latest delivery wins.
    const edited = pullRequest('synchronize', 31, 'master');
    edited.action = 'edited';
    edited.changes = { base: { ref: { from: 'stable' }, sha: { from: 'a'.repeat(40) } } };
    assert.equal((await postGithub(brain.url, 'pull_request', id(), edited)).status, 202);
    await new Promise((r) => setTimeout(r, 120)); // past the coalesce window: a fresh decision
    const second = await postGithub(brain.url, 'issue_comment', id(), comment(31));
    assert.deepEqual(rulesOf(second.body), ['hello-master']);
  });

  test('a comment on a PR the brain never heard of matches the land rules of every branch, as before', async () => {
    await new Promise((r) => setTimeout(r, 120));
    const answer = await postGithub(brain.url, 'issue_comment', id(), comment(4711));
    assert.equal(answer.status, 202, answer.body);
    assert.deepEqual(rulesOf(answer.body), ['hello-master', 'hello-stable']);
  });

  test('a Launchpad ci:build:0.1 that finished goes to the remote-ci rule of the branch its commit was pushed to', async () => {
    const sha = 'e'.repeat(40);
    assert.equal((await postLaunchpad(brain.url, 'git:push:0.1', id(), gitPush({ 'refs/heads/stable': sha }))).status, 202);
    const running = await postLaunchpad(brain.url, 'ci:build:0.1', id(), ciBuild(sha, 'Currently building'));
    assert.equal(running.status, 202, running.body);
    assert.deepEqual(JSON.parse(running.body).triggers, [], 'a build still running triggers nothing');
    assert.equal(JSON.parse(running.body).kind, 'ignored');
    const done = await postLaunchpad(brain.url, 'ci:build:0.1', id(), ciBuild(sha, 'Successfully built'));
    assert.equal(done.status, 202, done.body);
    assert.equal(JSON.parse(done.body).kind, 'remote-ci');
    assert.deepEqual(rulesOf(done.body), ['brz-stable']);
    await new Promise((r) => setTimeout(r, 120));
    const unknown = await postLaunchpad(brain.url, 'ci:build:0.1', id(), ciBuild('f'.repeat(40), 'Failed to build', '/~brz/brz/+git/brz/+build/8'));
    assert.deepEqual(rulesOf(unknown.body), ['brz-master', 'brz-stable'], 'a commit never seen pushed: every branch');
    const broken = await postLaunchpad(brain.url, 'ci:build:0.1', id(), { build: '/x', action: 'created', git_repository: `/${LP_REPO}`, status: 'Needs building' });
    assert.equal(broken.status, 400);
    assert.match(broken.body, /ci:build:0\.1 payload lacks commit_sha1/);
  });

  test('a ci:build:0.1 status named like a member of Object.prototype is not final: it triggers nothing', async () => {
    // CI_BUILD_FINAL was read as a plain object: `constructor` found Object and counted as finished.
    for (const status of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const answer = await postLaunchpad(brain.url, 'ci:build:0.1', id(), ciBuild('a'.repeat(40), status));
      assert.equal(answer.status, 202, answer.body);
      assert.equal(JSON.parse(answer.body).kind, 'ignored', status);
      assert.deepEqual(JSON.parse(answer.body).triggers, [], status);
    }
  });
});
