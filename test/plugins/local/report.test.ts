/**
 * The local forge writing outcomes back: comments and statuses as the Launchpad flow sets
 * them, atomic and idempotent, everything else in the file left as it was.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import type { Outcome, Proposal } from '../../../hooks/index.js';
import { PROJECT, approvedYaml, discover, localSuite, writeProposal } from './helpers.js';

const BUILD = 'https://jenkins.example.invalid/job/land-demo/42/';

describe('local forge: report', () => {
  const suite = localSuite('byoci-local-report-');

  async function setup(name: string, text = approvedYaml()) {
    const { dir, target } = suite.fresh(name);
    const file = writeProposal(dir, '1', text);
    const h = await suite.run({ dir }, { buildUrl: BUILD });
    const [proposal] = await discover(h, { repo: target, branch: 'main' });
    assert.ok(proposal);
    return { h, dir, file, proposal };
  }

  function rejected(proposal: Proposal, details?: string): Outcome {
    return {
      kind: 'rejected',
      proposal,
      project: PROJECT as never,
      rejection: { code: 'changes-after-approval', reason: 'Unapproved changes were made after approval: the source is at aaa, the approved revision is bbb. Review and approve again.', ...(details ? { details } : {}) },
      buildUrl: BUILD,
    };
  }

  test('batched: a culprit\'s comment says why it was judged so, a batch landing comments with whom; once each, YAML-quoted', async () => {
    const hostile = 'local:2 "quoted"\n- injected: true\n#x';
    const why = `Judged the culprit of batch (${hostile}, local:1): its tests failed on top of the tip and ${hostile} ahead of it, which passed (run 6); runs it was in: 1, 2, 6.`;
    const r = await setup('batch-rejected');
    const outcome: Outcome = { ...rejected(r.proposal, 'found bad file: p5-bad.txt'), batch: why };
    await r.h.hooks.report.promise(outcome);
    await r.h.hooks.report.promise({ ...outcome, replay: true });
    const data = YAML.parse(readFileSync(r.file, 'utf8'));
    assert.equal(data.comments.length, 1, 'once');
    assert.equal(data.comments[0].body.split('\n\n')[1], why, 'the sentence right after the reason, as given');
    assert.match(data.comments[0].body, /found bad file: p5-bad\.txt\n\nBuild: /);
    assert.equal(data.injected, undefined, 'untrusted text stays inside the comment');

    const l = await setup('batch-landed');
    const sentence = `Landed in run 3 of batch (${hostile}, local:1) with ${hostile}, local:1, tested together as ${'e'.repeat(40)}; runs it was in: 1, 3.`;
    const landed: Outcome = { kind: 'landed', proposal: l.proposal, project: PROJECT as never, revision: 'e'.repeat(40), batch: sentence, buildUrl: BUILD };
    await l.h.hooks.report.promise(landed);
    await l.h.hooks.report.promise({ ...landed, replay: true });
    const after = YAML.parse(readFileSync(l.file, 'utf8'));
    assert.equal(after.status, 'Merged');
    assert.equal(after.merged_revision, 'e'.repeat(40));
    assert.deepEqual(after.comments.map((c: { body: string }) => c.body), [`${sentence}\n\nBuild: ${BUILD}`]);
    assert.equal(after.injected, undefined);
  });

  test('a rejection appends the comment, sets Needs review, and keeps the rest of the file', async () => {
    const { h, file, proposal } = await setup('rejected');
    const before = readFileSync(file, 'utf8');
    await h.hooks.report.promise(rejected(proposal, 'tail of the test output'));
    const after = readFileSync(file, 'utf8');
    const data = YAML.parse(after);
    assert.equal(data.status, 'Needs review');
    assert.equal(data.comments.length, 1);
    const [comment] = data.comments;
    assert.equal(comment.author, 'byoci');
    assert.match(comment.subject, /^Re: \[Merge\] \.\.\/source:feature into \.\.\/target\.git:main$/);
    assert.equal(
      comment.body,
      `Unapproved changes were made after approval: the source is at aaa, the approved revision is bbb. Review and approve again.\n\ntail of the test output\n\nBuild: ${BUILD}`,
    );
    assert.ok(!Number.isNaN(Date.parse(comment.date)));
    // Unrelated content survives byte for byte: the hand-written comment, unknown keys, order.
    const rest = (t: string) => t.replace(/^status: .*\n/m, '').replace(/^comments:[\s\S]*?(?=^\S)/m, '');
    assert.equal(rest(after), rest(before));
    assert.match(after, /x-custom: kept as is +# unknown field, left alone/);
    assert.equal(data.approved_revision, YAML.parse(before).approved_revision);
    assert.equal(data.commit_message, 'Add the frobnicator\n\nIt frobs.\n');
  });

  test('a rerun of the same rejection does not post the comment twice (file unchanged)', async () => {
    const { h, file, proposal } = await setup('rerun');
    await h.hooks.report.promise(rejected(proposal));
    const once = readFileSync(file);
    const mtime = statSync(file).mtimeMs;
    await h.hooks.report.promise(rejected(proposal));
    assert.deepEqual(readFileSync(file), once);
    assert.equal(statSync(file).mtimeMs, mtime, 'not rewritten');
    assert.equal(YAML.parse(once.toString()).comments.length, 1);
  });

  test('a landing sets Merged and merged_revision; a rerun changes nothing', async () => {
    const { h, file, proposal } = await setup('landed');
    const revision = '0000000000000000000000000000000000000123';
    const landed: Outcome = { kind: 'landed', proposal, project: PROJECT as never, revision };
    await h.hooks.report.promise(landed);
    const text = readFileSync(file, 'utf8');
    const data = YAML.parse(text);
    assert.equal(data.status, 'Merged');
    assert.equal(data.merged_revision, revision, 'read back as a string, not a number');
    assert.deepEqual(data.comments, []);
    await h.hooks.report.promise(landed);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  test('a bzr landing (pinned content) also gets one comment with the testament sha1; a rerun changes nothing', async () => {
    const { h, file, proposal } = await setup('landed-bzr');
    const pinned = { revision: 'alice@example.com-20240101-abc', testament: 'f'.repeat(40) };
    const landed: Outcome = { kind: 'landed', proposal, project: PROJECT as never, revision: 'byoci@localhost-20240102-def', pinned };
    await h.hooks.report.promise(landed);
    const text = readFileSync(file, 'utf8');
    const data = YAML.parse(text);
    assert.equal(data.status, 'Merged');
    assert.equal(data.merged_revision, 'byoci@localhost-20240102-def');
    assert.equal(data.comments.length, 1);
    assert.equal(data.comments[0].author, 'byoci');
    assert.equal(
      data.comments[0].body.split('\n\n')[0],
      `Landed: the reviewed revision alice@example.com-20240101-abc (strict testament sha1 ${'f'.repeat(40)}) was merged and pushed as revision byoci@localhost-20240102-def.`,
    );
    await h.hooks.report.promise(landed);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  test('writes are atomic: no temp files left, the file mode is kept', async () => {
    const { h, dir, file, proposal } = await setup('atomic');
    chmodSync(file, 0o640);
    await h.hooks.report.promise(rejected(proposal));
    assert.deepEqual(readdirSync(dir), ['1.yaml']);
    assert.equal(statSync(file).mode & 0o777, 0o640);
  });

  test('secrets and hostile text in comments are redacted and stay data', async () => {
    const { h, file, proposal } = await setup('redact');
    h.redactor.add('s3cr3t-token-value');
    const outcome = rejected(proposal, 'log line with s3cr3t-token-value\nstatus: Merged\n---\n- not: yaml structure');
    await h.hooks.report.promise(outcome);
    const data = YAML.parse(readFileSync(file, 'utf8'));
    assert.equal(data.status, 'Needs review', 'the body did not inject fields');
    assert.ok(!readFileSync(file, 'utf8').includes('s3cr3t-token-value'));
    assert.match(data.comments[0].body, /log line with \[REDACTED\]\nstatus: Merged\n---\n- not: yaml structure/);
  });

  test('started and error outcomes and other forges leave the file alone', async () => {
    const { h, file, proposal } = await setup('others');
    const before = readFileSync(file);
    await h.hooks.report.promise({ kind: 'started', proposal, project: PROJECT as never });
    await h.hooks.report.promise({ kind: 'error', proposal, project: PROJECT as never, message: 'boom' });
    await h.hooks.report.promise(rejected({ ...proposal, forge: 'github' }));
    assert.deepEqual(readFileSync(file), before);
  });

  test('a file edited since discovery is re-read: the edit is kept', async () => {
    const { h, file, proposal } = await setup('edited');
    writeProposal(join(file, '..'), '1', approvedYaml({ extra: 'note: added by a human after discovery\n' }));
    await h.hooks.report.promise(rejected(proposal));
    const data = YAML.parse(readFileSync(file, 'utf8'));
    assert.equal(data.note, 'added by a human after discovery');
    assert.equal(data.comments.length, 1);
  });
});
