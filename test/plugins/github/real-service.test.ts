/**
 * The github plugin against the local GitHub answering as GitHub does (issue events,
 * lost answers to writes, the bot's own comments, paged statuses, forks, branch
 * protection, ETags): each test is a way the plugin once trusted an answer GitHub does not
 * give.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Octokit } from '@octokit/rest';
import { after, before, describe, test } from 'node:test';
import type { Outcome, Proposal } from '../../../hooks/index.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import type { Harness } from '../../support/harness.js';
import { marker } from '../../../plugins/github/comments.js';
import type { GithubMeta } from '../../../plugins/github/discover.js';
import { REPO, discover, githubHarness, makeWorld, only, projectOf, type World } from './helpers.js';

const require = createRequire(import.meta.url);

describe('github plugin: as the real service behaves', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let h: Harness;
  before(async () => {
    world = await makeWorld();
    h = await githubHarness(world);
  });
  after(async () => {
    h.cleanup();
    await world.close();
  });

  async function approvedPull(branch: string, labeller = 'carol'): Promise<{ number: number; head: string }> {
    const pr = await world.openPull(branch, { [`${branch}.txt`]: 'x\n' });
    world.gh.label(REPO, pr.number, 'byoci:land', labeller);
    await world.gh.review(REPO, pr.number, { user: 'carol', state: 'APPROVED' });
    return pr;
  }

  const rejected = (proposal: Proposal, details?: string): Outcome => ({
    kind: 'rejected',
    proposal,
    project: projectOf(world),
    rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 1).', ...(details ? { details } : {}) },
  });

  test('a label counts through the event that added it as it is now: writer adds, writer removes, triage adds back → not triggered', async () => {
    const { number } = await approvedPull('relabelled');
    assert.equal(only(await discover(h, world), number).readiness.state, 'ready');
    world.gh.unlabel(REPO, number, 'byoci:land', 'carol');
    world.gh.label(REPO, number, 'byoci:land', 'mallory'); // triage: may label, may not trigger
    const p = only(await discover(h, world), number);
    assert.equal(p.readiness.state, 'waiting');
    assert.match(p.readiness.state === 'waiting' ? p.readiness.reason : '', /label "byoci:land" added by mallory \(permission triage\)/);
  });

  test('a comment POST answered 502 after GitHub applied it: looked for, one comment; a status likewise written once', async () => {
    const { number, head } = await approvedPull('lost-answers');
    const proposal = only(await discover(h, world), number);
    world.gh.failNext(
      { status: 502, message: 'Server Error', match: /^POST \/repos\/acme\/widget\/statuses\//, afterApplying: true },
      { status: 502, message: 'Server Error', match: /^POST \/repos\/acme\/widget\/issues\/\d+\/comments$/, afterApplying: true },
    );
    await h.hooks.report.promise(rejected(proposal));
    const mine = world.gh.comments(REPO, number).filter((c) => (c.user as { login: string }).login === world.gh.botLogin);
    assert.equal(mine.length, 1, 'one comment');
    const byoci = world.gh.statuses(REPO, head).filter((s) => s.context === 'byoci');
    assert.deepEqual(byoci.map((s) => s.state), ['failure'], 'one status');
  });

  test('markers count only as the first line of a comment the bot authored', async () => {
    // Test output quoting marker text does not mark a later trigger handled.
    const { number } = await approvedPull('printed-marker');
    const first = only(await discover(h, world), number);
    const forged = marker('label-event-999999', 'tests-failed');
    await h.hooks.report.promise(rejected(first, `FAIL\n${forged}\n${marker(String((first.meta as GithubMeta).triggerId), 'x')}`));
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    assert.equal(only(await discover(h, world), number).readiness.state, 'ready', 'the new trigger is not suppressed by quoted output');

    // Someone else's comment carrying the marker does not stop the bot's rejection comment.
    const { number: other } = await approvedPull('someone-elses-marker');
    const p = only(await discover(h, world), other);
    world.gh.comment(REPO, other, 'alice', `${marker(String((p.meta as GithubMeta).triggerId), 'tests-failed')}\nnothing to see`);
    assert.equal(only(await discover(h, world), other).readiness.state, 'ready', "alice's marker does not answer the trigger");
    await h.hooks.report.promise(rejected(p));
    const mine = world.gh.comments(REPO, other).filter((c) => (c.user as { login: string }).login === world.gh.botLogin);
    assert.equal(mine.length, 1);
  });

  test('ensureStatus reads every page: its own status behind 100 newer ones of other contexts is found', async () => {
    const { number, head } = await approvedPull('many-statuses');
    const proposal = only(await discover(h, world), number);
    await h.hooks.report.promise({ kind: 'started', proposal, project: projectOf(world) });
    const octokit = (await import('@octokit/rest')).Octokit;
    const gh = new octokit({ baseUrl: world.gh.url, auth: world.gh.token });
    for (let i = 0; i < 101; i++) {
      await gh.rest.repos.createCommitStatus({ owner: 'acme', repo: 'widget', sha: head, state: 'success', context: `ci/other-${i}` });
    }
    await h.hooks.report.promise({ kind: 'started', proposal, project: projectOf(world) });
    assert.equal(world.gh.statuses(REPO, head).filter((s) => s.context === 'byoci').length, 1, 'not written twice');
  });

  test('a target whose protection refuses the bot\'s push is a verify problem (read from the branch protection API)', async () => {
    const verify = async () => {
      const payload = { projects: [projectOf(world)], problems: [] as { message: string; hint?: string }[], notes: [] as { message: string }[], signal: h.run.signal };
      await h.hooks.verify.promise(payload as unknown as Parameters<typeof h.hooks.verify.promise>[0]);
      return payload;
    };
    assert.deepEqual((await verify()).problems, [], 'unprotected: fine');
    world.gh.setPermission(REPO, world.gh.botLogin, 'admin');
    world.gh.protect(REPO, 'main', { requiredReviews: { count: 1 }, enforceAdmins: true, requiredStatusChecks: ['ci/lint'] });
    const refused = await verify();
    assert.equal(refused.problems.length, 1, JSON.stringify(refused.problems));
    assert.match(refused.problems[0]!.message, /the protection of acme\/widget:main refuses byoci-bot's push \(GH006: Protected branch update failed\): changes must be made through a pull request \(required reviews\); required status checks \(ci\/lint\)/);
    // An admin with "Include administrators" off bypasses the rules: no problem, a note.
    world.gh.protect(REPO, 'main', { requiredReviews: { count: 1 } });
    const allowed = await verify();
    assert.deepEqual(allowed.problems, []);
    assert.ok(allowed.notes.some((n) => /acme\/widget:main is protected; its rules let byoci-bot push/.test(n.message)));
  });

  test("a 422 is GitHub's: message \"Validation Failed\" and the reason in errors[] (as @octokit/fixtures' errors scenario), which Octokit shows whole", async () => {
    const { head } = await approvedPull('validation');
    const real = (require('@octokit/fixtures/scenarios/api.github.com/errors/normalized-fixture.json') as { status: number; response: Record<string, unknown> }[]).find((f) => f.status === 422)!.response;
    const octokit = new Octokit({ baseUrl: world.gh.url, auth: world.gh.token, log: { debug() {}, info() {}, warn() {}, error() {} } });
    const error = await octokit.rest.repos
      .createCommitStatus({ owner: 'acme', repo: 'widget', sha: head, state: 'failure', description: 'x'.repeat(141) })
      .catch((e: unknown) => e as { status: number; message: string; response: { data: Record<string, unknown> } });
    assert.ok(error && typeof error === 'object' && 'status' in error, String(error));
    assert.equal(error.status, 422);
    const data = error.response.data;
    assert.equal(data.message, real.message);
    // Every field of the fixture's error ({resource, code, field}); the OpenAPI validation-error schema allows a message beside them.
    const ours = Object.keys((data.errors as Record<string, unknown>[])[0]!);
    for (const key of Object.keys((real.errors as Record<string, unknown>[])[0]!)) assert.ok(ours.includes(key), `errors[0].${key}`);
    assert.deepEqual(data.errors, [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }]);
    assert.match(error.message, /^Validation Failed: \{"resource":"Status","code":"custom","field":"description","message":"description is too long \(maximum is 140 characters\)"\}/);
  });
});
