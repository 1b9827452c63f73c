/**
 * The retry configuration as an operator writes it, the rerun command, and the flake
 * ledger in a real SQLite store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../core/config.js';
import { ConfigError } from '../../../core/errors.js';
import { TESTS_MIGRATIONS, flakiest, recordRun, retryCommand } from '../../../core/test-report/index.js';
import { openStore } from '../../../store/db.js';

const yaml = (retry: string) => `
projects:
  p:
    targets: [{ forge: local, repo: /x, branch: main }]
    test:
      command: [make, check]
      retry: ${retry}
`;

test('test.retry keeps {ids} for run time and refuses commands that cannot receive the ids', () => {
  const config = loadConfig({ text: yaml(`{ command: [python3, -m, unittest, '{ids}'], attempts: 2 }`), env: {} });
  const retry = config.settings.projects.p!.test.retry!;
  assert.deepEqual(retry, { command: ['python3', '-m', 'unittest', '{ids}'], ids: '{ids}', attempts: 2, maxIds: 50 });
  assert.deepEqual(retryCommand(retry, ['a.T.t1', 'b.T.t2']), ['python3', '-m', 'unittest', 'a.T.t1', 'b.T.t2']);
  const shell = loadConfig({ text: yaml(`{ command: 'run-tests "$@"' }`), env: {} }).settings.projects.p!.test.retry!;
  assert.deepEqual(retryCommand(shell, ['x;rm -rf /']), ['sh', '-c', 'run-tests "$@"', 'sh', 'x;rm -rf /']);

  const problems = (text: string) => {
    try {
      loadConfig({ text, env: {} });
      return [];
    } catch (error) {
      return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  assert.deepEqual(problems(yaml(`{ command: [make, check] }`)), ['projects.p.test.retry.command: needs an argument {ids} where the failed test ids go']);
  assert.deepEqual(problems(yaml(`{ command: 'run {ids}' }`)), [
    'projects.p.test.retry.command: a string command gets the ids as "$@", not as {ids} (ids are untrusted text)',
  ]);
  assert.match(problems(yaml(`{ command: [a, '{ids}'], attempts: 9 }`)).join(), /attempts: must be at most 3, got 9/);
});

test('the ledger: flaky = passed and failed on one tree; consistent failures are not flakes', () => {
  const db = openStore(join(mkdtempSync(join(tmpdir(), 'byoci-ledger-')), 'byoci.db'), { migrations: TESTS_MIGRATIONS });
  try {
    const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m));
    const base = { project: 'brz', runId: 'r', exitCode: 1 };
    // Tree A: t.flaky fails then passes on rerun; t.broken fails twice.
    recordRun(db, { ...base, revision: 'aaa', attempt: 0, at: at(1), proposal: 'lp:1', cases: [
      { id: 't.flaky', status: 'fail' }, { id: 't.broken', status: 'fail' }, { id: 't.ok', status: 'pass' }] });
    recordRun(db, { ...base, revision: 'aaa', attempt: 1, at: at(2), proposal: 'lp:1', cases: [
      { id: 't.flaky', status: 'pass' }, { id: 't.broken', status: 'fail' }] });
    // Tree B: t.flaky and t.other both flip; tree C: t.flaky just passes.
    recordRun(db, { ...base, revision: 'bbb', attempt: 0, at: at(3), cases: [{ id: 't.flaky', status: 'fail' }, { id: 't.other', status: 'fail' }] });
    recordRun(db, { ...base, revision: 'bbb', attempt: 1, at: at(4), cases: [{ id: 't.flaky', status: 'pass' }, { id: 't.other', status: 'pass' }] });
    recordRun(db, { ...base, revision: 'ccc', attempt: 0, at: at(5), exitCode: 0, cases: [{ id: 't.flaky', status: 'pass' }] });
    recordRun(db, { ...base, project: 'other', revision: 'aaa', attempt: 0, at: at(6), cases: [{ id: 't.flaky', status: 'fail' }] });

    const flakes = flakiest(db);
    assert.deepEqual(flakes.map((f) => [f.project, f.testId, f.flakyTrees, f.trees, f.passes, f.failures]), [
      ['brz', 't.flaky', 2, 3, 3, 2],
      ['brz', 't.other', 1, 1, 1, 1],
    ]);
    assert.deepEqual(flakes[0]!.evidence.map((e) => [e.revision, e.passes, e.failures, e.proposal]), [
      ['bbb', 1, 1, null],
      ['aaa', 1, 1, 'lp:1'],
    ]);
    assert.deepEqual(flakiest(db, { project: 'other' }), []);
    assert.equal(flakiest(db, { limit: 1 }).length, 1);
  } finally {
    db.close();
  }
});
