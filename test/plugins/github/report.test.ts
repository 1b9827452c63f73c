/**
 * report and verify taps against the local GitHub: idempotent statuses and comments,
 * what a rejection comment may and may not contain, and the problems verify collects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Outcome, Proposal } from '../../../hooks/index.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import type { Harness } from '../../support/harness.js';
import { REPO, discover, githubHarness, makeWorld, only, projectOf, targetOf, type World } from './helpers.js';

const BUILD_URL = 'https://jenkins.example.invalid/job/land/7/';

describe('github plugin: report and verify', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let h: Harness;
  before(async () => {
    world = await makeWorld();
    h = await githubHarness(world, {}, { buildUrl: BUILD_URL });
  });
  after(async () => {
    h.cleanup();
    await world.close();
  });

  async function triggeredPull(branch: string): Promise<Proposal> {
    const { number } = await world.openPull(branch, { [`${branch}.txt`]: 'x\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    return only(await discover(h, world), number);
  }

  function writesDuring(fn: () => Promise<void>): Promise<string[]> {
    const before = world.gh.requests.length;
    return fn().then(() =>
      world.gh.requests
        .slice(before)
        .filter((r) => r.method !== 'GET')
        .map((r) => `${r.method} ${r.path}`),
    );
  }

  test('started sets one pending status with the build URL, however often it is reported', async () => {
    const proposal = await triggeredPull('pending');
    const project = projectOf(world);
    const started: Outcome = { kind: 'started', proposal, project };
    const first = await writesDuring(() => h.hooks.report.promise(started));
    assert.deepEqual(first, [`POST /repos/${REPO}/statuses/${proposal.approvedRevision}`]);
    const second = await writesDuring(() => h.hooks.report.promise(started));
    assert.deepEqual(second, []);
    const [status] = world.gh.statuses(REPO, proposal.approvedRevision!);
    assert.equal(status?.state, 'pending');
    assert.equal(status?.context, 'byoci');
    assert.equal(status?.target_url, BUILD_URL);
    assert.equal(status?.description, 'Testing the merge into main');
  });

  test('a rejection posts one comment, one failure status and removes the label, once', async () => {
    const proposal = await triggeredPull('rejected');
    const number = (proposal.meta as { number: number }).number;
    const project = projectOf(world);
    const longReason = `The tests failed (exit code 1). ${'very '.repeat(40)}long`;
    const rejected: Outcome = {
      kind: 'rejected',
      proposal,
      project,
      rejection: {
        code: 'tests-failed',
        reason: `${longReason} @carol <!-- byoci:answer trigger=comment-1 code=x -->`,
        details: `${'noise line\n'.repeat(2000)}last line with \`\`\`\` fences and ${world.gh.token}\n`,
      },
    };
    const first = await writesDuring(() => h.hooks.report.promise(rejected));
    assert.deepEqual(first.sort(), [
      `DELETE /repos/${REPO}/issues/${number}/labels/byoci%3Aland`,
      `POST /repos/${REPO}/issues/${number}/comments`,
      `POST /repos/${REPO}/statuses/${proposal.approvedRevision}`,
    ].sort());
    const second = await writesDuring(() => h.hooks.report.promise(rejected));
    assert.deepEqual(second, [`DELETE /repos/${REPO}/issues/${number}/labels/byoci%3Aland`], 'only the removal of the label, already gone (404)');

    const status = world.gh.statuses(REPO, proposal.approvedRevision!)[0];
    assert.equal(status?.state, 'failure');
    assert.ok(String(status?.description).length <= 140);
    assert.match(String(status?.description), /^The tests failed \(exit code 1\)\. very/);

    const comments = world.gh.comments(REPO, number);
    assert.equal(comments.length, 1);
    const body = String(comments[0]!.body);
    assert.ok(body.length < 8000, 'details are cut to maxCommentDetails');
    assert.match(body, /\[\.\.\. \d+ characters cut \.\.\.\]/);
    assert.match(body, /`````\n/, 'a fence longer than any backtick run in the output');
    assert.match(body, /last line with ```` fences and \[REDACTED\]/);
    assert.ok(!body.includes(world.gh.token));
    assert.ok(!body.includes('@carol'), 'no mention from untrusted text');
    assert.equal((body.match(/<!--/g) ?? []).length, 1, 'only byoci\'s own marker, the forged one is escaped');
    assert.deepEqual((await world.gh.pull(REPO, number)).labels, []);

    // The trigger is now handled: discover says so instead of rejecting again.
    const after = only(await discover(h, world), number);
    assert.equal(after.readiness.state, 'waiting');
  });

  test('a rejection reason with Markdown links and images shows them as text, not as a link or an image', async () => {
    const proposal = await triggeredPull('md-links');
    const number = (proposal.meta as { number: number }).number;
    const reason = 'The test tests/[release notes](https://evil.example.invalid/) failed ![x](https://evil.example.invalid/p.png) in C:\\dir\\[y](z).';
    await h.hooks.report.promise({ kind: 'rejected', proposal, project: projectOf(world), rejection: { code: 'tests-failed', reason } });
    const paragraph = String(world.gh.comments(REPO, number)[0]!.body).split('\n\n')[1]!;
    assert.equal(paragraph, 'The test tests/\\[release notes\\](https://evil.example.invalid/) failed !\\[x\\](https://evil.example.invalid/p.png) in C:\\\\dir\\\\\\[y\\](z).');
    // CommonMark: a bracket is literal when an odd number of backslashes precede it (an even number escape each other).
    for (const m of paragraph.matchAll(/(\\*)[[\]]/g)) assert.equal(m[1]!.length % 2, 1, `bracket at ${m.index} is escaped`);
  });

  test('a marker comment posted by a non-writer does not mark a trigger handled', async () => {
    const { number } = await world.openPull('forged-marker', { 'fm.txt': 'x\n' });
    const commentId = world.gh.comment(REPO, number, 'dave', '@byoci land');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    world.gh.comment(REPO, number, 'mallory', `<!-- byoci:answer trigger=comment-${commentId} code=votes -->`);
    assert.deepEqual(only(await discover(h, world), number).readiness, { state: 'ready' });
  });

  test('landed sets success on the head and on the landed commit; error sets error', async () => {
    const proposal = await triggeredPull('landed');
    const project = projectOf(world);
    const head = proposal.approvedRevision!;
    await h.hooks.report.promise({ kind: 'landed', proposal, project, revision: head });
    assert.equal(world.gh.statuses(REPO, head)[0]?.state, 'success');
    await h.hooks.report.promise({ kind: 'error', proposal, project, message: `lost ${world.gh.token}` });
    const status = world.gh.statuses(REPO, head)[0];
    assert.equal(status?.state, 'error');
    assert.equal(status?.description, 'byoci failed: lost [REDACTED]');
  });

  test('a batched rejection says why it was judged the culprit; a batched landing comments once in which run, with whom; both escaped', async () => {
    const project = projectOf(world);
    const hostile = 'github:acme/widget#9 <img src=x onerror=alert(1)> @carol <!-- byoci:answer trigger=comment-1 code=x -->';
    const culprit = await triggeredPull('batch-culprit');
    const cn = (culprit.meta as { number: number }).number;
    const why = `Judged the culprit of batch (${hostile}, ${culprit.id}): its tests failed on top of the tip and ${hostile} ahead of it, which passed (run 6); runs it was in: 1, 2, 4, 5, 6.`;
    const rejected: Outcome = { kind: 'rejected', proposal: culprit, project, rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 1).', details: 'found bad file: p5-bad.txt\n' }, batch: why };
    await h.hooks.report.promise(rejected);
    await h.hooks.report.promise({ ...rejected, replay: true });
    const [comment, ...more] = world.gh.comments(REPO, cn);
    assert.equal(more.length, 0, 'one comment, however often reported');
    const body = String(comment!.body);
    assert.match(body, /^<!-- byoci:answer trigger=\S+ code=tests-failed -->\n/);
    const paragraphs = body.split('\n\n');
    assert.equal(paragraphs[1], 'The tests failed (exit code 1).');
    assert.match(paragraphs[2]!, /^Judged the culprit of batch \(github:acme\/widget#\u200b9 &lt;img src=x onerror=alert\(1\)&gt; @\u200bcarol &lt;!-- byoci:answer/);
    assert.match(paragraphs[2]!, /runs it was in: 1, 2, 4, 5, 6\.$/);
    assert.match(body, /found bad file: p5-bad\.txt/);
    assert.equal((body.match(/<!--/g) ?? []).length, 1, 'only byoci\'s own marker');
    assert.ok(!body.includes('<img'), 'no HTML from untrusted text');

    const member = await triggeredPull('batch-member');
    const mn = (member.meta as { number: number }).number;
    const head = member.approvedRevision!;
    const landed = `Landed in run 3 of batch (${hostile}, ${member.id}) with ${hostile}, ${member.id}, tested together as ${head}; runs it was in: 1, 2, 3.`;
    // The landed revision must exist on GitHub (a status on an unknown commit is a 422): the head stands in for the merge.
    const outcome: Outcome = { kind: 'landed', proposal: member, project, revision: head, batch: landed };
    const first = await writesDuring(() => h.hooks.report.promise(outcome));
    assert.ok(first.includes(`POST /repos/${REPO}/issues/${mn}/comments`), first.join(', '));
    const second = await writesDuring(() => h.hooks.report.promise({ ...outcome, replay: true }));
    assert.deepEqual(second, [], 'a rerun writes nothing again');
    const landedComments = world.gh.comments(REPO, mn);
    assert.equal(landedComments.length, 1);
    const text = String(landedComments[0]!.body);
    assert.match(text, new RegExp(`^<!-- byoci:answer trigger=\\S+ code=landed -->\\nbyoci landed this pull request \\(head ${head.slice(0, 12)}\\) as ${head.slice(0, 12)}\\.\\n\\nLanded in run 3 of batch \\(`));
    assert.match(text, /runs it was in: 1, 2, 3\./);
    assert.match(text, /Build: https:\/\/jenkins\.example\.invalid\/job\/land\/7\//);
    assert.equal((text.match(/<!--/g) ?? []).length, 1);
    assert.ok(!text.includes('<img') && !text.includes('@carol'));
    assert.equal(world.gh.statuses(REPO, head)[0]?.state, 'success');

    // A landing alone (no batch) still writes no comment.
    const alone = await triggeredPull('alone');
    await h.hooks.report.promise({ kind: 'landed', proposal: alone, project, revision: alone.approvedRevision! });
    assert.equal(world.gh.comments(REPO, (alone.meta as { number: number }).number).length, 0);
  });

  test('outcomes of other forges are not reported', async () => {
    const proposal = await triggeredPull('other-forge');
    const writes = await writesDuring(() =>
      h.hooks.report.promise({ kind: 'started', proposal: { ...proposal, forge: 'launchpad' }, project: projectOf(world) }),
    );
    assert.deepEqual(writes, []);
  });

  test('verify notes a reachable repository and collects every problem', async () => {
    const problems: { source: string; message: string }[] = [];
    const notes: { source: string; message: string }[] = [];
    const good = projectOf(world);
    const bad = { ...projectOf(world), name: 'bad', targets: [targetOf(world, { repo: 'acme/missing' })] };
    await h.hooks.verify.promise({ projects: [good, bad], problems, notes, signal: h.run.signal });
    assert.deepEqual(notes, [{ source: 'github', message: `acme/widget reachable at ${world.gh.url}, default branch main` }]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /^projects\.bad\.targets\[0\]: cannot read acme\/missing at .*: HTTP 404/);

    const readOnly = await githubHarness(world, {}, {});
    world.gh.setPermission(REPO, world.gh.botLogin, 'read');
    try {
      const p2: { source: string; message: string }[] = [];
      await readOnly.hooks.verify.promise({ projects: [good], problems: p2, notes: [], signal: readOnly.run.signal });
      assert.match(p2[0]?.message ?? '', /the token cannot push to acme\/widget/);
    } finally {
      world.gh.setPermission(REPO, world.gh.botLogin, 'write');
      readOnly.cleanup();
    }
  });
});
