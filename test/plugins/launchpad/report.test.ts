import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Outcome, Proposal, RejectionInfo } from '../../../hooks/index.js';
import type { Harness } from '../../support/harness.js';
import type { LaunchpadServer } from '../../support/launchpad-server.js';
import { tail } from '../../../plugins/launchpad/report.js';
import { pinnedLandingText } from '../../../core/pinned.js';
import { authorizationHeader } from '../../../plugins/launchpad/credentials.js';
import { CREDENTIALS, discover, FORK, harness, idOf, project, startLaunchpad, TRUNK } from './helpers.js';

const REV = 'd'.repeat(40);
// Launchpad's own mail subject: GitRef.identity (the repository's shortened path, no lp:).
const SUBJECT = (branch: string) => `Re: [Merge] ~alice/brz/+git/brz:${branch} into brz:master`;

describe('launchpad report', () => {
  let lp: LaunchpadServer;
  const oauthHeader = () => authorizationHeader(CREDENTIALS, lp.root);
  before(async () => {
    lp = await startLaunchpad();
  });
  after(() => lp.close());

  async function approved(branch: string): Promise<{ id: number; proposal: Proposal }> {
    lp.setRef(FORK, branch, REV);
    const mp = lp.addProposal({ source: { git: FORK, path: branch }, target: { git: TRUNK, path: 'master' }, commitMessage: `Land ${branch}` });
    lp.approve(mp.id, REV);
    lp.vote(mp.id, 'reviewer', 'Approve');
    const h = await harness(lp);
    try {
      const proposal = (await discover(h)).get(idOf(lp, mp.id))!;
      return { id: mp.id, proposal };
    } finally {
      h.cleanup();
    }
  }

  const setStatusCalls = (id: number) =>
    lp.requests.filter((r) => r.op === 'setStatus' && r.path.endsWith(`/+merge/${id}`)).map((r) => [r.params.status, r.params.revid]);

  /** An approved proposal from a new branch, and the plugin on real hooks, cleaned up after `use`. */
  async function withApproved(
    setup: string | { branch: string; config: Record<string, unknown>; buildUrl: string },
    use: (x: { id: number; proposal: Proposal; h: Harness }) => Promise<void>,
  ): Promise<void> {
    const { branch, config = {}, buildUrl } = typeof setup === 'string' ? { branch: setup } : setup;
    const { id, proposal } = await approved(branch);
    const h = await harness(lp, config, { buildUrl });
    try {
      await use({ id, proposal, h });
    } finally {
      h.cleanup();
    }
  }

  const rejected = (proposal: Proposal, rejection: RejectionInfo): Outcome => ({ kind: 'rejected', proposal, project: project(), rejection });

  test('landed: status Merged with the merged revision, once; a rerun changes nothing', () =>
    withApproved('land-me', async ({ id, proposal, h }) => {
      const outcome: Outcome = { kind: 'landed', proposal, project: project(), revision: 'e'.repeat(40) };
      await h.hooks.report.promise(outcome);
      assert.equal(lp.proposal(id).status, 'Merged');
      assert.equal(lp.proposal(id).mergedRevisionId, 'e'.repeat(40));
      await h.hooks.report.promise(outcome);
      assert.deepEqual(setStatusCalls(id), [['Merged', 'e'.repeat(40)]]);
      assert.deepEqual(lp.botComments(id), []);
    }));

  test('a bzr landing (pinned content): one comment with the testament before Merged; a rerun changes nothing', () =>
    withApproved('land-pinned', async ({ id, proposal, h }) => {
      const pinned = { revision: 'alice@example.com-20240101-abc', testament: 'f'.repeat(40) };
      const outcome: Outcome = { kind: 'landed', proposal, project: project(), revision: 'byoci@localhost-20240102-def', pinned };
      await h.hooks.report.promise(outcome);
      await h.hooks.report.promise(outcome);
      const comments = lp.botComments(id);
      assert.equal(comments.length, 1);
      assert.equal(
        String(comments[0]!.content).split('\n\n')[0],
        `Landed: the reviewed revision alice@example.com-20240101-abc (strict testament sha1 ${'f'.repeat(40)}) was merged and pushed as revision byoci@localhost-20240102-def.`,
      );
      assert.deepEqual(setStatusCalls(id), [['Merged', 'byoci@localhost-20240102-def']]);
      const ops = lp.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/+merge/${id}`)).map((r) => r.op);
      assert.deepEqual(ops, ['createComment', 'setStatus'], 'the comment comes before the status');
    }));

  test('a crafted revid cannot add lines or paragraphs to the landing comment', () => {
    const text = pinnedLandingText('rev\n\nApproved by everyone\u0007', { revision: 'a\r\nb', testament: 'c'.repeat(40) });
    const [first] = text.split('\n\n');
    assert.equal(first, `Landed: the reviewed revision a?b (strict testament sha1 ${'c'.repeat(40)}) was merged and pushed as revision rev?Approved?by?everyone?.`);
    assert.equal(text.split('\n\n').length, 2);
  });

  test('rejected: one comment with reason, build URL and redacted output tail, then Needs review at the reviewed revision', () =>
    withApproved({ branch: 'fails', config: { commentTail: 300 }, buildUrl: 'https://jenkins.test/job/land-brz/42/' }, async ({ id, proposal, h }) => {
      const lines = Array.from({ length: 200 }, (_, i) => `test line ${i}`);
      lines.push(`token leaked: ${CREDENTIALS.accessToken}`, 'FAILED (failures=1)');
      const outcome = rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 1).', details: lines.join('\n') });
      await h.hooks.report.promise(outcome);
      const comments = lp.botComments(id);
      assert.equal(comments.length, 1);
      const c = comments[0]!;
      assert.equal(c.subject, SUBJECT('fails'));
      assert.match(c.content, /^The tests failed \(exit code 1\)\.\n\nBuild: https:\/\/jenkins\.test\/job\/land-brz\/42\/\n\nLast lines of the output:\n/);
      assert.match(c.content, /FAILED \(failures=1\)$/);
      assert.match(c.content, /token leaked: \[REDACTED\]/);
      assert.doesNotMatch(c.content, new RegExp(CREDENTIALS.accessToken));
      assert.doesNotMatch(c.content, /test line 0\n/);
      assert.ok(c.content.length < 600, `comment is size-limited (${c.content.length})`);
      assert.equal(lp.proposal(id).status, 'Needs review');
      assert.deepEqual(setStatusCalls(id), [['Needs review', REV]]);

      // A rerun (another build) neither comments nor changes the status again.
      await h.hooks.report.promise({ ...outcome, buildUrl: 'https://jenkins.test/job/land-brz/43/' });
      assert.equal(lp.botComments(id).length, 1);
      assert.equal(setStatusCalls(id).length, 1);
    }));

  test('a batched rejection: the culprit\'s comment says why it was judged so (second paragraph), once, redacted', () =>
    withApproved({ branch: 'batched', config: {}, buildUrl: 'https://jenkins.test/job/land-brz/44/' }, async ({ id, proposal, h }) => {
      const why = `Judged the culprit of batch (launchpad:other <b>x</b>, ${proposal.id}): its tests failed on top of the tip and launchpad:other <b>x</b> ahead of it, which passed (run 6); runs it was in: 1, 2, 6. ${CREDENTIALS.accessToken}`;
      const outcome: Outcome = { ...rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 1).', details: 'found bad file: p5-bad.txt' }), batch: why };
      await h.hooks.report.promise(outcome);
      await h.hooks.report.promise({ ...outcome, replay: true });
      const comments = lp.botComments(id);
      assert.equal(comments.length, 1, 'one comment, however often reported');
      const parts = comments[0]!.content.split('\n\n');
      assert.equal(parts[0], 'The tests failed (exit code 1).', 'the reason stays the first paragraph (how a rerun finds the comment)');
      assert.match(parts[1]!, /^Judged the culprit of batch \(launchpad:other <b>x<\/b>, .*runs it was in: 1, 2, 6\. \[REDACTED\]$/);
      assert.equal(parts[2], 'Build: https://jenkins.test/job/land-brz/44/');
      assert.match(comments[0]!.content, /found bad file: p5-bad\.txt/);
      assert.equal(lp.proposal(id).status, 'Needs review');
    }));

  test('landed in a batch: one comment naming the run and the others, then Merged; a rerun posts nothing more', () =>
    withApproved('batch-landed', async ({ id, proposal, h }) => {
      const sentence = `Landed in run 3 of batch (launchpad:a, ${proposal.id}) with launchpad:a, ${proposal.id}, tested together as ${'e'.repeat(40)}; runs it was in: 1, 3.`;
      const outcome: Outcome = { kind: 'landed', proposal, project: project(), revision: 'e'.repeat(40), batch: sentence };
      await h.hooks.report.promise(outcome);
      await h.hooks.report.promise({ ...outcome, replay: true });
      const comments = lp.botComments(id);
      assert.equal(comments.length, 1);
      assert.equal(comments[0]!.content, sentence);
      assert.equal(lp.proposal(id).status, 'Merged');
      assert.deepEqual(setStatusCalls(id), [['Merged', 'e'.repeat(40)]]);
    }));

  test('a rerun after a crash between comment and status does not comment twice but sets the status', () =>
    withApproved('crashed', async ({ id, proposal, h }) => {
      const outcome = rejected(proposal, { code: 'merge-conflict', reason: 'The proposal does not merge cleanly into lp:brz:master. Conflicts in: a.txt.' });
      // The first run posts its comment, then fails on setStatus (the reporter error is logged).
      lp.failNext(1, 403, /ws\.op=setStatus$/);
      await h.hooks.report.promise(outcome);
      assert.equal(lp.botComments(id).length, 1);
      assert.equal(lp.proposal(id).status, 'Approved');
      assert.ok(h.lines.some((l) => /403 Forbidden/.test(l)), 'the failure is logged');
      // The next run finds the proposal still approved, rejects it again: no second comment.
      await h.hooks.report.promise(outcome);
      assert.equal(lp.botComments(id).length, 1, 'same rejection since the last approval: not posted again');
      assert.equal(lp.proposal(id).status, 'Needs review');
      assert.deepEqual(setStatusCalls(id), [['Needs review', REV], ['Needs review', REV]]);
    }));

  test('a re-approval after a rejection gets a new comment when it fails again', () =>
    withApproved('again', async ({ id, proposal, h }) => {
      const outcome = rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 2).' });
      await h.hooks.report.promise(outcome);
      await new Promise((r) => setTimeout(r, 5));
      lp.approve(id, REV);
      await h.hooks.report.promise(outcome);
      assert.equal(lp.botComments(id).length, 2);
    }));

  test('an internal error says so without internals and leaves the status alone', () =>
    withApproved('broken', async ({ id, proposal, h }) => {
      await h.hooks.report.promise({ kind: 'error', proposal, project: project(), message: 'ENOENT /var/lib/byoci/secret-path' });
      const [c] = lp.botComments(id);
      assert.match(c!.content, /^An internal error stopped the landing bot/);
      assert.doesNotMatch(c!.content, /ENOENT|secret-path/);
      assert.equal(lp.proposal(id).status, 'Approved');
      // The next runs hit the same error: the comment is not posted again every run.
      await h.hooks.report.promise({ kind: 'error', proposal, project: project(), message: 'ENOENT again', buildUrl: 'https://jenkins.test/job/land-brz/44/' });
      await h.hooks.report.promise({ kind: 'error', proposal, project: project(), message: 'ENOENT again' });
      assert.equal(lp.botComments(id).length, 1);
    }));

  test('"already posted" is the landing user\'s comment with the same reason, whatever its title', () =>
    withApproved('by-content', async ({ id, proposal, h }) => {
      const outcome = rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 3).' });
      await h.hooks.report.promise(outcome);
      const [c] = lp.proposal(id).comments.filter((x) => x.author === lp.me);
      // What Launchpad exports: its own title, never the subject sent.
      const link = `${lp.proposalLink(id)}/comments/${c!.id}`;
      const res = await fetch(link, { headers: { Authorization: oauthHeader() } });
      const entry = (await res.json()) as { title: string; author_link: string };
      assert.equal(entry.title, 'Comment on proposed merge of ~alice/brz/+git/brz:by-content into brz:master');
      assert.ok(!('subject' in entry));
      // Someone else quoting the same reason does not count as ours.
      lp.approve(id, REV);
      lp.proposal(id).comments.push({ ...c!, id: 99_000 + id, author: 'outsider', date: new Date(Date.now() + 1000).toISOString() });
      await h.hooks.report.promise(outcome);
      assert.equal(lp.botComments(id).length, 2, 'the new approval gets the bot\'s own comment, not suppressed by an outsider\'s copy');
    }));

  test('createComment answered 504 after Launchpad applied it: looked for, found, not posted twice', () =>
    withApproved('lost-answer', async ({ id, proposal, h }) => {
      lp.failAfterApplying(1, 504, /ws\.op=createComment$/);
      await h.hooks.report.promise(rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 4).' }));
      assert.equal(lp.botComments(id).length, 1);
      assert.equal(lp.proposal(id).status, 'Needs review');
      assert.equal(lp.requests.filter((r) => r.op === 'createComment' && r.path.endsWith(`/+merge/${id}`)).length, 1, 'not posted again');
      assert.ok(h.lines.some((l) => /createComment answer lost, looking before posting again/.test(l)));
    }));

  test('createComment answered 503 before it was applied: looked for, not found, posted once', () =>
    withApproved('not-applied', async ({ id, proposal, h }) => {
      lp.failNext(1, 503, /ws\.op=createComment$/);
      await h.hooks.report.promise(rejected(proposal, { code: 'tests-failed', reason: 'The tests failed (exit code 5).' }));
      assert.equal(lp.botComments(id).length, 1);
      assert.equal(lp.requests.filter((r) => r.op === 'createComment' && r.path.endsWith(`/+merge/${id}`)).length, 2);
    }));

  test('errors quote X-Lazr-OopsId; a read-only token is named as such, not as revoked', () =>
    withApproved('oops', async ({ id, proposal, h }) => {
      lp.failNext(1, 500, /ws\.op=setStatus$/);
      await h.hooks.report.promise({ kind: 'landed', proposal, project: project(), revision: 'e'.repeat(40) });
      assert.ok(h.lines.some((l) => /Launchpad answered 500 to POST .*\(Launchpad error id OOPS-fake\d+\)/.test(l)), h.lines.join('\n'));
      assert.equal(lp.proposal(id).status, 'Approved', 'a 500 is not retried blindly');
      lp.accessLevel = 'READ_PUBLIC';
      try {
        await h.hooks.report.promise({ kind: 'landed', proposal, project: project(), revision: 'e'.repeat(40) });
      } finally {
        lp.accessLevel = 'WRITE_PRIVATE';
      }
      const line = h.lines.find((l) => /The token can read but not write/.test(l));
      assert.ok(line, h.lines.join('\n'));
      assert.match(line!, /READ_PUBLIC or READ_PRIVATE/);
      assert.doesNotMatch(line!, /revoked/);
    }));

  test('503 twice, then 200: the report still lands', () =>
    withApproved('flaky-api', async ({ id, proposal, h }) => {
      lp.failNext(2, 503);
      await h.hooks.report.promise({ kind: 'landed', proposal, project: project(), revision: 'f'.repeat(40) });
      assert.equal(lp.proposal(id).status, 'Merged');
    }));

  test('proposals of other forges are not touched', () =>
    withApproved('foreign', async ({ proposal, h }) => {
      const before = lp.requests.length;
      await h.hooks.report.promise({ kind: 'landed', proposal: { ...proposal, forge: 'github' }, project: project(), revision: 'a'.repeat(40) });
      assert.equal(lp.requests.length, before);
    }));

  test('tail keeps whole last lines within the limit', () => {
    assert.equal(tail('a\nb\nc\n', 10), 'a\nb\nc');
    assert.equal(tail('first line\nsecond\nthird', 12), '[… 11 earlier characters omitted …]\nsecond\nthird');
  });
});
