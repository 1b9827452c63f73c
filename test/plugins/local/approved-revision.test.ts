/**
 * Approved revision means one commit: the local forge takes only a full commit id, and a
 * vote that names a revision counts only for that revision.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approvedYaml, discover, localSuite, writeProposal } from './helpers.js';

const FULL = '0123456789abcdef0123456789abcdef01234567';

describe('local forge: the approved revision', () => {
  const { fresh, run } = localSuite('byoci-local-approved-');

  test('an abbreviated approved_revision is a clear rejection on that proposal; the others still land', async () => {
    const { dir, target } = fresh('abbrev');
    writeProposal(dir, '1', approvedYaml().replace(`approved_revision: ${FULL}`, 'approved_revision: 01234'));
    writeProposal(dir, '2', approvedYaml().replace('id: "1"', 'id: "2"'));
    const list = await discover(await run({ dir }), { repo: target, branch: 'main' });
    const byId = new Map(list.map((p) => [p.id, p.readiness]));
    const abbreviated = byId.get('local:1');
    assert.equal(abbreviated?.state, 'rejected');
    assert.equal(abbreviated?.state === 'rejected' && abbreviated.code, 'approved-revision-abbreviated');
    assert.match(abbreviated?.state === 'rejected' ? abbreviated.reason : '', /"01234" is not a full commit id \(40 or 64 hexadecimal digits\)/);
    assert.deepEqual(byId.get('local:2'), { state: 'ready' });
  });

  test('a vote naming an earlier revision does not approve the approved one', async () => {
    const { dir, target } = fresh('votes');
    const votes = 'votes:\n  - reviewer: alice\n    vote: Approve\n    revision: 89abcdef0123456789abcdef0123456789abcdef\n';
    writeProposal(dir, '1', approvedYaml().replace('votes:\n  - reviewer: alice\n    vote: Approve\n', votes));
    const [p] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.equal(p?.readiness.state, 'rejected');
    assert.equal(p?.readiness.state === 'rejected' && p.readiness.code, 'votes');

    const onThis = `votes:\n  - reviewer: alice\n    vote: Approve\n    revision: ${FULL}\n`;
    writeProposal(dir, '1', approvedYaml().replace('votes:\n  - reviewer: alice\n    vote: Approve\n', onThis));
    const [same] = await discover(await run({ dir }), { repo: target, branch: 'main' });
    assert.deepEqual(same?.readiness, { state: 'ready' });
  });
});
