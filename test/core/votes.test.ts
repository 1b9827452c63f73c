import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Vote } from '../../hooks/types.js';
import { CriteriaError, DEFAULT_CRITERIA, evaluateVotes, parseCriteria } from '../../core/votes.js';

const v = (reviewer: string, vote: Vote['vote'], trusted = true): Vote => ({ reviewer, vote, trusted });

describe('parseCriteria', () => {
  test('reads Tarmac-style criteria, case-insensitively, and normalises them', () => {
    const c = parseCriteria('approve>=2,  disapprove == 0; Needs  fixing=0');
    assert.deepEqual(c.items, [
      { vote: 'Approve', op: '>=', count: 2 },
      { vote: 'Disapprove', op: '==', count: 0 },
      { vote: 'Needs Fixing', op: '==', count: 0 },
    ]);
    assert.equal(c.text, 'Approve >= 2, Disapprove == 0, Needs Fixing == 0');
  });

  test('the default criteria parse', () => {
    assert.equal(parseCriteria(DEFAULT_CRITERIA).items.length, 6);
  });

  test('an unknown vote name is refused, naming it and the known ones', () => {
    assert.throws(() => parseCriteria('Approve >= 1, Resubmit == 0'), (e: unknown) => {
      assert.ok(e instanceof CriteriaError);
      assert.match(e.message, /unknown vote "Resubmit"/);
      assert.match(e.message, /Needs Resubmitting/);
      return true;
    });
  });

  test('a clause without operator or count is refused, naming the clause', () => {
    assert.throws(() => parseCriteria('Approve at least 1'), /"Approve at least 1" is not "<vote> <op> <count>"/);
    assert.throws(() => parseCriteria('Approve >= one'), /"Approve >= one"/);
    assert.throws(() => parseCriteria(' , '), /empty/);
  });
});

describe('evaluateVotes', () => {
  const criteria = parseCriteria('Approve >= 1, Disapprove == 0, Needs Fixing == 0');

  test('one trusted approval meets the criteria', () => {
    const r = evaluateVotes([v('alice', 'Approve'), v('bob', 'Abstain')], criteria);
    assert.equal(r.ok, true);
    assert.equal(r.counts.Approve, 1);
    assert.deepEqual(r.failed, []);
  });

  test('untrusted votes are not counted and are listed as ignored', () => {
    const r = evaluateVotes([v('mallory', 'Approve', false), v('eve', 'Disapprove', false)], criteria);
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'Approve: 0 (needs >= 1)');
    assert.deepEqual(r.ignored, ['mallory', 'eve']);
  });

  test('a trusted Needs Fixing blocks an approval and the detail says so', () => {
    const r = evaluateVotes([v('alice', 'Approve'), v('carol', 'Needs Fixing')], criteria);
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'Needs Fixing: 1 (needs == 0)');
  });

  test('every operator is applied', () => {
    const votes = [v('a', 'Approve'), v('b', 'Approve'), v('c', 'Pending')];
    assert.equal(evaluateVotes(votes, 'Approve > 1').ok, true);
    assert.equal(evaluateVotes(votes, 'Approve > 2').ok, false);
    assert.equal(evaluateVotes(votes, 'Approve < 3').ok, true);
    assert.equal(evaluateVotes(votes, 'Approve <= 1').ok, false);
    assert.equal(evaluateVotes(votes, 'Pending != 0').ok, true);
    assert.equal(evaluateVotes(votes, DEFAULT_CRITERIA).ok, false);
    assert.match(evaluateVotes(votes, DEFAULT_CRITERIA).detail, /^Pending: 1 \(needs == 0\)$/);
  });
});
