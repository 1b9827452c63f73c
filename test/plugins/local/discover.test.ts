/**
 * The local forge reading proposal files: what `byoci list` and the bot see, including
 * broken files, which are listed with the reason and never stop the other proposals.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import localPlugin from '../../../plugins/local/index.js';
import { forgeTarget, targetFor } from '../../support/harness.js';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { approvedYaml, discover, localRun, localSuite, writeProposal } from './helpers.js';

describe('local forge: discover', () => {
  const { root, fresh, run } = localSuite('byoci-local-');

  test('an approved proposal for the target is ready, with paths resolved against the proposal dir', async () => {
    const { dir, target } = fresh('ready');
    const file = writeProposal(dir, '1', approvedYaml());
    const h = await run({ dir });
    const [p, ...rest] = await discover(h, { repo: target, branch: 'main' });
    assert.equal(rest.length, 0);
    assert.ok(p);
    assert.equal(p.id, 'local:1');
    assert.equal(p.forge, 'local');
    assert.equal(p.url, pathToFileURL(file).href);
    assert.equal(p.title, 'Add the frobnicator');
    assert.deepEqual(p.source, { vcs: 'git', url: join(root, 'ready', 'source'), branch: 'feature' });
    assert.deepEqual(p.target, { vcs: 'git', url: target, branch: 'main' });
    assert.equal(p.approvedRevision, '0123456789abcdef0123456789abcdef01234567');
    assert.equal(p.commitMessage, 'Add the frobnicator\n\nIt frobs.');
    assert.deepEqual(p.votes, [{ reviewer: 'alice', vote: 'Approve', trusted: true }]);
    assert.deepEqual(p.readiness, { state: 'ready' });
  });

  test('other targets and other forges are not listed; other proposals are kept', async () => {
    const { dir, target } = fresh('filter');
    writeProposal(dir, '1', approvedYaml());
    writeProposal(dir, '2', approvedYaml({ branch: 'stable' }).replace('id: "1"', 'id: "2"'));
    writeProposal(dir, '3', approvedYaml({ target: '../elsewhere.git' }).replace('id: "1"', 'id: "3"'));
    const h = await run({ dir });
    const earlier = { id: 'github:o/r#1' } as never;
    const list = await h.hooks.discover.promise([earlier], { project: {} as never, target: forgeTarget(localPlugin, { repo: target, branch: 'main' }), signal: h.run.signal });
    assert.deepEqual(list.map((p) => p.id), ['github:o/r#1', 'local:1']);
    const untouched = await h.hooks.discover.promise([], { project: {} as never, target: targetFor('github', { url: target }, { repo: 'o/r' }), signal: h.run.signal });
    assert.deepEqual(untouched, []);
  });

  test('a proposal that is not approved waits, saying its status', async () => {
    const { dir, target } = fresh('waiting');
    writeProposal(dir, '1', approvedYaml({ status: 'Needs review' }));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.deepEqual(p?.readiness, { state: 'waiting', reason: 'status is "Needs review", not "Approved"' });
  });

  test('merged, rejected and superseded proposals are closed: not listed', async () => {
    const { dir, target } = fresh('closed');
    const statuses = ['Merged', 'Rejected', 'Superseded', 'Work in progress', 'Code failed to merge'];
    statuses.forEach((status, i) => writeProposal(dir, String(i + 1), approvedYaml({ status }).replace('id: "1"', `id: "${i + 1}"`)));
    const list = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.deepEqual(list.map((p) => [p.id, p.readiness.state]), [['local:4', 'waiting'], ['local:5', 'waiting']]);
  });

  test('no commit message and no description: rejected no-commit-message', async () => {
    const { dir, target } = fresh('nomsg');
    writeProposal(dir, '1', approvedYaml().replace(/commit_message: \|\n  Add the frobnicator\n\n  It frobs.\n/, '').replace('description: A longer description.', 'description: ""'));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state, 'rejected');
    assert.equal(p?.readiness.state === 'rejected' && p.readiness.code, 'no-commit-message');
  });

  test('the description stands in for a missing commit message', async () => {
    const { dir, target } = fresh('desc');
    writeProposal(dir, '1', approvedYaml().replace(/commit_message: \|\n  Add the frobnicator\n\n  It frobs.\n/, ''));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.equal(p?.commitMessage, 'A longer description.');
    assert.deepEqual(p?.readiness, { state: 'ready' });
  });

  test('no approved revision: rejected no-approved-revision', async () => {
    const { dir, target } = fresh('norev');
    writeProposal(dir, '1', approvedYaml().replace(/approved_revision: .*\n/, ''));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state === 'rejected' && p.readiness.code, 'no-approved-revision');
  });

  test('a Needs Fixing vote fails the default criteria, naming the count', async () => {
    const { dir, target } = fresh('fixing');
    writeProposal(dir, '1', approvedYaml().replace('    vote: Approve\n', '    vote: Approve\n  - reviewer: bob\n    vote: Needs Fixing\n'));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state, 'rejected');
    if (p?.readiness.state !== 'rejected') return;
    assert.equal(p.readiness.code, 'votes');
    assert.match(p.readiness.reason, /Needs Fixing: 1 \(needs == 0\)/);
  });

  test('approvals only from untrusted reviewers: rejected untrusted-approval', async () => {
    const { dir, target } = fresh('untrusted');
    writeProposal(dir, '1', approvedYaml());
    const [p] = await discover(await run({ dir, trusted: ['carol'] }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state, 'rejected');
    if (p?.readiness.state !== 'rejected') return;
    assert.equal(p.readiness.code, 'untrusted-approval');
    assert.match(p.readiness.reason, /not trusted for .*target\.git:main: alice\./);
    assert.equal(p.votes[0]?.trusted, false);
  });

  test('configured criteria apply: two approvals needed', async () => {
    const { dir, target } = fresh('criteria');
    writeProposal(dir, '1', approvedYaml());
    const [p] = await discover(await run({ dir, criteria: 'Approve >= 2, Disapprove == 0' }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state === 'rejected' && p.readiness.reason, 'The votes do not meet the landing criteria (Approve >= 2, Disapprove == 0): Approve: 1 (needs >= 2).');
  });

  test('invalid criteria are a configuration error naming the option', async () => {
    await assert.rejects(localRun({ dir: root, criteria: 'Approve at least 1' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /plugins\.local\.criteria: voting criterion "Approve at least 1"/);
      return true;
    });
  });

  test('invalid files are listed with the file and field; the valid ones still work', async () => {
    const { dir, target } = fresh('broken');
    writeProposal(dir, '1', approvedYaml());
    const badStatus = writeProposal(dir, '2', approvedYaml({ status: 'Approvedd' }).replace('id: "1"', 'id: "2"'));
    const badYaml = writeProposal(dir, '3', 'title: [unclosed\nsource: {repo: x\n');
    const badVote = writeProposal(dir, '4', approvedYaml().replace('id: "1"', 'id: "4"').replace('vote: Approve', 'vote: Yes please'));
    writeProposal(dir, '5', approvedYaml().replace('id: "1"', 'id: "6"'));
    writeProposal(dir, '.7.yaml.123.tmp', 'garbage: [');
    const h = await run({ dir });
    const list = await discover(h, { repo: target, branch: 'main' });
    assert.deepEqual(list.map((p) => p.id), ['local:1', 'local:2', 'local:3', 'local:4', 'local:5']);
    const reason = (id: string) => {
      const r = list.find((p) => p.id === id)?.readiness;
      return r?.state === 'waiting' ? r.reason : `not waiting: ${JSON.stringify(r)}`;
    };
    assert.deepEqual(list[0]?.readiness, { state: 'ready' });
    assert.match(reason('local:2'), new RegExp(`${badStatus.replace(/[.]/g, '\\.')}: status: must be one of: Work in progress, Needs review, Approved`));
    assert.match(reason('local:3'), new RegExp(`${badYaml.replace(/[.]/g, '\\.')}:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a \\]$`));
    assert.match(reason('local:4'), /4\.yaml: votes\[0\]\.vote: must be one of: Approve, Needs Fixing/);
    assert.match(reason('local:5'), /5\.yaml: id: "6" does not match the file name \(5\.yaml\)/);
    assert.ok(h.lines.some((l) => l.includes('invalid proposal file') && l.includes('3.yaml')), 'a warning names the file');

    // A broken file whose target cannot be read is listed once per run, not once per target.
    const again = await discover(h, { repo: target, branch: 'stable' });
    assert.deepEqual(again.map((p) => p.id), []);
  });

  // Malformed targets are core's: reported at config load with file and line (test/core/targets.test.ts).
  test('verify reports a missing directory', async () => {
    const h = await run({ dir: join(root, 'no-such-dir') });
    const problems: Array<{ message: string }> = [];
    await h.hooks.verify.promise({
      projects: [{ name: 'demo', targets: [forgeTarget(localPlugin, { repo: '/srv/trunk.git', branch: 'main' })], test: {} as never }],
      problems: problems as never,
      notes: [],
      signal: h.run.signal,
    });
    const messages = problems.map((p) => p.message);
    assert.ok(messages.some((m) => /plugins\.local\.dir: .*no-such-dir is not a directory/.test(m)), messages.join('\n'));
  });
});
