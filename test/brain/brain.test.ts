import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { startBrain, type Brain } from '../../brain/index.js';
import { startJenkinsServer, type JenkinsServer } from '../support/jenkins-server.js';
import {
  GITHUB_SECRET,
  JENKINS,
  JOBS,
  LAUNCHPAD_SECRET,
  approval,
  config,
  example,
  githubHeaders,
  http,
  lpApproval,
  postGithub,
  postLaunchpad,
  push,
  until,
} from './helpers.js';

const secrets = { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token };

describe('brain: webhooks in, Jenkins builds out', () => {
  let dir: string;
  let jenkins: JenkinsServer;
  let brain: Brain;
  let n = 0;
  const id = () => `d-${process.pid}-${++n}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-brain-'));
    jenkins = await startJenkinsServer({ ...JENKINS, jobs: JOBS });
    brain = await startBrain({ config: config(jenkins.url), storePath: join(dir, 'byoci.db'), secrets, log: silentLogger() });
  });
  after(async () => {
    await brain?.close();
    await jenkins?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a signed approval triggers the land job once; its redelivery nothing; a forged one is 401', async () => {
    const before = jenkins.builds.length;
    const delivery = id();
    const first = await postGithub(brain.url, 'pull_request_review', delivery, approval());
    assert.equal(first.status, 202, first.body);
    const decision = JSON.parse(first.body).triggers[0] as string;
    assert.ok(decision);
    await until(() => jenkins.withParam('BYOCI_DECISION', decision).length === 1, 'the land build');
    const [build] = jenkins.withParam('BYOCI_DECISION', decision);
    assert.equal(build?.job, 'hello-land');
    assert.match(build?.params.REASON ?? '', /Codertocat\/Hello-World#\d+ review submitted APPROVED/);

    const again = await postGithub(brain.url, 'pull_request_review', delivery, approval());
    assert.equal(again.status, 200);
    assert.deepEqual(JSON.parse(again.body), { duplicate: true, delivery });

    const forged = await postGithub(brain.url, 'pull_request_review', id(), approval(), 'not the secret');
    assert.equal(forged.status, 401);
    await brain.dispatcher.idle();
    await new Promise((r) => setTimeout(r, 600)); // longer than the coalesce window
    assert.equal(jenkins.builds.length, before + 1, 'one build in all');
    const row = brain.journal.trigger(decision);
    assert.ok(row && (row.state === 'queued' || row.state === 'started'));
    assert.match(row.queueUrl ?? '', /\/queue\/item\/\d+\/$/);
  });

  test('refusals: 415 not JSON, 400 malformed, 405 not POST, 413 too large, 401 unsigned; ping is 200', async () => {
    const body = JSON.stringify(approval());
    const url = new URL('hooks/github', brain.url).toString();
    const form = await http(url, { method: 'POST', headers: { ...githubHeaders('pull_request_review', id(), body), 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(form.status, 415);
    assert.match(form.body, /application\/json/);
    const broken = '{"action": "submitted", ';
    assert.equal((await postGithub(brain.url, 'pull_request_review', id(), broken)).status, 400);
    const missing = JSON.stringify({ action: 'submitted', repository: { full_name: 'a/b' } });
    const m = await postGithub(brain.url, 'pull_request_review', id(), missing);
    assert.equal(m.status, 400);
    assert.match(m.body, /pull_request/);
    assert.equal((await http(url)).status, 405);
    const unsigned = { ...githubHeaders('pull_request_review', id(), body) };
    delete (unsigned as Record<string, string | undefined>)['x-hub-signature-256'];
    assert.equal((await http(url, { method: 'POST', headers: unsigned, body })).status, 401);
    const ping = await postGithub(brain.url, 'ping', id(), example('ping'));
    assert.equal(ping.status, 200);
    assert.equal(JSON.parse(ping.body).pong, true);
    const lpPing = await postLaunchpad(brain.url, 'ping', id(), { ping: true });
    assert.equal(lpPing.status, 200);
    const lpForged = await postLaunchpad(brain.url, 'merge-proposal:0.1', id(), lpApproval(), 'wrong');
    assert.equal(lpForged.status, 401);
    assert.equal((await http(new URL('nowhere', brain.url).toString())).status, 404);
  });

  test('413 for a delivery over brain.maxBodyBytes', async () => {
    const small = await startBrain({
      config: config(jenkins.url, { maxBodyBytes: 4096 }),
      storePath: join(dir, 'small.db'),
      secrets,
      log: silentLogger(),
    });
    try {
      const big = await postGithub(small.url, 'push', id(), push({ branch: 'master', after: 'a'.repeat(40), pad: 8192 }));
      assert.equal(big.status, 413);
      const ok = await postGithub(small.url, 'ping', id(), { zen: 'small', hook_id: 1 });
      assert.equal(ok.status, 200);
    } finally {
      await small.close();
    }
  });

  test('a flurry of landing events on one target gives one build; pushes one build each', async () => {
    const before = jenkins.builds.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const label = example('pull_request', 'labeled');
        label.label.name = 'byoci:land';
        label.pull_request.base.ref = 'master';
        const comment = example('issue_comment', 'created');
        comment.comment.body = '@byoci land please';
        comment.issue.pull_request = { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/2' };
        return i % 3 === 0
          ? postGithub(brain.url, 'pull_request', id(), label)
          : i % 3 === 1
            ? postGithub(brain.url, 'issue_comment', id(), comment)
            : postGithub(brain.url, 'pull_request_review', id(), approval({ number: i }));
      }),
    );
    assert.deepEqual(answers.map((a) => a.status), Array(20).fill(202));
    const decisions = new Set(answers.map((a) => JSON.parse(a.body).triggers[0] as string));
    assert.equal(decisions.size, 1, 'one decision for the burst');
    const pushes = await Promise.all([1, 2, 3].map((k) => postGithub(brain.url, 'push', id(), push({ branch: `topic-${k}`, after: String(k).repeat(40) }))));
    assert.deepEqual(pushes.map((a) => a.status), [202, 202, 202]);
    await until(() => jenkins.builds.length === before + 4, 'one land build and three test builds');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(jenkins.builds.length, before + 4);
    const land = jenkins.builds.filter((b) => b.job === 'hello-land').at(-1);
    assert.equal(brain.journal.trigger(land?.params.BYOCI_DECISION ?? '')?.events, 20);
    assert.deepEqual(
      jenkins.builds.slice(before).filter((b) => b.job === 'hello-test').map((b) => [b.job, b.params.BRANCH]).sort(),
      [['hello-test', 'topic-1'], ['hello-test', 'topic-2'], ['hello-test', 'topic-3']],
    );
  });

  test('a Launchpad approval triggers brz-land with the proposal', async () => {
    const mp = '/~alice/brz/+git/brz/+merge/4242';
    const answer = await postLaunchpad(brain.url, 'merge-proposal:0.1', '912', lpApproval(mp));
    assert.equal(answer.status, 202, answer.body);
    await until(() => jenkins.builds.some((b) => b.job === 'brz-land' && b.params.PROPOSAL === mp), 'the brz-land build');
  });

  test('Jenkins down, then failing: deliveries are accepted, the backlog drains once when it is back', async () => {
    jenkins.down();
    const before = jenkins.builds.length;
    const answers = await Promise.all([1, 2, 3, 4, 5].map((k) => postGithub(brain.url, 'push', id(), push({ branch: `outage-${k}`, after: String(k).repeat(40) }))));
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 202, 202]);
    await until(() => brain.journal.recentTriggers(5).every((t) => t.attempts >= 2), 'retries during the outage');
    jenkins.failNext(3);
    jenkins.up();
    await until(() => jenkins.builds.length === before + 5, 'the backlog');
    await brain.dispatcher.idle();
    const ids = jenkins.builds.slice(before).map((b) => b.params.BYOCI_DECISION);
    assert.equal(new Set(ids).size, 5);
  });

  test('status page, JSON twin, healthz and metrics', async () => {
    const page = await http(brain.url);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /hello-land/);
    const json = JSON.parse((await http(new URL('status.json', brain.url).toString())).body);
    assert.ok(json.deliveries > 0);
    assert.ok(json.triggers.some((t: { job: string }) => t.job === 'hello-land'));
    const health = await http(new URL('healthz', brain.url).toString());
    assert.equal(health.status, 200);
    const metrics = await http(new URL('metrics', brain.url).toString());
    assert.match(metrics.body, /^# TYPE byoci_brain_deliveries_total counter$/m);
    assert.match(metrics.body, /^byoci_brain_deliveries_total\{source="github",outcome="accepted"\} \d+$/m);
    assert.match(metrics.body, /^byoci_brain_deliveries_total\{source="github",outcome="401"\} \d+$/m);
    assert.match(metrics.body, /^byoci_brain_triggers\{job="hello-test",state="(queued|started)"\} \d+$/m);
  });
});

describe('brain: start-up', () => {
  test('a configured source without its secret is a startup error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-brain-'));
    try {
      await assert.rejects(
        startBrain({ config: config('http://127.0.0.1:9/'), storePath: join(dir, 'x.db'), secrets: { github: GITHUB_SECRET, jenkinsToken: 't' }, log: silentLogger() }),
        /missing secret brain\/launchpad-webhook-secret: the brain never accepts unsigned webhooks/,
      );
      await assert.rejects(
        startBrain({ config: config('http://127.0.0.1:9/'), storePath: join(dir, 'x.db'), secrets: { github: GITHUB_SECRET, launchpad: 'x' }, log: silentLogger() }),
        /brain\/jenkins-token/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
